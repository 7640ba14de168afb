"""Tenant isolation and roles for every case endpoint: another organization's case is a 404."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import case_body, make_case, make_person

EVENT = {"kind": "note", "occurred_on": "2026-03-02", "description": "Visited the site"}


def case_endpoints(case_id: str) -> list[tuple[str, str, dict[str, object] | None]]:
    """Every route that takes a case id, with a body that would succeed for its owner."""
    return [
        ("GET", f"/api/v1/cases/{case_id}", None),
        ("PATCH", f"/api/v1/cases/{case_id}", {"title": "Hijacked title"}),
        ("DELETE", f"/api/v1/cases/{case_id}", None),
        ("GET", f"/api/v1/cases/{case_id}/events", None),
        ("POST", f"/api/v1/cases/{case_id}/events", EVENT),
    ]


@pytest.mark.parametrize("role", ["paralegal", "org_admin", "campaigner"])
async def test_other_organizations_get_404_on_every_case_endpoint_and_nothing_changes(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, role: str
) -> None:
    owner = await make_person(db, settings, "paralegal")
    outsider = await make_person(db, settings, role)
    case = await make_case(client, owner)
    for method, url, body in case_endpoints(str(case["id"])):
        response = await client.request(method, url, json=body, headers=outsider.headers)
        assert response.status_code == 404, (method, url, response.status_code)
        assert response.headers["content-type"] == "application/problem+json"
    after = (await client.get(f"/api/v1/cases/{case['id']}", headers=owner.headers)).json()
    assert after["title"] == case["title"] and after["version"] == 1
    events = (await client.get(f"/api/v1/cases/{case['id']}/events", headers=owner.headers)).json()
    assert len(events["items"]) == 1
    listed = (
        await client.get("/api/v1/cases", params={"limit": 500}, headers=outsider.headers)
    ).json()["items"]
    assert case["id"] not in {c["id"] for c in listed}
    searched = (
        await client.get(
            "/api/v1/cases", params={"q": "Kilimani", "limit": 500}, headers=outsider.headers
        )
    ).json()["items"]
    assert case["id"] not in {c["id"] for c in searched}
    if role != "campaigner":  # campaigners read campaign cases of every organization
        assert all(c["organization_id"] == str(outsider.organization_id) for c in searched)


@pytest.mark.parametrize("role", ["coordinator", "admin"])
async def test_coordinators_and_admins_read_every_case(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, role: str
) -> None:
    owner = await make_person(db, settings, "paralegal")
    reader = await make_person(db, settings, role)
    case = await make_case(client, owner)
    assert (
        await client.get(f"/api/v1/cases/{case['id']}", headers=reader.headers)
    ).status_code == 200
    events = await client.get(f"/api/v1/cases/{case['id']}/events", headers=reader.headers)
    assert events.status_code == 200
    listed = (
        await client.get(
            "/api/v1/cases",
            params={"organization_id": str(owner.organization_id)},
            headers=reader.headers,
        )
    ).json()["items"]
    assert [c["id"] for c in listed] == [case["id"]]


async def test_a_coordinator_reads_but_cannot_change_or_create_cases(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    case = await make_case(client, owner)
    for method, url, body in (
        case_endpoints(str(case["id"]))[1:3] + case_endpoints(str(case["id"]))[4:]
    ):
        response = await client.request(method, url, json=body, headers=coordinator.headers)
        assert response.status_code == 403, (method, url)
    created = await client.post("/api/v1/cases", json=case_body(), headers=coordinator.headers)
    assert created.status_code == 403


async def test_an_admin_may_record_a_case_for_any_organization_but_a_paralegal_may_not(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_person(db, settings, "admin")
    paralegal = await make_person(db, settings, "paralegal")
    target = str(paralegal.organization_id)
    by_admin = await client.post(
        "/api/v1/cases", json=case_body(organization_id=target), headers=admin.headers
    )
    assert by_admin.status_code == 201 and by_admin.json()["organization_id"] == target
    other = await make_person(db, settings, "paralegal")
    refused = await client.post(
        "/api/v1/cases", json=case_body(organization_id=target), headers=other.headers
    )
    assert refused.status_code == 404


async def test_case_endpoints_need_a_token(client: httpx.AsyncClient) -> None:
    for method, url, body in [
        ("GET", "/api/v1/cases", None),
        ("POST", "/api/v1/cases", case_body()),
        *case_endpoints("00000000-0000-0000-0000-000000000001"),
    ]:
        response = await client.request(method, url, json=body)
        assert response.status_code == 401, (method, url)


async def test_issue_types_are_listed_for_all_and_added_by_coordinators(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    codes = {
        t["code"]
        for t in (await client.get("/api/v1/issue-types", headers=paralegal.headers)).json()
    }
    assert {"land_grab", "mining", "climate_displacement", "other"} <= codes
    body = {"code": f"sand_mining_{coordinator.id.hex[:6]}", "label": "Sand mining"}
    assert (
        await client.post("/api/v1/issue-types", json=body, headers=paralegal.headers)
    ).status_code == 403
    assert (
        await client.post("/api/v1/issue-types", json=body, headers=coordinator.headers)
    ).status_code == 201
    case = await make_case(client, paralegal, issue_types=[body["code"]])
    assert case["issue_types"] == [body["code"]]
