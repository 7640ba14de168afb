"""Doctor checks of PostgreSQL: versions, extensions, schema, and the two roles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from corps.cli.base import CliError
from corps.cli.database import (
    INSUFFICIENT_PRIVILEGE,
    REQUIRED_EXTENSIONS,
    checked_target,
    current_revision,
    database_target,
    first_line,
    head_revision,
    sqlstate,
)
from corps.cli.doctor import Check, fail, ok, warn
from corps.settings import Settings

MIN_POSTGRES = 150000
# Tables whose rows PostgreSQL refuses to change: the triggers call this function.
APPEND_ONLY_TABLES = """
SELECT DISTINCT c.relname FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
WHERE p.proname = 'ej_refuse_change' ORDER BY 1
"""


@asynccontextmanager
async def _connect(url: str) -> AsyncIterator[AsyncConnection]:
    engine = create_async_engine(url, connect_args={"timeout": 5})
    try:
        async with engine.connect() as conn:
            yield conn
    finally:
        await engine.dispose()


async def check_database(settings: Settings) -> list[Check]:
    """PostgreSQL and PostGIS versions, the extensions and the schema revision."""
    try:
        target = checked_target(settings)
    except CliError as exc:
        return [fail("database", str(exc), "point both URLs at one database")]
    try:
        async with _connect(settings.database_url) as conn:
            version_num = int(await conn.scalar(text("SHOW server_version_num")) or 0)
            version = str(await conn.scalar(text("SHOW server_version"))).split()[0]
            rows = await conn.execute(text("SELECT extname, extversion FROM pg_extension"))
            extensions = {name: ext_version for name, ext_version in rows}
            postgis = None
            if "postgis" in extensions:
                postgis = await conn.scalar(text("SELECT postgis_lib_version()"))
            revision = await current_revision(conn)
    except (OSError, DBAPIError) as exc:
        return [
            fail(
                "PostgreSQL",
                f"cannot connect to {target}: {first_line(exc)}",
                "start PostgreSQL, or correct EJ_DATABASE_URL",
            )
        ]
    found = []
    where = f"{version} ({target})"
    if version_num >= MIN_POSTGRES:
        found.append(ok("PostgreSQL", where))
    else:
        found.append(warn("PostgreSQL", where, "upgrade to PostgreSQL 15 or newer"))
    missing = [name for name in REQUIRED_EXTENSIONS if name not in extensions]
    if postgis:
        found.append(ok("PostGIS", str(postgis)))
    if missing:
        found.append(
            fail(
                "extensions",
                f"missing {', '.join(missing)}",
                "run corps init (it prints the SQL when a superuser must run it)",
            )
        )
    else:
        shown = ", ".join(f"{name} {extensions[name]}" for name in REQUIRED_EXTENSIONS)
        found.append(ok("extensions", shown))
    head = head_revision()
    if revision == head:
        found.append(ok("schema", f"at revision {head}, the newest"))
    elif revision is None:
        found.append(fail("schema", "no schema yet", "corps init"))
    else:
        found.append(
            fail("schema", f"at revision {revision}, the code needs {head}", "corps migrate")
        )
    return found


async def check_roles(settings: Settings) -> list[Check]:
    """The owner and the service are two roles, and the service cannot alter the audit trail."""
    app_user = database_target(settings.database_url).user
    owner_user = database_target(
        settings.migration_database_url or settings.database_url, "EJ_MIGRATION_DATABASE_URL"
    ).user
    found = []
    if not settings.migration_database_url or app_user == owner_user:
        found.append(
            warn(
                "roles",
                f"the service connects as the schema owner ({owner_user})",
                "give the service its own role in EJ_DATABASE_URL and the owner's in "
                "EJ_MIGRATION_DATABASE_URL (docs/operations.md)",
            )
        )
    elif app_user != settings.db_app_role:
        found.append(
            warn(
                "roles",
                f"the service connects as {app_user} but migrations grant rows to "
                f"EJ_DB_APP_ROLE={settings.db_app_role}",
                f"set EJ_DB_APP_ROLE={app_user} and run corps migrate",
            )
        )
    else:
        found.append(ok("roles", f"{owner_user} owns the schema, the service is {app_user}"))
    async with _connect(settings.database_url) as conn:
        found += await _service_role_limits(conn, app_user)
    return found


async def _service_role_limits(conn: AsyncConnection, role: str) -> list[Check]:
    attributes = (
        await conn.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        )
    ).one()
    if attributes.rolsuper or attributes.rolbypassrls:
        return [
            fail(
                "append-only",
                f"the service role {role} is a superuser or bypasses row-level security",
                f"ALTER ROLE {role} NOSUPERUSER NOBYPASSRLS (as a superuser)",
            )
        ]
    tables = list(await conn.scalars(text(APPEND_ONLY_TABLES)))
    if not tables:
        return [fail("append-only", "no append-only tables found", "corps migrate")]
    allowed = []
    for table in tables:
        for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
            if await conn.scalar(
                text("SELECT has_table_privilege(current_user, :t, :p)"),
                {"t": table, "p": privilege},
            ):
                allowed.append(f"{privilege} {table}")
        if await _can_alter(conn, table):
            allowed.append(f"ALTER {table}")
    if allowed:
        return [
            fail(
                "append-only",
                f"the service role {role} may {', '.join(allowed)}",
                "run corps migrate as the schema owner (it re-grants) and connect the "
                "service as its own role",
            )
        ]
    return [
        ok(
            "append-only",
            f"{role} may not update, delete, truncate or alter {', '.join(tables)}",
        )
    ]


async def _can_alter(conn: AsyncConnection, table: str) -> bool:
    """Try to switch the table's triggers off, inside a transaction that is rolled back."""
    await conn.execute(text("SET LOCAL lock_timeout = '2s'"))
    savepoint = await conn.begin_nested()
    try:
        await conn.execute(text(f'ALTER TABLE "{table}" DISABLE TRIGGER USER'))
        return True
    except DBAPIError as exc:
        if sqlstate(exc) == INSUFFICIENT_PRIVILEGE:
            return False
        raise
    finally:
        await savepoint.rollback()
