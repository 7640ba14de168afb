"""Vector tiles: decodable by an MVT client, filtered, capped, and private where they must be."""

from __future__ import annotations

import math

import httpx
import mapbox_vector_tile
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import make_case, make_person


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ tile holding a WGS 84 position."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


async def get_tile(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    z: int,
    lon: float,
    lat: float,
    **params: str,
) -> dict:
    x, y = tile_of(lon, lat, z)
    response = await client.get(
        f"/api/v1/tiles/cases/{z}/{x}/{y}.mvt", params=params, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    return mapbox_vector_tile.decode(response.content)


async def test_a_tile_carries_the_cases_with_their_properties(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(
        client,
        paralegal,
        geometry={"type": "Point", "coordinates": [151.2, -33.9]},
        country="AU",
        issue_types=["fisheries", "water_pollution"],
    )
    decoded = await get_tile(client, paralegal.headers, 12, 151.2, -33.9)
    features = decoded["cases"]["features"]
    assert [f["properties"]["id"] for f in features] == [case["id"]]
    props = features[0]["properties"]
    assert props["reference"] == case["reference"] and props["status"] == "intake"
    assert props["issue_types"] == "fisheries,water_pollution"
    assert props["organization_id"] == str(paralegal.organization_id)
    assert props["generalized"] is False
    assert "case_clusters" not in decoded  # zoom 12 shows cases, not clusters


async def test_low_zoom_tiles_add_cluster_counts(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    for dx in range(5):
        await make_case(
            client,
            paralegal,
            country="AU",
            geometry={"type": "Point", "coordinates": [150.5 + dx * 0.001, -34.5]},
        )
    decoded = await get_tile(
        client, paralegal.headers, 3, 150.5, -34.5, organization_id=str(paralegal.organization_id)
    )
    counts = [f["properties"]["count"] for f in decoded["case_clusters"]["features"]]
    assert sum(counts) == 5 and max(counts) == 5


async def test_filters_apply_to_tiles_and_other_organizations_stay_out(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    stranger = await make_person(db, settings, "paralegal")
    where = {"type": "Point", "coordinates": [149.1, -35.3]}
    mine = await make_case(client, paralegal, geometry=where, country="AU", issue_types=["mining"])
    await make_case(client, paralegal, geometry=where, country="AU", issue_types=["land_grab"])
    await make_case(client, stranger, geometry=where, country="AU", issue_types=["mining"])
    decoded = await get_tile(client, paralegal.headers, 14, 149.1, -35.3, issue_type="mining")
    assert [f["properties"]["id"] for f in decoded["cases"]["features"]] == [mine["id"]]


async def test_a_coordinator_never_gets_the_true_location_of_another_orgs_high_risk_case(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    lon, lat = 147.3123, -42.8811
    case = await make_case(
        client,
        paralegal,
        sensitivity="high_risk",
        country="AU",
        geometry={"type": "Point", "coordinates": [lon, lat]},
    )
    mine = await get_tile(client, paralegal.headers, 16, lon, lat)
    assert mine["cases"]["features"][0]["geometry"]["type"] == "Point"
    theirs = await get_tile(
        client, coordinator.headers, 16, lon, lat, organization_id=str(paralegal.organization_id)
    )
    feature = next(f for f in theirs["cases"]["features"] if f["properties"]["id"] == case["id"])
    assert feature["properties"]["generalized"] is True
    assert feature["geometry"]["type"] == "Polygon"  # the 0.05-degree cell, not the point


async def test_tile_caching_headers_and_bad_addresses(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    first = await client.get("/api/v1/tiles/cases/2/1/1.mvt", headers=paralegal.headers)
    assert first.headers["cache-control"].startswith("private")
    again = await client.get(
        "/api/v1/tiles/cases/2/1/1.mvt",
        headers={**paralegal.headers, "If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 304
    assert (
        await client.get("/api/v1/tiles/cases/2/4/1.mvt", headers=paralegal.headers)
    ).status_code == 404
    assert (await client.get("/api/v1/tiles/cases/2/1/1.mvt")).status_code == 401
