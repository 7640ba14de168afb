"""Every error is RFC 9457 application/problem+json."""

from __future__ import annotations

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncSession

from corps.app import create_app
from corps.settings import Settings
from testing.factories import make_person


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    return body


async def test_problem_shapes_for_401_403_404_405_409_422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    admin = await make_person(db, settings, "admin")
    assert_problem(await client.get("/api/v1/me"), 401)
    assert_problem(await client.get("/api/v1/users", headers=paralegal.headers), 403)
    assert_problem(
        await client.get(
            "/api/v1/organizations/00000000-0000-0000-0000-000000000000", headers=admin.headers
        ),
        404,
    )
    assert_problem(await client.get("/api/v1/no-such-path", headers=admin.headers), 404)
    assert_problem(await client.delete("/api/v1/me", headers=admin.headers), 405)
    body = {"name": "Dup Org", "slug": f"dup-{paralegal.id.hex[:8]}", "country": "IN"}
    await client.post("/api/v1/organizations", json=body, headers=admin.headers)
    assert_problem(
        await client.post("/api/v1/organizations", json=body, headers=admin.headers), 409
    )
    invalid = assert_problem(
        await client.post("/api/v1/organizations", json={"slug": 5}, headers=admin.headers), 422
    )
    errors = invalid["errors"]
    assert isinstance(errors, list)
    assert {tuple(e["loc"]) for e in errors} >= {("body", "name"), ("body", "country")}
    assert all(set(e) == {"loc", "msg"} for e in errors)


async def test_malformed_json_is_a_422_problem(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_person(db, settings, "admin")
    response = await client.post(
        "/api/v1/organizations",
        content=b"{not json",
        headers={**admin.headers, "content-type": "application/json"},
    )
    assert_problem(response, 422)


async def test_an_unexpected_failure_is_a_500_without_internals(settings: Settings) -> None:
    app = create_app(settings)

    async def explode() -> None:
        raise RuntimeError("password=hunter2 at /srv/secret/path.py")

    app.add_api_route("/explode", explode)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/explode")
    body = assert_problem(response, 500)
    assert "hunter2" not in response.text and "secret" not in response.text
    assert body["type"] == "urn:ejcorps:problem:internal-error"
