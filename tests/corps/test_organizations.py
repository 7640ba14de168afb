"""Organizations: who may create, read and change them."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import make_org, make_person, unique

ALL_ROLES = ["paralegal", "org_admin", "coordinator", "campaigner", "admin"]


def new_org_body() -> dict[str, str]:
    return {"name": "Delta Rivers Watch", "slug": unique("drw-"), "country": "ng"}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("admin", 201),
        ("coordinator", 201),
        ("org_admin", 403),
        ("paralegal", 403),
        ("campaigner", 403),
    ],
)
async def test_only_admins_and_coordinators_create_organizations(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, role: str, expected: int
) -> None:
    person = await make_person(db, settings, role)
    response = await client.post(
        "/api/v1/organizations", json=new_org_body(), headers=person.headers
    )
    assert response.status_code == expected
    if expected == 201:
        assert response.json()["country"] == "NG"


async def test_creating_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/organizations", json=new_org_body())
    assert response.status_code == 401


async def test_a_taken_slug_is_a_conflict(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_person(db, settings, "admin")
    body = new_org_body()
    assert (
        await client.post("/api/v1/organizations", json=body, headers=admin.headers)
    ).status_code == 201
    again = await client.post("/api/v1/organizations", json=body, headers=admin.headers)
    assert again.status_code == 409
    assert again.json()["type"].endswith("conflict")


async def test_country_must_be_iso_3166(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_person(db, settings, "admin")
    body = {**new_org_body(), "country": "XX"}
    response = await client.post("/api/v1/organizations", json=body, headers=admin.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "country"]


@pytest.mark.parametrize("role", ALL_ROLES)
async def test_every_role_can_list_and_read_organizations(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, role: str
) -> None:
    org = await make_org(db, country="SL")
    person = await make_person(db, settings, role)
    listed = await client.get(
        "/api/v1/organizations", params={"country": "SL", "limit": 500}, headers=person.headers
    )
    assert listed.status_code == 200
    assert str(org.id) in {item["id"] for item in listed.json()["items"]}
    one = await client.get(f"/api/v1/organizations/{org.id}", headers=person.headers)
    assert one.status_code == 200 and one.json()["slug"] == org.slug


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("admin", 200),
        ("coordinator", 200),
        ("org_admin", 403),
        ("paralegal", 403),
        ("campaigner", 403),
    ],
)
async def test_only_admins_and_coordinators_change_organizations(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, role: str, expected: int
) -> None:
    org = await make_org(db)
    person = await make_person(db, settings, role, org)
    response = await client.patch(
        f"/api/v1/organizations/{org.id}", json={"region": "Coast"}, headers=person.headers
    )
    assert response.status_code == expected
    after = await client.get(f"/api/v1/organizations/{org.id}", headers=person.headers)
    assert after.json()["region"] == ("Coast" if expected == 200 else "Test")


async def test_listing_pages_with_a_cursor_without_repeats(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    person = await make_person(db, settings, "paralegal")
    for _ in range(5):
        await make_org(db, country="MM")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"country": "MM", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (
            await client.get("/api/v1/organizations", params=params, headers=person.headers)
        ).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) >= 5


async def test_a_cursor_that_was_not_made_here_is_a_422(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    person = await make_person(db, settings, "paralegal")
    response = await client.get(
        "/api/v1/organizations", params={"cursor": "!!nonsense"}, headers=person.headers
    )
    assert response.status_code == 422
