"""The command line as an operator meets it: help, version, one-line errors, passwords."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from corps.cli.base import CliError
from corps.settings import Settings
from testing.factories import make_org, unique
from tests.corps.cli_run import corps_env, run_corps, run_corps_in_terminal

# Committed rows: the corps command line, a child process, reads them.
pytestmark = pytest.mark.committed

COMMANDS = [
    "init",
    "migrate",
    "serve",
    "worker",
    "create-organization",
    "create-user",
    "seed-demo",
    "verify-dossier",
    "verify-audit",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_is_clean_and_lists_exit_codes(command: str, settings: Settings) -> None:
    result = run_corps(command, "--help", env=corps_env(settings))
    assert result.returncode == 0, result.stderr
    assert "Usage: corps" in result.stdout
    assert "<bool>" not in result.stdout and "BOOLEAN" not in result.stdout
    assert "<str>" not in result.stdout and "TEXT" not in result.stdout
    assert "Exit codes:" in result.stdout and "  2  error" in result.stdout


def test_top_level_help_and_version(settings: Settings) -> None:
    top = run_corps("--help", env=corps_env(settings))
    assert top.returncode == 0
    for command in COMMANDS:
        assert command in top.stdout
    version = run_corps("--version", env=corps_env(settings))
    assert version.returncode == 0 and version.stdout.startswith("corps 0.")


def test_migrate_help_names_the_settings_it_reads(settings: Settings) -> None:
    result = run_corps("migrate", "--help", env=corps_env(settings))
    assert "EJ_MIGRATION_DATABASE_URL" in result.stdout and "EJ_DATABASE_URL" in result.stdout


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"EJ_ENV": "prod", "EJ_SECRET_KEY": "changethis"}, "EJ_SECRET_KEY"),
        ({"EJ_MAX_UPLOAD_MB": "lots"}, "EJ_MAX_UPLOAD_MB"),
        ({"EJ_ENV": "production"}, "EJ_ENV"),
    ],
)
@pytest.mark.parametrize("command", ["migrate", "init", "serve", "worker", "create-organization"])
def test_a_refused_setting_is_one_line_and_exit_2(
    command: str, extra: dict[str, str], named: str, settings: Settings
) -> None:
    args = [command]
    if command == "create-organization":
        args += ["--name", "Somewhere", "--slug", "somewhere", "--country", "KE"]
    result = run_corps(*args, env=corps_env(settings, **extra))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and named in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_usage_errors_are_one_line(settings: Settings) -> None:
    for args in (["no-such-command"], ["create-user", "--email", "a@example.org"]):
        result = run_corps(*args, env=corps_env(settings))
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("command", ["migrate", "init"])
def test_migration_and_app_urls_on_different_databases_are_refused(
    command: str, settings: Settings
) -> None:
    other = settings.database_url.rsplit("/", 1)[0] + "/some_other_database"
    result = run_corps(command, env=corps_env(settings, EJ_MIGRATION_DATABASE_URL=other))
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "\n" not in line
    assert "some_other_database" in line and settings.database_url.rsplit("/", 1)[1] in line
    assert "EJ_MIGRATION_DATABASE_URL" in line and "EJ_DATABASE_URL" in line


async def test_migrate_says_which_database_never_the_password(
    engine: AsyncEngine, settings: Settings
) -> None:
    result = run_corps("migrate", env=corps_env(settings))
    assert result.returncode == 0, result.stderr
    name = settings.database_url.rsplit("/", 1)[1]
    assert f"database {name} on 127.0.0.1:5432" in result.stdout
    assert "up to date" in result.stdout
    for password in ("ejcorps_app@", ":ejcorps@", "ejcorps_app:ejcorps_app"):
        assert password not in result.stdout + result.stderr


def test_an_unreachable_database_is_one_line(settings: Settings) -> None:
    closed = "postgresql+asyncpg://ejcorps:secret-pw@127.0.0.1:9/ejcorps"
    env = corps_env(settings, EJ_DATABASE_URL=closed, EJ_MIGRATION_DATABASE_URL=closed)
    result = run_corps("migrate", env=env)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "cannot connect to ejcorps on 127.0.0.1:9" in result.stderr
    assert "secret-pw" not in result.stderr + result.stdout
    shown = run_corps("migrate", env={**env, "CORPS_TRACEBACK": "1"})
    assert "Traceback" in shown.stderr


async def _can_sign_in(client: httpx.AsyncClient, email: str, password: str) -> bool:
    token = await client.post("/api/v1/auth/token", data={"username": email, "password": password})
    return token.status_code == 200


async def test_create_organization_then_a_user_from_a_password_file(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    env = corps_env(settings)
    slug = unique("org-")
    made = run_corps(
        "create-organization", "--name", "River Watch", "--slug", slug, "--country", "sl", env=env
    )
    assert made.returncode == 0, made.stderr
    assert f"created organization {slug}" in made.stdout
    again = run_corps(
        "create-organization", "--name", "River Watch", "--slug", slug, "--country", "SL", env=env
    )
    assert again.returncode == 2 and "already exists" in again.stderr
    bad = run_corps(
        "create-organization",
        "--name",
        "Nowhere",
        "--slug",
        unique("x-"),
        "--country",
        "XX",
        env=env,
    )
    assert bad.returncode == 2 and "country" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1

    email = f"{unique('pf')}@example.org"
    args = ["create-user", "--email", email, "--role", "paralegal", "--organization", slug]
    short = run_corps(*args, "--password-file", "-", env=env, stdin="short\n")
    assert short.returncode == 2 and "password" in short.stderr
    made_user = run_corps(*args, "--password-file", "-", env=env, stdin="from-stdin-pass-1\n")
    assert made_user.returncode == 0, made_user.stderr
    assert await _can_sign_in(client, email, "from-stdin-pass-1")


async def test_password_on_the_command_line_works_with_a_warning(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    org = await make_org(db)
    email = f"{unique('pw')}@example.org"
    result = run_corps(
        "create-user",
        "--email",
        email,
        "--organization",
        org.slug,
        "--role",
        "admin",
        "--password",
        "on-the-line-pass-1",
        env=corps_env(settings),
    )
    assert result.returncode == 0, result.stderr
    assert "warning:" in result.stderr and "shell history" in result.stderr
    assert await _can_sign_in(client, email, "on-the-line-pass-1")


def test_without_a_terminal_or_file_the_password_is_asked_for_by_name(settings: Settings) -> None:
    result = run_corps(
        "create-user",
        "--email",
        "nobody@example.org",
        "--role",
        "admin",
        env=corps_env(settings),
        stdin="",
    )
    assert result.returncode == 2
    assert "--password-file" in result.stderr and "no password" in result.stderr


async def test_create_user_prompts_twice_and_hides_the_password(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    org = await make_org(db)
    email = f"{unique('tty')}@example.org"
    code, seen = run_corps_in_terminal(
        "create-user",
        "--email",
        email,
        "--organization",
        org.slug,
        "--role",
        "coordinator",
        env=corps_env(settings),
        answers=["typed-secret-pass-1", "typed-secret-pass-1"],
    )
    assert code == 0, seen
    assert seen.count("Password for") == 1 and "confirmation" in seen.lower()
    assert "typed-secret-pass-1" not in seen  # never echoed
    assert await _can_sign_in(client, email, "typed-secret-pass-1")


def test_an_installed_package_finds_the_migrations_in_its_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from corps.cli import database

    checkout_head = database.head_revision()
    monkeypatch.setattr(database, "PROJECT_ROOT", tmp_path)  # as in site-packages
    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # the image's WORKDIR /app
    assert database.head_revision() == checkout_head
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CliError, match="cannot find the migrations"):
        database.head_revision()


def test_the_readme_lists_every_demo_login_and_stays_inside_the_repository() -> None:
    from corps.demo_data import DEMO_PASSWORD, DEMO_USERS

    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    for _role, email, _name, _org in DEMO_USERS:
        assert f"`{email}`" in readme
    assert DEMO_PASSWORD in readme
    for doc in [root / "README.md", *(root / "docs").glob("*.md")]:
        text = doc.read_text()
        assert "../" not in text and "/work/" not in text, doc.name
    for name in ("architecture.md", "api.md", "operations.md"):
        assert (root / "docs" / name).is_file()
