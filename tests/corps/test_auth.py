"""Sign-in, tokens and the no-enumeration rules."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from corps.audit import AuditEntry
from corps.settings import Settings
from testing.factories import PASSWORD, make_person


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/token", data={"username": email, "password": password})


async def test_sign_in_gives_a_bearer_token_that_works(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    person = await make_person(db, settings, "paralegal")
    response = await sign_in(client, person.email.upper(), PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json() == {
        "id": str(person.id),
        "email": person.email,
        "name": "Paralegal",
        "role": "paralegal",
        "organization_id": str(person.organization_id),
    }


async def test_wrong_password_and_unknown_email_get_the_same_answer_and_are_audited(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    person = await make_person(db, settings, "paralegal")
    wrong = await sign_in(client, person.email, "not-the-password")
    unknown = await sign_in(client, "nobody-here@example.org", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json() == unknown.json()
    failed = (
        await db.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "auth.login_failed", AuditEntry.object_id == str(person.id)
            )
        )
    ).all()
    assert len(failed) == 1


async def test_repeated_failures_are_throttled_even_with_the_right_password(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    person = await make_person(db, settings, "paralegal")
    for _ in range(settings.login_failures_allowed):
        assert (await sign_in(client, person.email, "guess-guess-guess")).status_code == 401
    blocked = await sign_in(client, person.email, PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0


async def test_requests_without_or_with_a_bad_token_are_401(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    assert (await client.get("/api/v1/me")).status_code == 401
    forged = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad"}
    response = await client.get("/api/v1/me", headers=forged)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_deactivated_users_token_stops_working(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    person = await make_person(db, settings, "paralegal", active=False)
    assert (await client.get("/api/v1/me", headers=person.headers)).status_code == 401
    assert (await sign_in(client, person.email, PASSWORD)).status_code == 401
