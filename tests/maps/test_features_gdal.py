"""OGC API - Features through GDAL's OAPIF driver, as QGIS and ogr2ogr connect."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pyogrio
import pyogrio.raw
import pytest
import shapely
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from maps.layer_safety import GDAL_LOCKDOWN, lock_down_gdal
from testing.factories import Person, make_case, make_org, make_person
from testing.live import live_server

# Committed rows: a live server reads them.
pytestmark = pytest.mark.committed


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def read_with_gdal(
    url: str, person: Person, **options: object
) -> tuple[dict[str, Any], Any, Any, Any]:
    """Read the `cases` layer through GDAL's OAPIF driver, sending the bearer token.

    GDAL_HTTP_HEADERS does not reach OAPIF requests (the driver sets its own Accept header,
    which replaces it), so the token goes through curl's bearer authentication instead.
    """
    token = person.headers["Authorization"].removeprefix("Bearer ")
    # The server's own lockdown (no network for uploaded files) binds this test process too.
    unlocked = {option: None for option in GDAL_LOCKDOWN}
    pyogrio.set_gdal_config_options(
        {**unlocked, "GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": token}
    )
    try:
        # as strings: pyogrio can round a timestamp's fraction to 1,000,000 µs and fail
        return pyogrio.raw.read(f"OAPIF:{url}", layer="cases", datetime_as_string=True, **options)
    finally:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None})
        lock_down_gdal()


async def test_gdal_reads_the_collection_through_its_oapif_driver(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    assert "OAPIF" in pyogrio.list_drivers()
    org = await make_org(db)
    paralegal = await make_person(db, settings, "paralegal", org)
    coordinator = await make_person(db, settings, "coordinator")
    shapes = [
        point(-11.2, 7.1),
        {"type": "LineString", "coordinates": [[-11.0, 8.6], [-10.9, 8.7]]},
        {"type": "Polygon", "coordinates": [[[30, 1], [30.1, 1], [30.1, 1.1], [30, 1.1], [30, 1]]]},
    ]
    made = [
        await make_case(client, paralegal, geometry=g, title=f"Case {i}")
        for i, g in enumerate(shapes)
    ]
    risky = await make_case(
        client, paralegal, sensitivity="high_risk", geometry=point(36.8123, -1.2987)
    )
    async with live_server(settings) as server:
        root = f"{server.url}/ogc"
        meta, _, geometry, fields = await asyncio.to_thread(
            read_with_gdal,
            root,
            paralegal,
            PAGE_SIZE=3,  # 4 cases: GDAL follows a next link
        )
        bbox_only = await asyncio.to_thread(
            read_with_gdal, root, paralegal, bbox=(-11.3, 7.0, -11.1, 7.2)
        )
        scoped = f"{root}?organization_id={org.id}"
        coordinator_view = await asyncio.to_thread(read_with_gdal, scoped, coordinator)
        with pytest.raises(pyogrio.errors.DataSourceError):
            await asyncio.to_thread(pyogrio.raw.read, f"OAPIF:{root}", layer="cases")

    columns = dict(zip(meta["fields"], fields, strict=True))
    assert {"reference", "title", "status", "generalized", "updated_at"} <= set(columns)
    assert "place_name" not in columns
    assert list(columns["id"]) == [c["id"] for c in [*made, risky]]
    shown = [shapely.from_wkb(g) for g in geometry]
    for case, shape in zip([*made, risky], shown, strict=True):
        assert shape.equals(shapely.geometry.shape(case["geometry"]))
    assert meta["crs"] == "OGC:CRS84" or "4326" in meta["crs"]
    assert list(bbox_only[3][meta["fields"].tolist().index("id")]) == [made[0]["id"]]

    c_meta, _, c_geometry, c_fields = coordinator_view
    c_columns = dict(zip(c_meta["fields"], c_fields, strict=True))
    generalized = {
        i: bool(g) for i, g in zip(c_columns["id"], c_columns["generalized"], strict=True)
    }
    assert generalized == {**{c["id"]: False for c in made}, risky["id"]: True}
    cell = shapely.from_wkb(c_geometry[list(c_columns["id"]).index(risky["id"])])
    assert cell.geom_type == "Polygon" and round(cell.area, 6) == round(0.05 * 0.05, 6)
    assert not cell.equals(shapely.geometry.shape(risky["geometry"]))
