"""Finding 7: a password change, role change or deactivation ends the user's earlier tokens."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import PASSWORD, make_person


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_a_password_reset_ends_earlier_tokens_but_not_later_ones(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_person(db, settings, "admin")
    person = await make_person(db, settings, "paralegal")
    old = await sign_in(client, person.email, PASSWORD)
    assert (await client.get("/api/v1/me", headers=old)).status_code == 200
    reset = await client.patch(
        f"/api/v1/users/{person.id}",
        json={"password": "a-brand-new-password"},
        headers=admin.headers,
    )
    assert reset.status_code == 200, reset.text
    for headers in (old, person.headers):
        ended = await client.get("/api/v1/me", headers=headers)
        assert ended.status_code == 401 and "Sign in again" in ended.json()["detail"]
    new = await sign_in(client, person.email, "a-brand-new-password")
    assert (await client.get("/api/v1/me", headers=new)).status_code == 200


async def test_a_role_change_ends_earlier_tokens_but_a_rename_does_not(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_person(db, settings, "admin")
    person = await make_person(db, settings, "paralegal")
    renamed = await client.patch(
        f"/api/v1/users/{person.id}", json={"name": "Renamed"}, headers=admin.headers
    )
    assert renamed.status_code == 200
    assert (await client.get("/api/v1/me", headers=person.headers)).status_code == 200
    promoted = await client.patch(
        f"/api/v1/users/{person.id}", json={"role": "org_admin"}, headers=admin.headers
    )
    assert promoted.status_code == 200
    assert (await client.get("/api/v1/me", headers=person.headers)).status_code == 401


async def test_a_token_from_before_a_deactivation_stays_dead_after_reactivation(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_person(db, settings, "admin")
    person = await make_person(db, settings, "paralegal")
    for active in (False, True):
        response = await client.patch(
            f"/api/v1/users/{person.id}", json={"active": active}, headers=admin.headers
        )
        assert response.status_code == 200, response.text
    assert (await client.get("/api/v1/me", headers=person.headers)).status_code == 401
    fresh = await sign_in(client, person.email, PASSWORD)
    assert (await client.get("/api/v1/me", headers=fresh)).status_code == 200
