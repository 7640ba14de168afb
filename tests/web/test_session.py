"""The web app's session cookie: same credentials, same token rules, the custom-header CSRF rule."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from corps.auth.session import CSRF_HEADER, SESSION_COOKIE
from corps.settings import Settings
from testing.factories import PASSWORD, make_person

# Committed rows: a live server or worker process reads them.
pytestmark = pytest.mark.committed

WEB = {CSRF_HEADER: "1"}


async def start_session(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/session", data={"username": email, "password": password}, headers=WEB
    )


async def test_session_cookie_signs_in_the_browser(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    person = await make_person(db, settings, "paralegal")
    response = await start_session(client, person.email, PASSWORD)
    assert response.status_code == 200
    assert response.json()["email"] == person.email
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # only when EJ_ENV=prod
    assert "access_token" not in response.text  # the token never reaches the page's script
    me = await client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["id"] == str(person.id)


async def test_wrong_password_sets_no_cookie(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    person = await make_person(db, settings, "paralegal")
    response = await start_session(client, person.email, "wrong-password-123")
    assert response.status_code == 401
    assert "set-cookie" not in response.headers
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_cookie_writes_need_the_custom_header(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    person = await make_person(db, settings, "paralegal")
    await start_session(client, person.email, PASSWORD)
    body = {"name": "x", "kind": "community"}
    refused = await client.post(
        "/api/v1/cases/00000000-0000-0000-0000-000000000000/flags", json=body
    )
    assert refused.status_code == 403
    assert CSRF_HEADER in refused.json()["detail"]
    assert refused.headers["content-type"].startswith("application/problem+json")
    # with the header the same request reaches the route (404: no such case)
    allowed = await client.post(
        "/api/v1/cases/00000000-0000-0000-0000-000000000000/flags", json=body, headers=WEB
    )
    assert allowed.status_code != 403
    # a sign-in from a foreign page (no header) is refused too: no login CSRF
    foreign = await client.post(
        "/api/v1/auth/session", data={"username": person.email, "password": PASSWORD}
    )
    assert foreign.status_code == 403


async def test_bearer_tokens_need_no_header(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    person = await make_person(db, settings, "paralegal")
    response = await client.post("/api/v1/me/password", json={}, headers=person.headers)
    assert response.status_code == 422  # the body is checked, not a CSRF header


async def test_the_cookie_is_revoked_like_a_token(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    person = await make_person(db, settings, "paralegal")
    admin = await make_person(db, settings, "admin")
    await start_session(client, person.email, PASSWORD)
    assert (await client.get("/api/v1/me")).status_code == 200
    changed = await client.patch(
        f"/api/v1/users/{person.id}", json={"role": "org_admin"}, headers=admin.headers
    )
    assert changed.status_code == 200
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_sign_out_ends_the_session(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    person = await make_person(db, settings, "paralegal")
    await start_session(client, person.email, PASSWORD)
    assert (await client.delete("/api/v1/auth/session")).status_code == 403
    out = await client.delete("/api/v1/auth/session", headers=WEB)
    assert out.status_code == 204
    assert f'{SESSION_COOKIE}=""' in out.headers["set-cookie"]
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_secure_cookie_in_production(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, app: object
) -> None:
    person = await make_person(db, settings, "paralegal")
    state = app.state  # type: ignore[attr-defined]
    state.settings = settings.model_copy(update={"env": "prod"})
    try:
        response = await start_session(client, person.email, PASSWORD)
    finally:
        state.settings = settings
    assert "Secure" in response.headers["set-cookie"]


async def test_change_own_password(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    person = await make_person(db, settings, "paralegal")
    await start_session(client, person.email, PASSWORD)
    new = "a-new-long-passphrase"
    wrong = await client.post(
        "/api/v1/me/password",
        json={"current_password": "not-it-at-all", "new_password": new},
        headers=WEB,
    )
    assert wrong.status_code == 403
    short = await client.post(
        "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "x"}, headers=WEB
    )
    assert short.status_code == 422
    changed = await client.post(
        "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": new}, headers=WEB
    )
    assert changed.status_code == 204
    assert f"{SESSION_COOKIE}=" in changed.headers["set-cookie"]  # the browser stays signed in
    assert (await client.get("/api/v1/me")).status_code == 200
    # every other session and token of the user has ended
    assert (await client.get("/api/v1/me", headers=person.headers)).status_code == 401
    client.cookies.clear()
    assert (await start_session(client, person.email, PASSWORD)).status_code == 401
    assert (await start_session(client, person.email, new)).status_code == 200
