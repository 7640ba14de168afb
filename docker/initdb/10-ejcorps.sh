#!/bin/sh
# Runs once, as the PostgreSQL superuser, when the postgis container starts on an empty
# data folder: two roles (the schema owner and the service, which owns nothing), the
# database, and the extensions a non-superuser may not create.
set -eu
: "${EJ_DB_OWNER_PASSWORD:?set EJ_DB_OWNER_PASSWORD in docker/postgres.env}"
: "${EJ_DB_APP_PASSWORD:?set EJ_DB_APP_PASSWORD in docker/postgres.env}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_password="$EJ_DB_OWNER_PASSWORD" -v app_password="$EJ_DB_APP_PASSWORD" <<'SQL'
CREATE ROLE ejcorps LOGIN PASSWORD :'owner_password';
CREATE ROLE ejcorps_app LOGIN PASSWORD :'app_password';
CREATE DATABASE ejcorps OWNER ejcorps;
\connect ejcorps
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
SQL
