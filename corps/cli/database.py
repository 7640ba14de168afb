"""Which database the CLI acts on, sessions for commands, extensions and migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, create_async_engine

from corps.cli.base import CliError
from corps.settings import Settings, get_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
REQUIRED_EXTENSIONS = ("postgis", "pg_trgm")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", ""}
INSUFFICIENT_PRIVILEGE = "42501"


def load_settings() -> Settings:
    """The settings, or a one-line CliError naming the refused setting."""
    try:
        return get_settings()
    except ValidationError as exc:
        raise CliError(settings_error(exc)) from exc


def settings_error(exc: ValidationError) -> str:
    """One line for a refused setting: its EJ_* name and why."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if field:
        return f"setting EJ_{field.upper()}: {message}"
    return f"refused setting: {message}"


@dataclass(frozen=True)
class DatabaseTarget:
    """Where a database URL points: host, port, database name and user (never the password)."""

    host: str
    port: int
    name: str
    user: str

    def __str__(self) -> str:
        return f"{self.name} on {self.host}:{self.port}"

    def same_database(self, other: DatabaseTarget) -> bool:
        """True when both point at one database (localhost and 127.0.0.1 are one host)."""
        return (
            _host_key(self.host) == _host_key(other.host)
            and self.port == other.port
            and self.name == other.name
        )


def _host_key(host: str) -> str:
    return "localhost" if host in LOCAL_HOSTS else host.lower()


def database_target(url: str, setting: str = "EJ_DATABASE_URL") -> DatabaseTarget:
    """Parse a database URL into what may be printed about it."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise CliError(f"setting {setting}: not a database URL") from exc
    socket_dir = parsed.query.get("host")
    host = parsed.host or (socket_dir if isinstance(socket_dir, str) else None) or "localhost"
    return DatabaseTarget(
        host=host,
        port=parsed.port or 5432,
        name=parsed.database or parsed.username or "postgres",
        user=parsed.username or "",
    )


def migration_url(settings: Settings) -> str:
    """The schema owner's URL: EJ_MIGRATION_DATABASE_URL, else EJ_DATABASE_URL."""
    return settings.migration_database_url or settings.database_url


def checked_target(settings: Settings) -> DatabaseTarget:
    """The one database both URLs name; refuse, naming both, when they differ."""
    app = database_target(settings.database_url)
    if not settings.migration_database_url:
        return app
    owner = database_target(settings.migration_database_url, "EJ_MIGRATION_DATABASE_URL")
    if not owner.same_database(app):
        raise CliError(
            f"EJ_MIGRATION_DATABASE_URL points at {owner} but EJ_DATABASE_URL at {app}; "
            "point both at one database (check .env as well as the environment)"
        )
    return owner


def describe(settings: Settings) -> str:
    """One line saying which database a command acts on, and as whom."""
    target = checked_target(settings)
    app_user = database_target(settings.database_url).user
    roles = f"migrations as {target.user}" if target.user else "migrations"
    if app_user and app_user != target.user:
        roles += f", the service as {app_user}"
    return f"database {target.name} on {target.host}:{target.port} ({roles})"


def alembic_config() -> Any:
    """Alembic's configuration for the migrations beside the code (a checkout) or in the
    current folder (an installed package, as in the container image)."""
    from alembic.config import Config

    for root in (PROJECT_ROOT, Path.cwd()):
        if (root / "migrations" / "env.py").is_file():
            ini = root / "alembic.ini"
            config = Config(str(ini)) if ini.is_file() else Config()
            config.set_main_option("script_location", str(root / "migrations"))
            return config
    raise CliError(
        "cannot find the migrations (migrations/env.py) beside the code or in the current "
        "folder; run corps from the project's folder"
    )


def run_migrations(database_url: str | None = None) -> None:
    """Upgrade the database schema to the newest revision."""
    from alembic import command

    config = alembic_config()
    config.attributes["database_url"] = database_url or migration_url(get_settings())
    command.upgrade(config, "head")


def head_revision() -> str:
    """The newest migration revision in this installation."""
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())


