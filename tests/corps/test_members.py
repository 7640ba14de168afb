"""Users: the role table for managing people, and org_admin's limits."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from corps.organizations.models import Organization
from corps.settings import Settings
from testing.factories import make_org, make_person, unique


def new_user(role: str, organization_id: object = None) -> dict[str, object]:
    body: dict[str, object] = {
        "email": f"{unique('u')}@example.org",
        "name": "New Person",
        "password": "a-long-enough-password",
        "role": role,
    }
    if organization_id:
        body["organization_id"] = str(organization_id)
    return body


@pytest.mark.parametrize("role", ["paralegal", "org_admin", "coordinator", "campaigner", "admin"])
async def test_admin_creates_any_role_in_any_organization(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, role: str
) -> None:
    admin = await make_person(db, settings, "admin")
    other = await make_org(db)
    response = await client.post(
        "/api/v1/users", json=new_user(role, other.id), headers=admin.headers
    )
    assert response.status_code == 201
    assert response.json()["organization_id"] == str(other.id)
    assert "password" not in response.text and "hash" not in response.text


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("paralegal", 201),
        ("org_admin", 201),
        ("coordinator", 403),
        ("campaigner", 403),
        ("admin", 403),
    ],
)
async def test_org_admin_grants_only_organization_roles(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, role: str, expected: int
) -> None:
    org_admin = await make_person(db, settings, "org_admin")
    response = await client.post("/api/v1/users", json=new_user(role), headers=org_admin.headers)
    assert response.status_code == expected
    if expected == 201:
        assert response.json()["organization_id"] == str(org_admin.organization_id)


async def test_org_admin_cannot_create_users_in_another_organization(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    org_admin = await make_person(db, settings, "org_admin")
    other = await make_org(db)
    response = await client.post(
        "/api/v1/users", json=new_user("paralegal", other.id), headers=org_admin.headers
    )
    assert response.status_code == 404


@pytest.mark.parametrize("role", ["paralegal", "coordinator", "campaigner"])
async def test_roles_without_user_management_get_403(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, role: str
) -> None:
    person = await make_person(db, settings, role)
    assert (await client.get("/api/v1/users", headers=person.headers)).status_code == 403
    created = await client.post("/api/v1/users", json=new_user("paralegal"), headers=person.headers)
    assert created.status_code == 403


async def test_org_admin_sees_and_touches_only_own_organizations_users(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    org_admin = await make_person(db, settings, "org_admin")
    colleague = await make_person(
        db, settings, "paralegal", await db.get(Organization, org_admin.organization_id)
    )
    stranger = await make_person(db, settings, "paralegal")
    listed = await client.get("/api/v1/users", params={"limit": 500}, headers=org_admin.headers)
    ids = {item["id"] for item in listed.json()["items"]}
    assert str(colleague.id) in ids and str(stranger.id) not in ids
    assert {item["organization_id"] for item in listed.json()["items"]} == {
        str(org_admin.organization_id)
    }
    for method, body in [("GET", None), ("PATCH", {"name": "Renamed", "active": False})]:
        response = await client.request(
            method, f"/api/v1/users/{stranger.id}", json=body, headers=org_admin.headers
        )
        assert response.status_code == 404
    assert (await client.get("/api/v1/me", headers=stranger.headers)).json()["name"] == "Paralegal"


async def test_duplicate_email_is_a_conflict_whatever_its_case(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_person(db, settings, "admin")
    body = new_user("paralegal")
    assert (await client.post("/api/v1/users", json=body, headers=admin.headers)).status_code == 201
    body["email"] = str(body["email"]).upper()
    assert (await client.post("/api/v1/users", json=body, headers=admin.headers)).status_code == 409


async def test_deactivating_a_user_ends_their_access(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    org_admin = await make_person(db, settings, "org_admin")
    paralegal = await make_person(db, settings, "paralegal")
    admin = await make_person(db, settings, "admin")
    response = await client.patch(
        f"/api/v1/users/{paralegal.id}", json={"active": False}, headers=admin.headers
    )
    assert response.status_code == 200 and response.json()["active"] is False
    assert (await client.get("/api/v1/me", headers=paralegal.headers)).status_code == 401
    assert (await client.get("/api/v1/me", headers=org_admin.headers)).status_code == 200
