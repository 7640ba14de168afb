"""The `corps` command line: help everywhere, create-user, idempotent seed-demo."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from corps.members.models import User
from corps.organizations.models import Organization
from corps.settings import Settings
from testing.factories import unique

# Committed rows: the corps command line, a child process, reads them.
pytestmark = pytest.mark.committed

COMMANDS = ["serve", "worker", "migrate", "create-user", "seed-demo", "verify-dossier"]


def corps(*args: str, settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "EJ_DATABASE_URL": settings.database_url,
        "EJ_ENV": "test",
        "EJ_REDIS_URL": settings.redis_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "corps", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, settings: Settings) -> None:
    result = corps(command, "--help", settings=settings)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


async def test_create_user_makes_someone_who_can_sign_in(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    db.add(Organization(name="CLI Org", slug=(slug := unique("cli-")), country="LR"))
    await db.commit()
    email = f"{unique('cli')}@example.org"
    result = corps(
        "create-user",
        "--email",
        email,
        "--password",
        "cli-password-123",
        "--role",
        "org_admin",
        "--organization",
        slug,
        settings=settings,
    )
    assert result.returncode == 0, result.stderr
    token = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": "cli-password-123"}
    )
    assert token.status_code == 200
    again = corps(
        "create-user",
        "--email",
        email,
        "--password",
        "cli-password-123",
        "--role",
        "org_admin",
        "--organization",
        slug,
        settings=settings,
    )
    assert again.returncode == 2 and "already exists" in again.stderr


def test_create_user_refuses_an_unknown_organization(settings: Settings) -> None:
    result = corps(
        "create-user",
        "--email",
        "a@example.org",
        "--password",
        "long-password-1",
        "--role",
        "paralegal",
        "--organization",
        "no-such-org",
        settings=settings,
    )
    assert result.returncode == 2 and "no organization" in result.stderr


async def test_seed_demo_is_idempotent(db: AsyncSession, settings: Settings) -> None:
    first = corps("seed-demo", "--cases", "30", settings=settings)
    assert first.returncode == 0, first.stderr
    counts = [
        await db.scalar(select(func.count()).select_from(Organization)),
        await db.scalar(select(func.count()).select_from(User)),
    ]
    second = corps("seed-demo", "--cases", "30", settings=settings)
    assert second.returncode == 0, second.stderr
    assert [
        await db.scalar(select(func.count()).select_from(Organization)),
        await db.scalar(select(func.count()).select_from(User)),
    ] == counts
    countries = await db.scalar(
        select(func.count(func.distinct(Organization.country)))
        .where(Organization.slug != "corps")
        .where(Organization.region != "Test")
    )
    assert countries >= 25
    assert "admin@ejcorps.demo" in first.stdout and "paralegal@ejcorps.demo" in first.stdout
