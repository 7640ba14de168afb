"""Reference layers: each format is read whole, repaired, reprojected and audited."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import shapely
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from corps.audit import AuditEntry
from corps.settings import Settings
from maps.models import LayerFeature, LayerFeaturePart
from testing.factories import Person, make_person
from tests.maps.layer_files import (
    BOW_TIE,
    CONCESSION_BOX,
    CONCESSION_UTM,
    box,
    concession_layer,
    geojson,
    layer_count,
    post_layer,
    utm_shapefile_zip,
    write_layer,
)


@pytest.fixture
async def coordinator(db: AsyncSession, settings: Settings) -> Person:
    return await make_person(db, settings, "coordinator")


async def test_a_geojson_layer_is_stored_with_its_features_parts_and_audit(
    client: httpx.AsyncClient, db: AsyncSession, coordinator: Person
) -> None:
    layer = await concession_layer(client, coordinator)
    assert layer["feature_count"] == 2 and layer["repaired_count"] == 0
    assert layer["skipped_count"] == 0 and layer["source_format"] == "geojson"
    assert layer["kind"] == "concession"
    assert layer["bbox"] == pytest.approx([30.0, -3.0, 36.795, -1.275])
    names = await db.scalars(select(LayerFeature.name).where(LayerFeature.layer_id == layer["id"]))
    assert set(names) == {"Kilimani quarry block", "Far block"}
    parts = await db.scalar(select(func.count()).where(LayerFeaturePart.layer_id == layer["id"]))
    assert parts == 2
    audit = await db.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "layer.created", AuditEntry.object_id == layer["id"]
        )
    )
    assert audit is not None and audit.details["feature_count"] == 2
    assert len(audit.details["sha256"]) == 64

    read = await client.get(f"/api/v1/layers/{layer['id']}", headers=coordinator.headers)
    assert read.status_code == 200 and read.json() == layer


async def test_a_bow_tie_is_repaired_and_empty_features_are_skipped_and_counted(
    client: httpx.AsyncClient, db: AsyncSession, coordinator: Person
) -> None:
    data = geojson(
        (BOW_TIE, {"nombre": "Mariposa", "opened": "2024-05-01", "hectares": 12}),
        (None, {"nombre": "No geometry"}),
        (box(36.72, -1.22, 36.73, -1.21), {"nombre": "Fine"}),
    )
    response = await post_layer(client, coordinator, data, kind="protected_area")
    assert response.status_code == 201, response.text
    layer = response.json()
    assert (layer["feature_count"], layer["repaired_count"], layer["skipped_count"]) == (
        2,
        1,
        0 + 1,
    )
    valid = await db.scalars(
        select(func.ST_IsValid(LayerFeature.geometry)).where(LayerFeature.layer_id == layer["id"])
    )
    assert all(valid)
    repaired = await db.scalar(
        select(func.ST_GeometryType(LayerFeature.geometry)).where(
            LayerFeature.layer_id == layer["id"], LayerFeature.name == "Mariposa"
        )
    )
    assert repaired == "ST_MultiPolygon"  # the two wings of the bow tie


async def test_a_utm_shapefile_is_reprojected_to_where_the_concession_is(
    client: httpx.AsyncClient, db: AsyncSession, coordinator: Person, tmp_path: Path
) -> None:
    response = await post_layer(client, coordinator, utm_shapefile_zip(tmp_path), "concessions.zip")
    assert response.status_code == 201, response.text
    layer = response.json()
    assert layer["source_format"] == "shapefile" and layer["feature_count"] == 1
    assert layer["bbox"] == pytest.approx(list(CONCESSION_BOX), abs=1e-6)
    feature = (
        await db.execute(
            select(LayerFeature.name, LayerFeature.properties, LayerFeature.area_m2).where(
                LayerFeature.layer_id == layer["id"]
            )
        )
    ).one()
    assert feature.name == "PML/2019/0042"  # picked from LICENSE
    assert feature.properties == {"LICENSE": "PML/2019/0042", "HOLDER": "Acme Quarries Ltd"}
    assert feature.area_m2 == pytest.approx(2227 * 2212, rel=0.01)


async def test_a_shapefile_without_a_crs_in_metres_is_refused_and_nothing_stays(
    client: httpx.AsyncClient, db: AsyncSession, coordinator: Person, tmp_path: Path
) -> None:
    name = f"No prj {uuid.uuid4().hex[:6]}"
    data = utm_shapefile_zip(tmp_path, with_prj=False)
    response = await post_layer(client, coordinator, data, "c.zip", name=name)
    assert response.status_code == 422
    assert "CRS" in response.json()["detail"]
    assert await layer_count(db, name) == 0


async def test_a_geopackage_with_two_tables_is_read_whole_with_typed_properties(
    client: httpx.AsyncClient, db: AsyncSession, coordinator: Person, tmp_path: Path
) -> None:
    path = tmp_path / "areas.gpkg"
    write_layer(
        path,
        "GPKG",
        [shapely.box(36.70, -1.40, 36.75, -1.35)],
        {"NAME": ["Ngong Forest"], "gazetted": np.array(["1932-03-01"], dtype="datetime64[D]")},
        crs="EPSG:4326",
        layer="forests",
    )
    write_layer(
        path,
        "GPKG",
        [shapely.Point(36.76, -1.36)],
        {"site_name": ["Ranger post"], "staff": [4]},
        crs="EPSG:4326",
        layer="posts",
    )
    response = await post_layer(client, coordinator, path.read_bytes(), "areas.gpkg")
    assert response.status_code == 201, response.text
    layer = response.json()
    assert layer["source_format"] == "gpkg" and layer["feature_count"] == 2
    result = await db.execute(
        select(LayerFeature.name, LayerFeature.properties).where(
            LayerFeature.layer_id == layer["id"]
        )
    )
    rows: dict[str | None, dict[str, Any]] = {r.name: r.properties for r in result}
    assert rows["Ngong Forest"]["gazetted"] == "1932-03-01"
    assert rows["Ranger post"]["staff"] == 4


async def test_a_failure_in_a_later_table_leaves_no_half_written_layer_and_no_temp_files(
    client: httpx.AsyncClient,
    db: AsyncSession,
    coordinator: Person,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "mixed.gpkg"
    write_layer(
        path,
        "GPKG",
        [shapely.box(36.7, -1.4, 36.8, -1.3)],
        {"n": ["ok"]},
        crs="EPSG:4326",
        layer="a",
    )
    write_layer(
        path, "GPKG", [shapely.Polygon(CONCESSION_UTM)], {"n": ["metres"]}, crs=None, layer="b"
    )
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_root))
    features_before = await db.scalar(select(func.count()).select_from(LayerFeature))
    name = f"Half {uuid.uuid4().hex[:6]}"
    response = await post_layer(client, coordinator, path.read_bytes(), "m.gpkg", name=name)
    assert response.status_code == 422, response.text
    assert await layer_count(db, name) == 0
    assert await db.scalar(select(func.count()).select_from(LayerFeature)) == features_before
    assert list(temp_root.iterdir()) == []
    stored = await post_layer(client, coordinator, geojson((box(*CONCESSION_BOX), {"n": "ok"})))
    assert stored.status_code == 201
    assert list(temp_root.iterdir()) == []


async def test_a_kml_with_folders_is_read_with_placemark_names(
    client: httpx.AsyncClient, db: AsyncSession, coordinator: Person
) -> None:
    kml = b"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
  <Folder><name>Blocks</name><Placemark><name>Block A</name><Polygon><outerBoundaryIs><LinearRing>
    <coordinates>36.78,-1.29 36.79,-1.29 36.79,-1.28 36.78,-1.28 36.78,-1.29</coordinates>
  </LinearRing></outerBoundaryIs></Polygon></Placemark></Folder>
  <Folder><name>Points</name><Placemark><name>Gate</name>
    <Point><coordinates>36.785,-1.285</coordinates></Point></Placemark></Folder>
</Document></kml>"""
    response = await post_layer(client, coordinator, kml, "blocks.kml", kind="boundary")
    assert response.status_code == 201, response.text
    layer = response.json()
    assert layer["source_format"] == "kml" and layer["feature_count"] == 2
    names = await db.scalars(select(LayerFeature.name).where(LayerFeature.layer_id == layer["id"]))
    assert set(names) == {"Block A", "Gate"}
    props = await db.scalar(
        select(LayerFeature.properties).where(
            LayerFeature.layer_id == layer["id"], LayerFeature.name == "Gate"
        )
    )
    assert props == {"Name": "Gate"}  # LIBKML's display fields and empty values are dropped
