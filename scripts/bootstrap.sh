#!/usr/bin/env bash
# Make PostgreSQL + PostGIS and Redis reachable and create the project's role and databases.
# Installs Debian packages and starts services when run as root; otherwise says what to do.
set -euo pipefail

DB_USER="${EJ_DB_USER:-ejcorps}"
DB_PASSWORD="${EJ_DB_PASSWORD:-ejcorps}"
APP_USER="${EJ_DB_APP_ROLE:-ejcorps_app}"
APP_PASSWORD="${EJ_DB_APP_PASSWORD:-ejcorps_app}"
DB_HOST="${EJ_DB_HOST:-127.0.0.1}"
DB_PORT="${EJ_DB_PORT:-5432}"
DATABASES="${EJ_DATABASES:-ejcorps ejcorps_test}"
REDIS_PORT="${EJ_REDIS_PORT:-6379}"

say() { printf '\033[1mbootstrap:\033[0m %s\n' "$*"; }
die() { printf '\033[31mbootstrap: %s\033[0m\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

apt_install() {
  is_root || die "missing: $*. Install with: sudo apt-get install -y $*"
  say "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -1; }

ensure_postgres() {
  if ! command -v pg_ctlcluster >/dev/null && ! command -v psql >/dev/null; then
    apt_install postgresql postgresql-contrib
  fi
  local v; v="$(pg_version)"
  [ -n "$v" ] || die "no PostgreSQL cluster found in /etc/postgresql"
  if [ ! -f "/usr/share/postgresql/$v/extension/postgis.control" ]; then
    apt_install "postgresql-$v-postgis-3"
  fi
  if ! pg_isready -q -h "$DB_HOST" -p "$DB_PORT"; then
    is_root || die "PostgreSQL is not running on $DB_HOST:$DB_PORT; start it (sudo pg_ctlcluster $v main start)"
    say "starting PostgreSQL $v"
    pg_ctlcluster --skip-systemctl-redirect "$v" main start || pg_ctlcluster "$v" main start
    for _ in $(seq 30); do pg_isready -q -h "$DB_HOST" -p "$DB_PORT" && break; sleep 1; done
    pg_isready -q -h "$DB_HOST" -p "$DB_PORT" || die "PostgreSQL did not come up"
  fi
}

# Run SQL as a PostgreSQL superuser: through the local socket as the postgres OS user when
# root (Debian's peer auth), else over TCP as postgres (trust auth, as on CI machines).
superuser_psql() {
  if is_root && id postgres >/dev/null 2>&1; then
    (cd /tmp && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "$@")
  else
    psql -X -q -v ON_ERROR_STOP=1 -h "$DB_HOST" -p "$DB_PORT" -U postgres "$@"
  fi
}

ensure_databases() {
  superuser_psql -d postgres <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER LOGIN PASSWORD '$DB_PASSWORD';
  ELSE
    ALTER ROLE $DB_USER LOGIN PASSWORD '$DB_PASSWORD';
  END IF;
  -- the service's role: rows only, never the schema (migrations grant it what it needs)
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$APP_USER') THEN
    CREATE ROLE $APP_USER LOGIN PASSWORD '$APP_PASSWORD';
  ELSE
    ALTER ROLE $APP_USER LOGIN PASSWORD '$APP_PASSWORD';
  END IF;
END \$\$;
-- The test suite clones its databases from a migrated template and runs the app's sessions
-- as the service's role on the owner's connection: the owner may create databases and
-- become the service's role, so tests need no superuser at run time.
ALTER ROLE $DB_USER CREATEDB;
GRANT $APP_USER TO $DB_USER;
SQL
  for db in $DATABASES; do
    if ! superuser_psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
      say "creating database $db"
      superuser_psql -d postgres -c "CREATE DATABASE $db OWNER $DB_USER"
    fi
    superuser_psql -d "$db" -c "CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE EXTENSION IF NOT EXISTS unaccent;"
  done
}

ensure_redis() {
  if ! command -v redis-server >/dev/null; then apt_install redis-server; fi
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    is_root || die "Redis is not running on port $REDIS_PORT; start it (sudo systemctl start redis-server)"
    say "starting Redis on $REDIS_PORT"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" \
      --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ejcorps.log
    for _ in $(seq 20); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.5; done
    redis-cli -p "$REDIS_PORT" ping >/dev/null || die "Redis did not come up"
  fi
}

# So `corps ...` run by hand in this folder finds the same database as `make`.
write_env_file() {
  [ -f .env ] && return
  cat > .env <<ENV
EJ_DATABASE_URL=postgresql+asyncpg://$APP_USER:$APP_PASSWORD@$DB_HOST:$DB_PORT/ejcorps
EJ_MIGRATION_DATABASE_URL=postgresql+asyncpg://$DB_USER:$DB_PASSWORD@$DB_HOST:$DB_PORT/ejcorps
EJ_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
ENV
  say "wrote .env for the local database"
}

# WeasyPrint (dossier PDFs) needs Pango and HarfBuzz, and fonts for every script we print;
# `ogrinfo` (gdal-bin) is how GIS users reach the OGC API (the documented line is tested);
# `pdftoppm` (poppler-utils) rasters dossier pages in tests; `zip` is the benchmark's baseline;
# Node and npm build the web app (Chromium, checked below, runs its tests).
SYSTEM_PACKAGES="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-noto-core gdal-bin poppler-utils zip"
ensure_system_packages() {
  local missing=""
  for pkg in $SYSTEM_PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
  done
  command -v chromium >/dev/null || missing="$missing chromium"  # the web app's browser tests
  # Node may come from NodeSource (its nodejs carries npm, and conflicts with Debian's npm)
  command -v node >/dev/null || missing="$missing nodejs"
  command -v npm >/dev/null || command -v node >/dev/null || missing="$missing npm"
  [ -z "$missing" ] || apt_install $missing
}

# Vite 7 and Vitest 4 need Node 20.19 or newer (Debian 12 ships 18: use NodeSource or nvm).
check_node() {
  command -v node >/dev/null || return 0
  local major; major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 20 ] || say "warning: Node $(node --version) is too old for the web app; install Node 20 or newer"
}

command -v pg_isready >/dev/null || apt_install postgresql-client
ensure_system_packages
check_node
ensure_postgres
ensure_databases
ensure_redis
write_env_file
say "PostgreSQL $(pg_version) + PostGIS and Redis are ready; $DB_USER owns $DATABASES, the service connects as $APP_USER"
