"""Suggestions a coordinator would agree with, across organizations only, seen as allowed."""

from __future__ import annotations

import math

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import make_case, make_org, make_person, unique


def near(lon: float, lat: float, east_km: float) -> dict[str, object]:
    shift = east_km * 1000 / (6_371_008.8 * math.cos(math.radians(lat)))
    return {"type": "Point", "coordinates": [lon + math.degrees(shift), lat]}


async def suggestions(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict]:
    """Recompute (a GET only reads), then read the suggestions as the holder of `headers`."""
    refreshed = await client.post("/api/v1/advocacy/suggestions/refresh", headers=headers)
    assert refreshed.status_code == 200, refreshed.text
    response = await client.get("/api/v1/advocacy/suggestions", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["x-suggestions-state"] == "fresh"
    return list(response.json())


async def test_one_mining_group_under_several_spellings_and_a_subsidiary_is_one_suggestion(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    group = unique("Kestrel Minerals Group ")
    coordinator = await make_person(db, settings, "coordinator")
    orgs = [
        await make_person(db, settings, "paralegal", await make_org(db, country=c))
        for c in ("SL", "LR", "GH")
    ]
    spellings = [f"{group} Ltd.", f"{group.upper()} LIMITED", f"{group} S.A."]
    for person, spelling, country in zip(orgs, spellings, ("SL", "LR", "GH"), strict=True):
        await make_case(
            client, person, country=country, respondents=[{"name": spelling, "kind": "company"}]
        )
    subsidiary = await make_case(
        client,
        orgs[0],
        country="SL",
        respondents=[{"name": f"{group} Subsidiary Sierra Leone", "kind": "company"}],
    )
    # A coordinator records the subsidiary under its group.
    sub_actor = subsidiary["respondents"][0]["actor_id"]
    group_actor = (
        await client.get("/api/v1/actors", params={"q": group}, headers=coordinator.headers)
    ).json()
    parent = next(a for a in group_actor if a["id"] != sub_actor)
    grouped = await client.patch(
        f"/api/v1/actors/{sub_actor}", json={"parent_id": parent["id"]}, headers=coordinator.headers
    )
    assert grouped.status_code == 200
    found = [
        s
        for s in await suggestions(client, coordinator.headers)
        if s["reason"] == "shared_respondent" and s["respondent"]["actor_id"] == parent["id"]
    ]
    assert len(found) == 1
    assert len(found[0]["case_ids"]) == 4 and len(found[0]["organization_ids"]) == 3
    assert "3 organizations and 3 countries" in found[0]["explanation"]
    assert "Subsidiary" in found[0]["explanation"]


async def test_cases_of_one_organization_are_never_suggested(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    name = unique("Solo Quarry ")
    coordinator = await make_person(db, settings, "coordinator")
    paralegal = await make_person(db, settings, "paralegal")
    for _ in range(3):
        await make_case(client, paralegal, respondents=[{"name": name, "kind": "company"}])
    # The test's transaction holds no other case, so there is nothing at all to suggest.
    assert await suggestions(client, coordinator.headers) == []


async def test_water_cases_near_each_other_across_a_border_are_suggested(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    coordinator = await make_person(db, settings, "coordinator")
    ug = await make_person(db, settings, "paralegal", await make_org(db, country="UG"))
    cd = await make_person(db, settings, "paralegal", await make_org(db, country="CD"))
    lon, lat = 29.95, 0.55  # Lake Albert
    case_ug = await make_case(
        client, ug, country="UG", issue_types=["water_pollution"], geometry=near(lon, lat, 0)
    )
    case_cd = await make_case(
        client, cd, country="CD", issue_types=["fisheries"], geometry=near(lon, lat, 12)
    )
    await make_case(client, cd, country="CD", issue_types=["land_grab"], geometry=near(lon, lat, 5))
    far = await make_case(
        client, cd, country="CD", issue_types=["water_access"], geometry=near(lon, lat, 90)
    )
    found = [
        s
        for s in await suggestions(client, coordinator.headers)
        if s["reason"] == "proximity" and case_ug["id"] in s["case_ids"]
    ]
    assert len(found) == 1
    assert set(found[0]["case_ids"]) == {case_ug["id"], case_cd["id"]}
    assert far["id"] not in found[0]["case_ids"]
    assert "across CD and UG" in found[0]["explanation"]


async def test_a_paralegal_sees_suggestions_naming_only_their_own_cases(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    name = unique("Shared Respondent ")
    a = await make_person(db, settings, "paralegal")
    b = await make_person(db, settings, "paralegal")
    stranger = await make_person(db, settings, "paralegal")
    mine = await make_case(client, a, respondents=[{"name": name, "kind": "company"}])
    theirs = await make_case(client, b, respondents=[{"name": name, "kind": "company"}])
    seen = [
        s
        for s in await suggestions(client, a.headers)
        if s["respondent"] and s["respondent"].get("name") == name
    ]
    assert len(seen) == 1 and seen[0]["case_ids"] == [mine["id"]]
    assert len(seen[0]["organization_ids"]) == 2  # they learn another organization faces it
    assert theirs["id"] not in str(await suggestions(client, a.headers))
    assert not [
        s
        for s in await suggestions(client, stranger.headers)
        if s["respondent"] and s["respondent"].get("name") == name
    ]


async def test_look_alike_names_become_merge_candidates_and_a_merge_joins_their_cases(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    stem = unique("Zanzibar Seaweed Exporters ")
    coordinator = await make_person(db, settings, "coordinator")
    a = await make_person(db, settings, "paralegal")
    b = await make_person(db, settings, "paralegal")
    one = await make_case(client, a, respondents=[{"name": stem, "kind": "company"}])
    two = await make_case(
        client, b, respondents=[{"name": stem + "Co-operative", "kind": "company"}]
    )
    assert one["respondents"][0]["actor_id"] != two["respondents"][0]["actor_id"]
    await suggestions(client, coordinator.headers)  # refreshes, and looks for look-alikes
    pending = (
        await client.get("/api/v1/actors/merge-candidates", headers=coordinator.headers)
    ).json()
    pair = next(
        c
        for c in pending
        if {c["actor_a"]["id"], c["actor_b"]["id"]}
        == {one["respondents"][0]["actor_id"], two["respondents"][0]["actor_id"]}
    )
    assert (
        await client.get("/api/v1/actors/merge-candidates", headers=a.headers)
    ).status_code == 403
    keep = one["respondents"][0]["actor_id"]
    confirmed = await client.post(
        f"/api/v1/actors/merge-candidates/{pair['id']}/confirm",
        params={"keep": keep},
        headers=coordinator.headers,
    )
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    moved = (await client.get(f"/api/v1/cases/{two['id']}", headers=b.headers)).json()
    assert moved["respondents"][0]["actor_id"] == keep
    assert moved["respondents"][0]["name"] == stem + "Co-operative"  # as the paralegal wrote it
    later = await make_case(
        client, b, respondents=[{"name": stem + "Co-operative", "kind": "company"}]
    )
    assert later["respondents"][0]["actor_id"] == keep  # new cases resolve through the merge
    again = await client.post(
        f"/api/v1/actors/merge-candidates/{pair['id']}/reject", headers=coordinator.headers
    )
    assert again.status_code == 409
