"""Reading suggestions writes nothing; a refresh or a case change recomputes them; issue types
a coordinator adds take part through their family."""

from __future__ import annotations

import time

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cases.advocacy.jobs import FINGERPRINT_KEY, SOON_S
from corps.settings import Settings
from testing.factories import make_case, make_org, make_person, unique
from tests.cases.advocacy.test_suggestions import near, suggestions

STORED = text(
    "SELECT count(*), md5(coalesce(string_agg(id::text || score::text, ',' ORDER BY id), '')) "
    "FROM advocacy_suggestions"
)


async def test_a_get_of_suggestions_writes_nothing_and_says_they_are_stale(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, settings: Settings
) -> None:
    coordinator = await make_person(db, settings, "coordinator")
    await suggestions(client, coordinator.headers)  # a known, fresh starting point
    company = unique("Stale Read Quarries ")
    for _ in range(2):
        person = await make_person(db, settings, "paralegal")
        await make_case(client, person, respondents=[{"name": company, "kind": "company"}])
    before, fingerprint = (await db.execute(STORED)).one(), await app.state.arq.get(FINGERPRINT_KEY)

    response = await client.get("/api/v1/advocacy/suggestions", headers=coordinator.headers)

    assert response.status_code == 200, response.text
    assert response.headers["x-suggestions-state"] == "stale"
    assert company not in response.text
    await db.rollback()  # a fresh snapshot
    assert (await db.execute(STORED)).one() == before
    assert await app.state.arq.get(FINGERPRINT_KEY) == fingerprint
    refreshed = await client.post(
        "/api/v1/advocacy/suggestions/refresh", headers=coordinator.headers
    )
    assert refreshed.status_code == 200 and refreshed.json() == {"state": "computed"}
    again = await client.post("/api/v1/advocacy/suggestions/refresh", headers=coordinator.headers)
    assert again.json() == {"state": "fresh"}
    assert company in str(await suggestions(client, coordinator.headers))


async def test_a_case_change_queues_a_recompute_soon(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, settings: Settings
) -> None:
    person = await make_person(db, settings, "paralegal")
    first = int(time.time() // SOON_S)
    await make_case(client, person)
    last = int(time.time() // SOON_S)
    queued = [
        await app.state.arq.exists(f"arq:job:advocacy-suggest:soon:{w}")
        for w in range(first, last + 1)
    ]
    assert any(queued)


async def test_an_issue_type_a_coordinator_adds_takes_part_through_its_family(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    coordinator = await make_person(db, settings, "coordinator")
    code = f"lake_dredging_{coordinator.id.hex[:6]}"
    added = await client.post(
        "/api/v1/issue-types",
        json={"code": code, "label": "Lake dredging", "family": "water"},
        headers=coordinator.headers,
    )
    assert added.status_code == 201 and added.json()["family"] == "water"
    mw = await make_person(db, settings, "paralegal", await make_org(db, country="MW"))
    mz = await make_person(db, settings, "paralegal", await make_org(db, country="MZ"))
    lon, lat = 34.75, -12.05  # Lake Malawi, far from other test data
    dredged = await make_case(
        client, mw, country="MW", issue_types=[code], geometry=near(lon, lat, 0)
    )
    fished = await make_case(
        client, mz, country="MZ", issue_types=["fisheries"], geometry=near(lon, lat, 8)
    )
    found = [
        s
        for s in await suggestions(client, coordinator.headers)
        if s["reason"] == "proximity" and dredged["id"] in s["case_ids"]
    ]
    assert [set(s["case_ids"]) for s in found] == [{dredged["id"], fished["id"]}]
    assert found[0]["explanation"].startswith("2 water cases")


async def test_an_issue_type_added_without_a_family_is_its_own(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    coordinator = await make_person(db, settings, "coordinator")
    code = f"salt_pans_{coordinator.id.hex[:6]}"
    body = {"code": code, "label": "Salt pans"}
    added = await client.post("/api/v1/issue-types", json=body, headers=coordinator.headers)
    assert added.status_code == 201 and added.json()["family"] == code
    listed = (await client.get("/api/v1/issue-types", headers=coordinator.headers)).json()
    assert {"code": "mining", "family": "extractives"}.items() <= next(
        t for t in listed if t["code"] == "mining"
    ).items()
