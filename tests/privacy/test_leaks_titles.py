"""Leak 5: titles name places; generalized cases and public exports show neutral titles."""

from __future__ import annotations

import json

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import make_case, make_org, make_person

PALM_BAY = "Community land fenced off at Palm Bay"
SEWA = "Tailings in the Sewa river"


async def export(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> httpx.Response:
    response = await client.get("/api/v1/cases/export", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response


async def test_partner_and_public_exports_show_neutral_titles(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    org = await make_org(db, country="SL")
    owner = await make_person(db, settings, "paralegal", org)
    coordinator = await make_person(db, settings, "coordinator")
    hidden = await make_case(
        client,
        owner,
        title=PALM_BAY,
        issue_types=["land_grab"],
        country="SL",
        sensitivity="high_risk",
        opened_on="2026-02-01",
    )
    plain = await make_case(
        client,
        owner,
        title=SEWA,
        issue_types=["mining", "water_pollution"],
        country="SL",
        opened_on="2026-03-01",
    )
    scope = {"organization_id": str(owner.organization_id)}
    for fmt in ("geojson", "csv", "kml", "gpkg"):
        partner = await export(client, coordinator.headers, format=fmt, level="partner", **scope)
        assert PALM_BAY.encode() not in partner.content, fmt
        assert SEWA.encode() in partner.content, fmt  # not generalized: its own title
        public = await export(client, coordinator.headers, format=fmt, level="public", **scope)
        assert SEWA.encode() not in public.content and PALM_BAY.encode() not in public.content
        assert b"Mining and water pollution case, Sierra Leone, 2026" in public.content, fmt

    internal = json.loads(
        (await export(client, coordinator.headers, format="geojson", **scope)).content
    )
    by_id = {f["id"]: f["properties"] for f in internal["features"]}
    # The coordinator sees another organization's high-risk case generalized: neutral title.
    assert by_id[hidden["id"]]["title"] == "Land grab case, Sierra Leone, 2026"
    assert by_id[plain["id"]]["title"] == SEWA


async def test_a_generalized_case_reads_with_its_neutral_title_everywhere(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    org = await make_org(db, country="SL")
    owner = await make_person(db, settings, "paralegal", org)
    coordinator = await make_person(db, settings, "coordinator")
    hidden = await make_case(
        client,
        owner,
        title=PALM_BAY,
        issue_types=["land_grab"],
        country="SL",
        sensitivity="high_risk",
        opened_on="2026-02-01",
        place_name="Palm Bay",
    )
    paths = [
        f"/api/v1/cases/{hidden['id']}",
        "/api/v1/cases?" + f"organization_id={owner.organization_id}",
        f"/ogc/collections/cases/items/{hidden['id']}",
        f"/ogc/collections/cases/items?limit=1000&organization_id={owner.organization_id}",
    ]
    for path in paths:
        response = await client.get(path, headers=coordinator.headers)
        assert response.status_code == 200, (path, response.text)
        assert "Palm Bay" not in response.text, path
    read = (await client.get(paths[0], headers=coordinator.headers)).json()
    assert read["title"] == "Land grab case, Sierra Leone, 2026"
    own = (await client.get(paths[0], headers=owner.headers)).json()
    assert own["title"] == PALM_BAY and own["place_name"] == "Palm Bay"
