"""Case-set exports: every format readable, filters and privacy applied, nothing foreign."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pyogrio
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import make_case, make_person

EXACT = {"type": "Point", "coordinates": [29.3612, -1.6789]}


async def export(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> httpx.Response:
    response = await client.get("/api/v1/cases/export", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response


async def test_geojson_export_holds_exactly_the_viewers_cases(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    stranger = await make_person(db, settings, "paralegal")
    mine = [await make_case(client, paralegal, geometry=EXACT) for _ in range(3)]
    await make_case(client, stranger, geometry=EXACT)
    response = await export(client, paralegal.headers, format="geojson")
    assert response.headers["content-type"] == "application/geo+json"
    body = json.loads(response.content)
    assert sorted(f["id"] for f in body["features"]) == sorted(c["id"] for c in mine)
    assert all(f["geometry"] == EXACT for f in body["features"])
    assert body["features"][0]["properties"]["reference"].count("-") >= 2


async def test_a_public_export_generalizes_everything_and_drops_high_risk_cases(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    coordinator = await make_person(db, settings, "coordinator")
    paralegal = await make_person(db, settings, "paralegal")
    normal = await make_case(client, paralegal, geometry=EXACT, place_name="Kibumba camp")
    await make_case(client, paralegal, geometry=EXACT, sensitivity="high_risk")
    body = json.loads(
        (
            await export(
                client,
                coordinator.headers,
                format="geojson",
                level="public",
                organization_id=str(paralegal.organization_id),
            )
        ).content
    )
    assert [f["id"] for f in body["features"]] == [normal["id"]]
    props = body["features"][0]["properties"]
    assert props["place_name"] is None and props["generalized"] is True
    assert len(props["opened_on"]) == 7 and len(props["updated_at"]) == 7  # YYYY-MM
    ring = body["features"][0]["geometry"]["coordinates"][0]
    assert body["features"][0]["geometry"]["type"] == "Polygon"
    assert max(p[0] for p in ring) - min(p[0] for p in ring) == pytest.approx(0.2)
    assert EXACT["coordinates"] not in ring


async def test_csv_kml_and_geopackage_exports_read_back(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    cases = [await make_case(client, paralegal, title=f"Case «{n}» & co") for n in range(2)]
    rows = list(
        csv.DictReader(io.StringIO((await export(client, paralegal.headers, format="csv")).text))
    )
    assert sorted(r["id"] for r in rows) == sorted(c["id"] for c in cases)
    assert rows[0]["geometry_wkt"].startswith("POLYGON")
    kml = ET.fromstring((await export(client, paralegal.headers, format="kml")).content)
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    names = [p.findtext("k:name", namespaces=ns) for p in kml.iterfind(".//k:Placemark", ns)]
    assert sorted(names) == ["Case «0» & co", "Case «1» & co"]
    gpkg = tmp_path / "cases.gpkg"
    gpkg.write_bytes((await export(client, paralegal.headers, format="gpkg")).content)
    info = pyogrio.read_info(gpkg, layer="cases")
    assert info["features"] == 2 and info["crs"] == "EPSG:4326"


async def test_campaigners_cannot_export_at_the_internal_level(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    campaigner = await make_person(db, settings, "campaigner")
    response = await client.get(
        "/api/v1/cases/export", params={"level": "internal"}, headers=campaigner.headers
    )
    assert response.status_code == 403
    assert (await client.get("/api/v1/cases/export")).status_code == 401


async def test_an_export_is_audited_with_its_format_level_and_filters(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    await make_case(client, paralegal, geometry=EXACT)
    await export(client, paralegal.headers, format="csv", level="partner", country="KE")
    entries = (
        await db.execute(
            text("SELECT action, details FROM audit_log WHERE actor_id = :id ORDER BY id"),
            {"id": paralegal.id},
        )
    ).all()
    assert entries[-1].action == "cases.exported"
    assert entries[-1].details == {
        "format": "csv",
        "level": "partner",
        "filters": {"country": "KE"},
    }