async def current_revision(conn: AsyncConnection) -> str | None:
    """The revision the database is at, or None before the first migration."""
    exists = await conn.scalar(text("SELECT to_regclass('public.alembic_version') IS NOT NULL"))
    if not exists:
        return None
    return await conn.scalar(text("SELECT version_num FROM alembic_version"))


@asynccontextmanager
async def owner_connection(settings: Settings) -> AsyncIterator[AsyncConnection]:
    """An autocommit connection as the schema owner, with connection errors as one line."""
    target = checked_target(settings)
    engine = create_async_engine(migration_url(settings), isolation_level="AUTOCOMMIT")
    try:
        try:
            conn = await engine.connect()
        except (OSError, DBAPIError) as exc:
            raise CliError(f"cannot connect to {target}: {first_line(exc)}") from exc
        try:
            yield conn
        finally:
            await conn.close()
    finally:
        await engine.dispose()


@dataclass
class Extensions:
    """What ensure_extensions found: created now, already present, and still missing."""

    created: list[str]
    present: list[str]
    missing: list[str]
    unavailable: list[str]


async def ensure_extensions(conn: AsyncConnection) -> Extensions:
    """Create the required extensions the connected role may create; report the rest."""
    found = Extensions(created=[], present=[], missing=[], unavailable=[])
    rows = await conn.execute(text("SELECT name, installed_version FROM pg_available_extensions"))
    available = {name: installed for name, installed in rows}
    for name in REQUIRED_EXTENSIONS:
        if name not in available:
            found.unavailable.append(name)
        elif available[name] is not None:
            found.present.append(name)
        else:
            try:
                await conn.execute(text(f'CREATE EXTENSION IF NOT EXISTS "{name}"'))
                found.created.append(name)
            except DBAPIError as exc:
                if sqlstate(exc) != INSUFFICIENT_PRIVILEGE:
                    raise
                found.missing.append(name)
    return found


def superuser_paragraph(settings: Settings, extensions: Extensions) -> str:
    """The exact SQL a superuser must run, in one paragraph."""
    target = checked_target(settings)
    parts = []
    if extensions.unavailable:
        parts.append(
            f"PostgreSQL on {target.host} lacks the extension packages for "
            f"{', '.join(extensions.unavailable)} (on Debian: apt-get install "
            "postgresql-15-postgis-3 postgresql-contrib)."
        )
    todo = extensions.missing + extensions.unavailable
    sql = " ".join(f"CREATE EXTENSION IF NOT EXISTS {name};" for name in todo)
    parts.append(
        f"The database {target} needs the extension{'s' if len(todo) > 1 else ''} "
        f"{', '.join(todo)}, which the role {target.user or 'in use'} may not create. "
        f'A superuser must run: psql -h {target.host} -p {target.port} -d {target.name} -c "{sql}" '
        "and then run corps init again."
    )
    return " ".join(parts)


@asynccontextmanager
async def cli_session() -> AsyncIterator[AsyncSession]:
    """A session for a command: committed on success, connection errors as one line."""
    from corps.db import standalone_session

    settings = load_settings()
    try:
        async with standalone_session() as session:
            yield session
    except (OSError, DBAPIError) as exc:
        if isinstance(exc, DBAPIError) and sqlstate(exc):
            raise
        raise CliError(
            f"cannot connect to {database_target(settings.database_url)}: {first_line(exc)}"
        ) from exc


def sqlstate(exc: DBAPIError) -> str | None:
    """The SQLSTATE of a database error, when the driver gives one."""
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code is None and orig is not None:
        code = getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    return str(code) if code else None


def first_line(exc: BaseException) -> str:
    """The first meaningful line of an exception's message, for a one-line error."""
    orig = getattr(exc, "orig", None)
    cause = getattr(orig, "__cause__", None) if orig is not None else None
    source = cause or orig or exc
    message = str(source).strip()
    for prefix in ("<class", "("):
        if message.startswith(prefix) and ")" in message:
            message = message.split(")", 1)[1].strip(" :")
    line = message.splitlines()[0] if message else type(source).__name__
    return line.strip()
