"""Reference layers: listed by page, served as GeoJSON, and overlapped with cases."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.filters import within_layer_clause
from cases.models import Case
from corps.settings import Settings
from testing.factories import Person, make_case, make_person
from tests.maps.layer_files import (
    box,
    concession_layer,
)


@pytest.fixture
async def coordinator(db: AsyncSession, settings: Settings) -> Person:
    return await make_person(db, settings, "coordinator")


@pytest.mark.committed  # time must pass between requests: now() stands still in one transaction
async def test_layers_are_listed_by_page_and_features_served_as_geojson(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, coordinator: Person
) -> None:
    first = await concession_layer(client, coordinator)
    second = await concession_layer(client, coordinator)
    paralegal = await make_person(db, settings, "paralegal")
    page = (await client.get("/api/v1/layers?limit=1", headers=paralegal.headers)).json()
    assert [item["id"] for item in page["items"]] == [second["id"]]
    page2 = (
        await client.get(
            "/api/v1/layers",
            params={"limit": 1, "cursor": page["next_cursor"]},
            headers=paralegal.headers,
        )
    ).json()
    assert [item["id"] for item in page2["items"]] == [first["id"]]
    assert (await client.get("/api/v1/layers")).status_code == 401

    url = f"/api/v1/layers/{first['id']}/features"
    response = await client.get(url, params={"limit": 1}, headers=paralegal.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    collection = response.json()
    assert collection["type"] == "FeatureCollection" and collection["numberReturned"] == 1
    feature = collection["features"][0]
    assert feature["geometry"]["type"] == "Polygon"
    assert feature["properties"]["name"] == "Kilimani quarry block"
    assert feature["properties"]["attributes"]["holder"] == "Acme"
    rest = (await client.get(url, params={"offset": 1}, headers=paralegal.headers)).json()
    assert [f["properties"]["name"] for f in rest["features"]] == ["Far block"]
    too_many = await client.get(url, params={"limit": 1001}, headers=paralegal.headers)
    assert too_many.status_code == 422
    missing = await client.get(f"/api/v1/layers/{uuid.uuid4()}", headers=paralegal.headers)
    assert missing.status_code == 404


def area_of(case: dict[str, object]) -> float:
    area = case["area_m2"]
    assert isinstance(area, int | float)
    return float(area)


def overlaps_of(response: httpx.Response, layer_id: str) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return [o for o in response.json() if o["layer_id"] == layer_id]


async def test_overlaps_report_the_share_of_a_case_inside_a_concession(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, coordinator: Person
) -> None:
    layer = await concession_layer(client, coordinator)
    paralegal = await make_person(db, settings, "paralegal")
    # Half of this case lies east of the concession's edge at lon 36.795.
    half = await make_case(client, paralegal, geometry=box(36.79, -1.29, 36.80, -1.28))
    point = await make_case(
        client, paralegal, geometry={"type": "Point", "coordinates": [36.785, -1.285]}
    )
    outside = await make_case(client, paralegal, geometry=box(35.0, -1.0, 35.01, -0.99))

    found = overlaps_of(
        await client.get(f"/api/v1/cases/{half['id']}/overlaps", headers=paralegal.headers),
        layer["id"],
    )
    assert len(found) == 1
    overlap = found[0]
    assert overlap["feature_name"] == "Kilimani quarry block"
    assert overlap["layer_kind"] == "concession" and overlap["properties"]["holder"] == "Acme"
    assert overlap["case_share"] == pytest.approx(0.5, abs=0.01)
    assert overlap["intersection_m2"] == pytest.approx(area_of(half) / 2, rel=0.01)

    at_point = overlaps_of(
        await client.get(f"/api/v1/cases/{point['id']}/overlaps", headers=paralegal.headers),
        layer["id"],
    )
    assert [(o["feature_name"], o["intersection_m2"], o["case_share"]) for o in at_point] == [
        ("Kilimani quarry block", 0.0, None)
    ]
    none = await client.get(f"/api/v1/cases/{outside['id']}/overlaps", headers=paralegal.headers)
    assert overlaps_of(none, layer["id"]) == []

    ids = set(
        await db.scalars(
            select(Case.id).where(
                within_layer_clause(uuid.UUID(layer["id"])),
                Case.id.in_([half["id"], point["id"], outside["id"]]),
            )
        )
    )
    assert ids == {uuid.UUID(str(half["id"])), uuid.UUID(str(point["id"]))}


async def test_overlaps_follow_case_visibility_and_hide_areas_of_generalized_cases(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, coordinator: Person
) -> None:
    layer = await concession_layer(client, coordinator)
    owner = await make_person(db, settings, "paralegal")
    secret = await make_case(client, owner, sensitivity="high_risk")
    ordinary = await make_case(client, owner)

    outsider = await make_person(db, settings, "paralegal")
    hidden = await client.get(f"/api/v1/cases/{secret['id']}/overlaps", headers=outsider.headers)
    assert hidden.status_code == 404
    assert (await client.get(f"/api/v1/cases/{secret['id']}/overlaps")).status_code == 401

    generalized = overlaps_of(
        await client.get(f"/api/v1/cases/{secret['id']}/overlaps", headers=coordinator.headers),
        layer["id"],
    )
    assert [(o["feature_name"], o["intersection_m2"], o["case_share"]) for o in generalized] == [
        ("Kilimani quarry block", None, None)
    ]
    exact = overlaps_of(
        await client.get(f"/api/v1/cases/{ordinary['id']}/overlaps", headers=coordinator.headers),
        layer["id"],
    )
    assert exact[0]["case_share"] == pytest.approx(1.0)
    own = overlaps_of(
        await client.get(f"/api/v1/cases/{secret['id']}/overlaps", headers=owner.headers),
        layer["id"],
    )
    assert own[0]["case_share"] == pytest.approx(1.0)
    assert own[0]["intersection_m2"] == pytest.approx(area_of(secret), rel=1e-6)


async def test_the_case_list_filters_to_cases_within_a_layer(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, coordinator: Person
) -> None:
    layer = await concession_layer(client, coordinator)
    paralegal = await make_person(db, settings, "paralegal")
    inside = await make_case(client, paralegal)  # the quarry sits in the concession
    await make_case(client, paralegal, geometry={"type": "Point", "coordinates": [30.0, -2.0]})
    listed = await client.get(
        "/api/v1/cases", params={"within_layer": layer["id"]}, headers=paralegal.headers
    )
    assert [c["id"] for c in listed.json()["items"]] == [inside["id"]]
