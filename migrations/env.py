"""Alembic environment: async engine, GeoAlchemy2-aware autogenerate."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from corps.models_registry import metadata
from corps.settings import get_settings

config = context.config
if config.config_file_name and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    return config.attributes.get("database_url") or get_settings().database_url


def _configure(connection: Connection | None = None, **kwargs: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=alembic_helpers.include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
        **kwargs,
    )


def run_offline() -> None:
    """Emit SQL without a database."""
    _configure(url=_url(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


# The service's own role reads and writes rows but owns nothing: it cannot disable the
# append-only triggers, and it may not rewrite or remove what is evidence.
GRANTS = """
DO $grants$
DECLARE app text := %(role)s;
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = app) THEN RETURN; END IF;
  EXECUTE format('GRANT USAGE ON SCHEMA public TO %%I', app);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %%I', app);
  EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %%I', app);
  EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON audit_log, audit_chain, custody_events FROM %%I', app);
  EXECUTE format('REVOKE DELETE, TRUNCATE ON evidence, cases, case_events FROM %%I', app);
  EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version, case_data_versions FROM %%I', app);
END
$grants$;
"""


def _grant_app_role(connection: Connection) -> None:
    role = config.attributes.get("app_role") or get_settings().db_app_role
    quoted = "'" + role.replace("'", "''") + "'"
    connection.exec_driver_sql(GRANTS.replace("%(role)s", quoted).replace("%%", "%"))


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()
        _grant_app_role(connection)


async def run_online() -> None:
    """Run migrations on an async connection."""
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run_sync)
    await engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    asyncio.run(run_online())
