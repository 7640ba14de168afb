"""Finding 2: failed sign-ins are throttled atomically per address and per account+address."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from corps.audit import AuditEntry
from corps.settings import Settings
from testing.factories import PASSWORD, make_person, unique
from testing.live import live_server

# Committed rows: a live server or worker process reads them.
pytestmark = pytest.mark.committed

TOKEN = "/api/v1/auth/token"


@asynccontextmanager
async def from_address(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests come from `address`."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def sign_in(client: httpx.AsyncClient, email: str, password: str) -> asyncio.Task[httpx.Response]:
    return asyncio.ensure_future(client.post(TOKEN, data={"username": email, "password": password}))


async def test_concurrent_guesses_each_count_against_the_allowance(
    app: FastAPI, db: AsyncSession, settings: Settings
) -> None:
    person = await make_person(db, settings, "paralegal")
    async with from_address(app, "198.51.100.10") as attacker:
        answers = await asyncio.gather(
            *(sign_in(attacker, person.email, "guess") for _ in range(18))
        )
    codes = sorted(a.status_code for a in answers)
    assert set(codes) == {401, 429}, codes
    assert codes.count(401) <= settings.login_failures_allowed + 1, codes
    throttled = next(a for a in answers if a.status_code == 429)
    assert throttled.headers["content-type"] == "application/problem+json"
    assert int(throttled.headers["retry-after"]) >= 1
    audited = await db.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "auth.login_failed", AuditEntry.object_id == str(person.id))
    )
    assert audited == codes.count(401)


async def test_an_attacker_cannot_lock_the_owner_out(
    app: FastAPI, db: AsyncSession, settings: Settings
) -> None:
    person = await make_person(db, settings, "paralegal")
    async with from_address(app, "198.51.100.11") as attacker:
        for _ in range(settings.login_failures_allowed + 3):
            await sign_in(attacker, person.email, "guess")
        assert (await sign_in(attacker, person.email, PASSWORD)).status_code == 429
    async with from_address(app, "192.0.2.20") as owner:
        assert (await sign_in(owner, person.email, PASSWORD)).status_code == 200


async def test_the_back_off_lets_a_later_try_through(
    app: FastAPI, db: AsyncSession, settings: Settings
) -> None:
    person = await make_person(db, settings, "paralegal")
    async with from_address(app, "198.51.100.12") as client:
        for _ in range(settings.login_failures_allowed):
            assert (await sign_in(client, person.email, "guess")).status_code == 401
        blocked = await sign_in(client, person.email, PASSWORD)
        assert blocked.status_code == 429
        await asyncio.sleep(int(blocked.headers["retry-after"]) + 0.1)
        assert (await sign_in(client, person.email, PASSWORD)).status_code == 200


async def test_one_address_guessing_many_accounts_is_throttled(
    app: FastAPI, db: AsyncSession, settings: Settings
) -> None:
    limited = settings.model_copy(update={"login_attempts_per_address": 8})
    app.state.settings, original = limited, app.state.settings
    try:
        async with from_address(app, "198.51.100.13") as attacker:
            codes = [
                (await sign_in(attacker, f"{unique('x')}@example.org", "guess")).status_code
                for _ in range(10)
            ]
    finally:
        app.state.settings = original
    assert codes == [401] * 8 + [429] * 2


async def test_a_flood_of_failed_sign_ins_leaves_a_live_server_answering(
    db: AsyncSession, settings: Settings
) -> None:
    async with (
        live_server(settings, EJ_LOGIN_ATTEMPTS_PER_ADDRESS="100000") as server,
        httpx.AsyncClient(base_url=server.url, timeout=120) as client,
    ):
        guesses: Callable[[], list[asyncio.Task[httpx.Response]]] = lambda: [  # noqa: E731
            sign_in(client, f"{unique('flood')}@example.org", "guess") for _ in range(40)
        ]
        flood = asyncio.gather(*guesses())
        answered_during_flood = 0
        while not flood.done():
            health = await client.get("/health")
            assert health.status_code == 200, health.text
            answered_during_flood += not flood.done()
            await asyncio.sleep(0.1)
        answers = await flood
        peak = server.memory_kb("VmHWM")
    assert {a.status_code for a in answers} == {401}, [
        a.text for a in answers if a.status_code != 401
    ]
    # The loop was never held for the whole flood (no timing: machines are shared and noisy).
    assert answered_during_flood >= 2
    assert peak < 1024 * 1024
