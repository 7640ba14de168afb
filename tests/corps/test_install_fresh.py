"""From an empty database made by a non-superuser to a signed-in admin and a first case.

Uses a PostgreSQL superuser (EJ_TEST_SUPERUSER_URL; by default `postgres` over TCP, as
scripts/bootstrap.sh sets up) only to make this test's own two roles and to play the
superuser who runs the SQL `corps init` asks for. Everything else goes through the CLI
and the API, as an operator would.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from corps.settings import Settings
from testing.factories import case_body
from testing.live import live_server
from tests.conftest import TEST_DATABASE_URL
from tests.corps.cli_run import corps_env, run_corps

# Committed rows: the corps command line, a child process, reads them.
pytestmark = pytest.mark.committed

SUPERUSER_URL = os.environ.get(
    "EJ_TEST_SUPERUSER_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BASE = make_url(TEST_DATABASE_URL).database or "ejcorps_test"
OWNER, APP = f"{BASE}_owner", f"{BASE}_app"
OWNER_PASSWORD, APP_PASSWORD = "fresh-owner-pw-1", "fresh-app-pw-1"
BACKUP, BACKUP_PASSWORD = f"{BASE}_backup", "fresh-backup-pw-1"
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@fresh.example.org", "first-admin-pass-1"


@dataclass
class FreshDatabase:
    """An empty database owned by a non-superuser, and how to reach it."""

    name: str
    owner_url: str
    app_url: str

    def env(self, settings: Settings, **extra: str) -> dict[str, str]:
        return corps_env(
            settings,
            EJ_DATABASE_URL=self.app_url,
            EJ_MIGRATION_DATABASE_URL=self.owner_url,
            EJ_DB_APP_ROLE=APP,
            **extra,
        )


def _url(user: str, password: str, database: str, driver: str = "postgresql") -> str:
    server = make_url(TEST_DATABASE_URL)
    return f"{driver}://{user}:{password}@{server.host}:{server.port or 5432}/{database}"


async def _superuser(database: str = "postgres") -> asyncpg.Connection:
    url = make_url(SUPERUSER_URL).set(database=database).render_as_string(hide_password=False)
    return await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))


@pytest.fixture(scope="module")
async def roles() -> AsyncIterator[None]:
    """A schema owner that may create databases, and a service role; neither a superuser."""
    try:
        su = await _superuser()
    except (OSError, asyncpg.PostgresError) as exc:
        # `make services` needs the same superuser to create the project's roles.
        pytest.fail(f"no PostgreSQL superuser at {SUPERUSER_URL} (EJ_TEST_SUPERUSER_URL): {exc}")
    try:
        for role, password, extra in ((OWNER, OWNER_PASSWORD, "CREATEDB"), (APP, APP_PASSWORD, "")):
            exists = await su.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            verb = "ALTER" if exists else "CREATE"
            await su.execute(f"{verb} ROLE {role} LOGIN NOSUPERUSER {extra} PASSWORD '{password}'")
        yield
    finally:
        await su.close()


async def _fresh_database(suffix: str, *, with_extensions: bool) -> FreshDatabase:
    name = f"{BASE}_fresh_{suffix}"
    su = await _superuser()
    try:
        await su.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await su.close()
    owner = await asyncpg.connect(_url(OWNER, OWNER_PASSWORD, "postgres"))
    try:
        await owner.execute(f"CREATE DATABASE {name}")  # as `createdb -O` would leave it
    finally:
        await owner.close()
    if with_extensions:
        await _as_superuser(name, "CREATE EXTENSION postgis; CREATE EXTENSION pg_trgm;")
    return FreshDatabase(
        name=name,
        owner_url=_url(OWNER, OWNER_PASSWORD, name, "postgresql+asyncpg"),
        app_url=_url(APP, APP_PASSWORD, name, "postgresql+asyncpg"),
    )


async def _as_superuser(database: str, sql: str) -> None:
    su = await _superuser(database)
    try:
        await su.execute(sql)
    finally:
        await su.close()


async def _state(db: FreshDatabase) -> tuple[object, ...]:
    """What init could change: schema revision, extensions, organizations, users, audit."""
    conn = await asyncpg.connect(db.owner_url.replace("+asyncpg", ""))
    try:
        return (
            await conn.fetchval("SELECT version_num FROM alembic_version"),
            tuple(await conn.fetch("SELECT extname, extversion FROM pg_extension ORDER BY 1")),
            tuple(await conn.fetch("SELECT id, slug, name FROM organizations ORDER BY id")),
            tuple(await conn.fetch("SELECT id, email, role, password_hash FROM users ORDER BY id")),
            await conn.fetchval("SELECT count(*) FROM audit_log"),
        )
    finally:
        await conn.close()


def _init(db: FreshDatabase, settings: Settings) -> tuple[int, str, str]:
    result = run_corps(
        "init",
        "--admin-email",
        ADMIN_EMAIL,
        "--password-file",
        "-",
        env=db.env(settings),
        stdin=ADMIN_PASSWORD + "\n",
    )
    return result.returncode, result.stdout, result.stderr


async def _sign_in(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    answer = await client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.mark.parametrize("with_extensions", [False, True], ids=["no-extensions", "extensions"])
async def test_from_an_empty_database_to_a_first_case(
    roles: None, settings: Settings, with_extensions: bool
) -> None:
    db = await _fresh_database(
        "ext" if with_extensions else "plain", with_extensions=with_extensions
    )
    code, out, err = _init(db, settings)
    if not with_extensions:
        # The owner may create pg_trgm (a trusted extension) but not PostGIS: one paragraph
        # with the exact SQL, which a superuser runs before init is tried again.
        assert code == 2, out + err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert "postgis" in err and "superuser must run" in err
        assert f"-d {db.name}" in err
        sql = re.search(r'-c "([^"]+)"', err)
        assert sql is not None and "CREATE EXTENSION IF NOT EXISTS postgis;" in sql.group(1)
        await _as_superuser(db.name, sql.group(1))
        code, out, err = _init(db, settings)
    assert code == 0, out + err
    assert f"database {db.name} on " in out and f"migrations as {OWNER}" in out
    assert "schema migrated from empty" in out
    assert f"created the admin {ADMIN_EMAIL}" in out and "Sign in at http" in out
    assert ADMIN_PASSWORD not in out + err and OWNER_PASSWORD not in out + err

    before = await _state(db)
    code, again, err = _init(db, settings)
    assert code == 0, again + err
    assert "nothing to change" in again and "created" not in again
    assert await _state(db) == before

    fresh = settings.model_copy(update={"database_url": db.app_url})
    async with live_server(fresh) as server, httpx.AsyncClient(base_url=server.url) as client:
        admin = await _sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
        me = (await client.get("/api/v1/me", headers=admin)).json()
        assert me["role"] == "admin"

        env = db.env(settings)
        org = run_corps(
            "create-organization",
            "--name",
            "Ashanti Land Watch",
            "--slug",
            "ashanti-watch",
            "--country",
            "GH",
            env=env,
        )
        assert org.returncode == 0, org.stderr
        paralegal = run_corps(
            "create-user",
            "--email",
            "para@fresh.example.org",
            "--role",
            "paralegal",
            "--organization",
            "ashanti-watch",
            "--name",
            "Ama Paralegal",
            "--password-file",
            "-",
            env=env,
            stdin="paralegal-pass-1\n",
        )
        assert paralegal.returncode == 0, paralegal.stderr

        headers = await _sign_in(client, "para@fresh.example.org", "paralegal-pass-1")
        case = await client.post(
            "/api/v1/cases", headers=headers, json=case_body(country="GH", place_name="Obuasi")
        )
        assert case.status_code == 201, case.text
        assert case.json()["reference"].startswith("ASHANTI-WATCH-")
        listed = await client.get("/api/v1/cases", headers=admin)
        assert [c["id"] for c in listed.json()["items"]] == [case.json()["id"]]
    await _as_superuser("postgres", f"DROP DATABASE IF EXISTS {db.name} WITH (FORCE)")


def _run(command: list[str], password: str) -> subprocess.CompletedProcess[str]:
    env = {"PGPASSWORD": password, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


async def test_the_documented_backup_restores_into_a_new_database(
    roles: None, settings: Settings, tmp_path: Path
) -> None:
    # As docs/operations.md: a backup role that bypasses row-level security and reads all
    # data (the owner cannot dump tables whose policies are forced on it), and a restore
    # run by the superuser, which keeps the dump's owners.
    await _as_superuser(
        "postgres",
        f"""DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{BACKUP}') THEN
            CREATE ROLE {BACKUP} LOGIN BYPASSRLS PASSWORD '{BACKUP_PASSWORD}';
          END IF;
        END $$; GRANT pg_read_all_data TO {BACKUP};""",
    )
    source = await _fresh_database("backup", with_extensions=True)
    code, out, err = _init(source, settings)
    assert code == 0, out + err
    dump = tmp_path / "ejcorps.dump"
    server = make_url(source.owner_url)
    where = ["-h", str(server.host), "-p", str(server.port or 5432)]
    dumped = await asyncio.to_thread(
        _run,
        ["pg_dump", "-Fc", *where, "-U", BACKUP, "-d", source.name, "-f", str(dump)],
        BACKUP_PASSWORD,
    )
    assert dumped.returncode == 0, dumped.stderr

    target = await _fresh_database("restored", with_extensions=True)
    superuser = make_url(SUPERUSER_URL)
    restored = await asyncio.to_thread(
        _run,
        [
            "pg_restore",
            *where,
            "-U",
            superuser.username or "postgres",
            "-d",
            target.name,
            "--exit-on-error",
            str(dump),
        ],
        superuser.password or "",
    )
    assert restored.returncode == 0, restored.stderr
    migrated = run_corps("migrate", env=target.env(settings))
    assert migrated.returncode == 0, migrated.stderr
    audit = run_corps("verify-audit", env=target.env(settings))
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert await _state(target) == await _state(source)

    fresh = settings.model_copy(update={"database_url": target.app_url})
    async with live_server(fresh) as live, httpx.AsyncClient(base_url=live.url) as client:
        admin = await _sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert (await client.get("/api/v1/me", headers=admin)).json()["role"] == "admin"
    for db in (source, target):
        await _as_superuser("postgres", f"DROP DATABASE IF EXISTS {db.name} WITH (FORCE)")
