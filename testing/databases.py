"""The databases and Redis of one test process: its own, so pytest-xdist workers never meet.

EJ_TEST_DATABASE_URL names a database that `make services` created (with PostGIS); a run
migrates it once and then serves only as the template of every test process's databases,
cloned with `CREATE DATABASE ... TEMPLATE` (a file copy, much faster than migrating):

- `<base>_<worker>`: the rolled-back world; each test's transaction never commits here;
- `<base>_<worker>_live`: the committed world, for tests whose data a child process (a live
  server, a worker, the CLI) or a second connection must see.

`<worker>` is pytest-xdist's worker id (gw0, gw1, ...) or `main` without xdist. Cloning and
the role grant of `isolation.py` take a PostgreSQL superuser (EJ_TEST_SUPERUSER_URL).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import make_url

SUPERUSER_URL = os.environ.get(
    "EJ_TEST_SUPERUSER_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BASE_URL = os.environ.get(
    "EJ_TEST_DATABASE_URL", "postgresql+asyncpg://ejcorps:ejcorps@127.0.0.1:5432/ejcorps_test"
)
BASE_APP_URL = os.environ.get(
    "EJ_TEST_APP_DATABASE_URL", BASE_URL.replace("ejcorps:ejcorps@", "ejcorps_app:ejcorps_app@")
)
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
# The same for every worker of one run (pytest-xdist sets it); a fresh one without xdist.
RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID") or secrets.token_hex(8)
# Serialises template work across the workers of a run (and across runs on one server).
TEMPLATE_LOCK = 0x656A636F  # "ejco"


def _named(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def _plain(url: str) -> str:
    """An asyncpg DSN from an SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


@dataclass(frozen=True)
class Databases:
    """The URLs a test process uses: owner and service role, rolled-back and committed."""

    template: str
    owner_url: str
    app_url: str
    live_owner_url: str
    live_app_url: str

    @property
    def names(self) -> tuple[str, str]:
        """The two databases this process clones."""
        return (
            make_url(self.owner_url).database or "",
            make_url(self.live_owner_url).database or "",
        )


def worker_databases(worker: str = WORKER) -> Databases:
    """The databases of a test process."""
    base = make_url(BASE_URL).database or "ejcorps_test"
    own, live = f"{base}_{worker}", f"{base}_{worker}_live"
    return Databases(
        template=base,
        owner_url=_named(BASE_URL, own),
        app_url=_named(BASE_APP_URL, own),
        live_owner_url=_named(BASE_URL, live),
        live_app_url=_named(BASE_APP_URL, live),
    )


def worker_redis_url(worker: str = WORKER) -> str:
    """This process's Redis: the n-th of EJ_TEST_REDIS_URL's URLs, or db index base + n.

    arq's queue and every cache key have fixed names, so workers cannot share a Redis
    database; several URLs (space-separated) say which databases are free to use.
    """
    urls = os.environ.get("EJ_TEST_REDIS_URL", "redis://127.0.0.1:6379/1").split()
    n = int(worker[2:]) if worker.startswith("gw") else 0
    if n < len(urls):
        return urls[n]
    url = make_url(urls[0].replace("redis://", "redis+x://", 1))
    index = int(url.database or 0) + n
    return (
        url.set(database=str(index))
        .render_as_string(hide_password=False)
        .replace("redis+x://", "redis://", 1)
    )


async def _cloner(owner_url: str) -> asyncpg.Connection:
    """A superuser's connection, else the owner's (bootstrap lets it create databases)."""
    try:
        return await asyncpg.connect(_plain(SUPERUSER_URL))
    except (OSError, asyncpg.PostgresError) as superuser_refused:
        try:
            return await asyncpg.connect(_plain(_named(owner_url, "postgres")))
        except (OSError, asyncpg.PostgresError) as exc:
            raise RuntimeError(
                f"tests clone their databases as a PostgreSQL superuser ({SUPERUSER_URL}: "
                f"{superuser_refused}) or as the schema owner ({exc}); set "
                "EJ_TEST_SUPERUSER_URL, or run scripts/bootstrap.sh (make services), which "
                "lets the owner create databases"
            ) from exc


async def prepare(dbs: Databases, migrate: Callable[[str], None], app_role: str) -> None:
    """Migrate the template once per run, then clone this process's two databases from it."""
    su = await _cloner(dbs.owner_url)
    try:
        owner = make_url(dbs.owner_url).username
        # The rolled-back world runs the app's sessions on the owner's connection, as the
        # service role (SET LOCAL ROLE): the owner must be allowed to become it.
        if not await su.fetchval("SELECT pg_has_role($1, $2, 'MEMBER')", owner, app_role):
            await su.execute(f'GRANT "{app_role}" TO "{owner}"')
        await su.execute("SELECT pg_advisory_lock($1)", TEMPLATE_LOCK)
        try:
            template = dbs.template
            done = await su.fetchval(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
                template,
            )
            if done != f"migrated by test run {RUN_ID}":
                await _reset(dbs, migrate)
                await su.execute(
                    f"COMMENT ON DATABASE \"{template}\" IS 'migrated by test run {RUN_ID}'"
                )
            for name in dbs.names:
                await su.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await su.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" OWNER "{owner}"')
        finally:
            await su.execute("SELECT pg_advisory_unlock($1)", TEMPLATE_LOCK)
    finally:
        await su.close()


async def _reset(dbs: Databases, migrate: Callable[[str], None]) -> None:
    """Drop everything the owner has in the template, then migrate it from scratch."""
    conn = await asyncpg.connect(_plain(_named(BASE_URL, dbs.template)))
    try:
        await conn.execute("DROP OWNED BY current_user CASCADE")
    finally:
        await conn.close()
    await asyncio.to_thread(migrate, BASE_URL)
