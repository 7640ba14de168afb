"""Flags and campaigns: who may make them, and campaigners see exactly the campaigns' cases."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import make_case, make_person


async def test_a_paralegal_flags_own_case_but_not_another_organizations(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    stranger = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    flagged = await client.post(
        f"/api/v1/cases/{case['id']}/flags",
        json={"reason": "Same quarry as the Tanzanian cases"},
        headers=paralegal.headers,
    )
    assert flagged.status_code == 201 and flagged.json()["flagged_by"] == str(paralegal.id)
    assert (
        await client.post(
            f"/api/v1/cases/{case['id']}/flags",
            json={"reason": "mine now"},
            headers=stranger.headers,
        )
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/cases/{case['id']}/flags", headers=stranger.headers)
    ).status_code == 404
    flags = (
        await client.get(f"/api/v1/cases/{case['id']}/flags", headers=paralegal.headers)
    ).json()
    assert [f["reason"] for f in flags] == ["Same quarry as the Tanzanian cases"]


async def test_a_coordinator_groups_cases_of_two_organizations_into_a_campaign(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    a = await make_person(db, settings, "paralegal")
    b = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    case_a, case_b = await make_case(client, a), await make_case(client, b)
    created = await client.post(
        "/api/v1/campaigns",
        headers=coordinator.headers,
        json={
            "title": "Acme Quarries across the region",
            "rationale": "One company, many villages",
            "target": "National Environment Agency",
            "case_ids": [case_a["id"], case_b["id"]],
        },
    )
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert campaign["case_count"] == 2 and campaign["organization_count"] == 2
    url = f"/api/v1/campaigns/{campaign['id']}"
    # A paralegal sees the campaign that holds their case, and only their own case in it.
    seen_by_a = (await client.get(url, headers=a.headers)).json()
    assert [c["id"] for c in seen_by_a["cases"]] == [case_a["id"]]
    assert seen_by_a["case_count"] == 2
    removed = await client.delete(f"{url}/cases/{case_b['id']}", headers=coordinator.headers)
    assert removed.status_code == 204
    assert (await client.get(url, headers=b.headers)).status_code == 404
    again = await client.post(f"{url}/cases/{case_b['id']}", headers=coordinator.headers)
    assert again.status_code == 200 and again.json()["case_count"] == 2


@pytest.mark.parametrize("role", ["paralegal", "org_admin", "campaigner"])
async def test_only_coordinators_and_admins_manage_campaigns(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, role: str
) -> None:
    person = await make_person(db, settings, role)
    response = await client.post(
        "/api/v1/campaigns",
        headers=person.headers,
        json={"title": "Mine", "rationale": "Because", "case_ids": []},
    )
    assert response.status_code == 403


async def test_campaigners_read_exactly_the_cases_of_campaigns_generalized_at_partner_level(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    campaigner = await make_person(db, settings, "campaigner")
    exact = {"type": "Point", "coordinates": [36.8123, -1.2876]}
    inside = await make_case(client, paralegal, sensitivity="sensitive", geometry=exact)
    outside = await make_case(client, paralegal)
    await client.post(
        "/api/v1/campaigns",
        headers=coordinator.headers,
        json={"title": "Dust", "rationale": "Schools", "case_ids": [inside["id"]]},
    )
    assert (
        await client.get(f"/api/v1/cases/{outside['id']}", headers=campaigner.headers)
    ).status_code == 404
    seen = (await client.get(f"/api/v1/cases/{inside['id']}", headers=campaigner.headers)).json()
    assert seen["generalized"] is True and seen["geometry"]["type"] == "Polygon"
    listed = (
        await client.get(
            "/api/v1/cases",
            headers=campaigner.headers,
            params={"organization_id": str(paralegal.organization_id)},
        )
    ).json()
    assert [c["id"] for c in listed["items"]] == [inside["id"]]
    assert (
        await client.patch(
            f"/api/v1/cases/{inside['id']}", json={"title": "changed"}, headers=campaigner.headers
        )
    ).status_code == 403


async def test_a_campaign_cannot_take_a_case_the_coordinator_cannot_name(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    coordinator = await make_person(db, settings, "coordinator")
    response = await client.post(
        "/api/v1/campaigns",
        headers=coordinator.headers,
        json={
            "title": "Ghost",
            "rationale": "None",
            "case_ids": ["00000000-0000-0000-0000-000000000009"],
        },
    )
    assert response.status_code == 404


async def test_respondent_resolution_is_for_coordinators_and_people_stay_private(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    case = await make_case(
        client,
        paralegal,
        respondents=[{"name": "Chief Obadiah Mwangi-Testperson", "kind": "other"}],
    )
    actor_id = case["respondents"][0]["actor_id"]
    other = await make_person(db, settings, "paralegal")
    found = (
        await client.get(
            "/api/v1/actors", params={"q": "Obadiah Mwangi-Testperson"}, headers=other.headers
        )
    ).json()
    assert actor_id not in {a["id"] for a in found}
    found = (
        await client.get(
            "/api/v1/actors", params={"q": "Obadiah Mwangi-Testperson"}, headers=coordinator.headers
        )
    ).json()
    assert actor_id in {a["id"] for a in found}
    for role in ["paralegal", "org_admin", "campaigner"]:
        person = await make_person(db, settings, role)
        response = await client.patch(
            f"/api/v1/actors/{actor_id}", json={"parent_id": None}, headers=person.headers
        )
        assert response.status_code == 403


@pytest.mark.committed  # time must pass between requests: now() stands still in one transaction
async def test_campaigns_are_listed_by_page(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    coordinator = await make_person(db, settings, "coordinator")
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    made = [
        (
            await client.post(
                "/api/v1/campaigns",
                headers=coordinator.headers,
                json={
                    "title": f"Campaign {n}",
                    "rationale": "Same quarry",
                    "case_ids": [case["id"]],
                },
            )
        ).json()["id"]
        for n in range(3)
    ]
    first = (
        await client.get("/api/v1/campaigns", params={"limit": 2}, headers=coordinator.headers)
    ).json()
    rest = (
        await client.get(
            "/api/v1/campaigns",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=coordinator.headers,
        )
    ).json()
    listed = [c["id"] for c in first["items"] + rest["items"]]
    assert listed[:3] == made[::-1] and first["items"][0]["case_count"] == 1
    mine = (await client.get("/api/v1/campaigns", headers=paralegal.headers)).json()["items"]
    assert {c["id"] for c in mine} == set(made)
