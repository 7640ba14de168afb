"""Public titles and notes: kept, shown where the case is generalized and at public level."""

from __future__ import annotations

import json
import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.dossiers.content import load_content
from corps.auth.actor import Actor, Role
from corps.settings import Settings
from geo.privacy import Level
from testing.factories import make_case, make_org, make_person

TITLE = "Evictions at Kiwanja Mpya landing"
PUBLIC = "Fishing community evicted from its landing site"


async def test_a_public_title_is_kept_and_shown_where_the_case_is_generalized(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_person(db, settings, "paralegal", await make_org(db, country="TZ"))
    coordinator = await make_person(db, settings, "coordinator")
    case = await make_case(
        client,
        owner,
        title=TITLE,
        public_title=PUBLIC,
        country="TZ",
        issue_types=["fisheries", "land_grab"],
        sensitivity="high_risk",
    )
    assert case["title"] == TITLE and case["public_title"] == PUBLIC
    url = f"/api/v1/cases/{case['id']}"
    seen = (await client.get(url, headers=coordinator.headers)).json()
    assert seen["title"] == PUBLIC and seen["generalized"] is True
    assert seen["summary"] == "" and seen["place_name"] is None

    cleared = await client.patch(
        url, json={"public_title": None}, headers={**owner.headers, "If-Match": "1"}
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["public_title"] is None and cleared.json()["title"] == TITLE
    neutral = (await client.get(url, headers=coordinator.headers)).json()["title"]
    assert neutral == f"Fisheries and land grab case, Tanzania, {case['created_at'][:4]}"


async def test_a_public_export_carries_the_public_title(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_person(db, settings, "paralegal")
    await make_case(client, owner, title=TITLE, public_title=PUBLIC)
    response = await client.get(
        "/api/v1/cases/export",
        params={"format": "geojson", "level": "public"},
        headers=owner.headers,
    )
    titles = {f["properties"]["title"] for f in json.loads(response.content)["features"]}
    assert PUBLIC in titles and TITLE not in titles


async def test_public_notes_are_kept_and_carried_by_public_dossiers(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_person(db, settings, "paralegal")
    case = await make_case(client, owner)
    event = {
        "kind": "remedy",
        "occurred_on": "2026-03-17",
        "remedy": "mediation",
        "description": "Met the quarry manager at Kilimani chief's office",
        "public_note": "Mediation with the company began",
    }
    created = await client.post(
        f"/api/v1/cases/{case['id']}/events", json=event, headers=owner.headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["public_note"] == event["public_note"]
    listed = (await client.get(f"/api/v1/cases/{case['id']}/events", headers=owner.headers)).json()
    assert event["public_note"] in [e["public_note"] for e in listed["items"]]

    actor = Actor(owner.id, owner.email, Role.paralegal, owner.organization_id)
    async with async_sessionmaker(db.bind)() as session:
        content = await load_content(session, actor, Level.public, [uuid.UUID(case["id"])], None)
    (section,) = content.cases
    remedy = next(e for e in section.events if e["kind"] == "remedy")
    assert remedy["occurred_on"] == "2026-03" and remedy["remedy"] == "mediation"
    assert remedy["public_note"] == event["public_note"]
    assert section.title != "Quarry dust over Kilimani school"
