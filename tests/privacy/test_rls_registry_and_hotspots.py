"""Issue 9's isolation leaks: the respondent registry and a paralegal's hotspot text search."""

from __future__ import annotations

import random

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import make_case, make_person, unique


async def test_the_registry_shows_a_paralegal_only_their_cases_and_a_corps_count(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    mine = await make_person(db, settings, "paralegal")
    theirs = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    shared, hidden = unique("Sharedco Mining "), unique("Hiddenco Holdings ")
    await make_case(client, mine, respondents=[{"name": shared, "kind": "company"}])
    for sensitivity in ("normal", "high_risk", "high_risk"):
        await make_case(
            client,
            theirs,
            sensitivity=sensitivity,
            respondents=[
                {"name": shared + " Ltd.", "kind": "company"},
                {"name": hidden, "kind": "company"},
            ],
        )

    async def search(person: object, q: str) -> list[dict[str, object]]:
        response = await client.get(
            "/api/v1/actors",
            params={"q": q},
            headers=person.headers,  # type: ignore[attr-defined]
        )
        assert response.status_code == 200, response.text
        return [a for a in response.json() if q.lower() in str(a["name"]).lower()]

    # Named only in another organization's cases: not in a paralegal's registry at all.
    assert await search(mine, hidden) == []
    (found,) = await search(mine, shared)
    assert found["case_count"] == 1  # their own case only
    assert found["corps_case_count"] == 2  # a number: theirs and the normal case; no high-risk
    assert all("Ltd." not in s for s in found["spellings"])  # spellings from their cases only
    # Coordinators keep the whole registry, with every link, for the merge tools.
    (everywhere,) = await search(coordinator, hidden)
    assert everywhere["case_count"] == 3


async def test_a_paralegals_hotspot_text_search_counts_only_their_own_organization(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    mine = await make_person(db, settings, "paralegal")
    theirs = await make_person(db, settings, "paralegal")
    lon, lat = random.uniform(100, 150), random.uniform(-40, -20)
    bbox = f"{lon - 1},{lat - 1},{lon + 1},{lat + 1}"
    place = unique("Palmbay")
    for k in range(3):
        await make_case(
            client,
            theirs,
            sensitivity="high_risk",
            title=f"Community land fenced off at {place}",
            place_name=place,
            country="AU",
            geometry={"type": "Point", "coordinates": [lon + 0.01 * k, lat]},
        )
    params = {"method": "dbscan", "distance_km": 25, "min_cases": 3, "bbox": bbox}

    async def clusters(**extra: str) -> list[int]:
        response = await client.get(
            "/api/v1/hotspots", params={**params, **extra}, headers=mine.headers
        )
        assert response.status_code == 200, response.text
        return [f["properties"]["case_count"] for f in response.json()["features"]]

    # A paralegal's analysis counts only the cases they may read (docs/privacy.md) ...
    assert await clusters() == []
    # ... and a search for text of cases they may not read matches none of them.
    assert await clusters(q=place) == []
    assert await clusters(q=place, organization_id=str(theirs.organization_id)) == []
    for k in range(2):
        await make_case(
            client,
            mine,
            title=f"Our own case at {place}",
            place_name=place,
            country="AU",
            geometry={"type": "Point", "coordinates": [lon + 0.01 * k, lat + 0.01]},
        )
    assert await clusters(q=place, min_cases="2") == [2]  # their own still count
