"""Reference layers: unsafe, unknown or malformed uploads are refused and nothing stays."""

from __future__ import annotations

import io
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from corps.errors import PayloadTooLarge
from corps.settings import Settings
from maps.layer_upload import receive_layer_file
from testing.factories import Person, make_person
from tests.maps.layer_files import (
    CONCESSION_BOX,
    CONCESSION_UTM,
    box,
    geojson,
    layer_count,
    post_layer,
    zipped,
)


@pytest.fixture
async def coordinator(db: AsyncSession, settings: Settings) -> Person:
    return await make_person(db, settings, "coordinator")


@pytest.mark.parametrize(
    ("data", "status", "phrase"),
    [
        (
            zipped({"../evil.shp": b"x" * 100, "../evil.shx": b"x", "../evil.dbf": b"x"}),
            422,
            "unsafe",
        ),
        (zipped({"/etc/evil.shp": b"x"}), 422, "unsafe"),
        (zipped({"bomb.shp": bytes(5 << 20), "bomb.shx": b"", "bomb.dbf": b""}), 422, "bomb"),
        (zipped({"readme.txt": b"no shapefile here"}), 422, "exactly one .shp"),
        (zipped({"a.shp": b"x", "a.dbf": b"x"}), 422, ".shx"),
        (zipped({"a.shp": b"x", "a.shx": b"x", "a.dbf": b"x"}), 422, "could not be read"),
        (b"SQLite format 3\x00" + bytes(200), 415, "GeoPackage"),
        (b'<?xml version="1.0"?><OGRVRTDataSource/>', 415, "none of them"),
    ],
    ids=["dotdot", "absolute", "zip-bomb", "no-shp", "no-shx", "garbage", "plain-sqlite", "vrt"],
)
async def test_unsafe_or_unknown_files_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient,
    db: AsyncSession,
    coordinator: Person,
    data: bytes,
    status: int,
    phrase: str,
) -> None:
    name = f"Refused {uuid.uuid4().hex[:6]}"
    response = await post_layer(client, coordinator, data, "layer.zip", name=name)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    detail = response.json()["detail"]
    assert phrase in detail and tempfile.gettempdir() not in detail
    assert await layer_count(db, name) == 0


async def test_a_png_renamed_to_geojson_is_refused_with_415(
    client: httpx.AsyncClient, coordinator: Person
) -> None:
    png = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(png, "PNG")
    response = await post_layer(client, coordinator, png.getvalue(), "concessions.geojson")
    assert response.status_code == 415


async def test_geojson_in_metres_without_a_crs_is_refused(
    client: httpx.AsyncClient, coordinator: Person
) -> None:
    data = geojson((box(252413.0, 9856754.0, 254640.0, 9858968.0), {"name": "metres"}))
    response = await post_layer(client, coordinator, data)
    assert response.status_code == 422 and "not degrees" in response.json()["detail"]


def named_crs(epsg: int) -> dict[str, Any]:
    return {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}}


async def test_geojson_with_a_named_utm_crs_is_reprojected_or_refused_when_impossible(
    client: httpx.AsyncClient, coordinator: Person
) -> None:
    collection: dict[str, Any] = {
        "type": "FeatureCollection",
        "crs": named_crs(32737),
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [CONCESSION_UTM]},
                "properties": {"name": "UTM block"},
            }
        ],
    }
    response = await post_layer(client, coordinator, orjson.dumps(collection))
    assert response.status_code == 201, response.text
    assert response.json()["bbox"] == pytest.approx(list(CONCESSION_BOX), abs=1e-6)

    collection["features"][0]["geometry"] = {"type": "Point", "coordinates": [5e7, 1e7]}
    response = await post_layer(client, coordinator, orjson.dumps(collection))
    assert response.status_code == 422
    assert "could not be stored" in response.json()["detail"]


async def test_json_that_is_not_geojson_is_refused(
    client: httpx.AsyncClient, coordinator: Person
) -> None:
    response = await post_layer(client, coordinator, b'{"hello": "world"}')
    assert response.status_code == 422, response.text


async def test_form_fields_may_follow_the_file(
    client: httpx.AsyncClient, coordinator: Person
) -> None:
    data = geojson((box(*CONCESSION_BOX), {"name": "x"}))
    body = (
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="file"; filename="late.geojson"\r\n\r\n'
        + data
        + b'\r\n--b0undary\r\nContent-Disposition: form-data; name="name"\r\n\r\nLate'
        + b'\r\n--b0undary\r\nContent-Disposition: form-data; name="kind"\r\n\r\nother'
        + b"\r\n--b0undary--\r\n"
    )
    headers = {**coordinator.headers, "content-type": "multipart/form-data; boundary=b0undary"}
    response = await client.post("/api/v1/layers", content=body, headers=headers)
    assert response.status_code == 201, response.text
    assert (response.json()["name"], response.json()["kind"]) == ("Late", "other")


async def test_bad_form_fields_are_422(client: httpx.AsyncClient, coordinator: Person) -> None:
    data = geojson((box(*CONCESSION_BOX), {"name": "x"}))
    response = await post_layer(client, coordinator, data, kind="mine")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "kind"]


@pytest.mark.parametrize("role", ["paralegal", "org_admin", "campaigner"])
async def test_only_coordinators_and_admins_upload_layers(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, role: str
) -> None:
    person = await make_person(db, settings, role)
    data = geojson((box(*CONCESSION_BOX), {"name": "x"}))
    assert (await post_layer(client, person, data)).status_code == 403
    assert (await post_layer(client, None, data)).status_code == 401
    admin = await make_person(db, settings, "admin")
    assert (await post_layer(client, admin, data)).status_code == 201


async def test_the_upload_is_capped_while_streaming(tmp_path: Path) -> None:
    request = httpx.Request(
        "POST",
        "http://test/api/v1/layers",
        files={"file": ("big.geojson", b"{" + b" " * 5000, "application/geo+json")},
        data={"name": "Big", "kind": "other"},
    )
    body = request.read()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 512):
            yield body[start : start + 512]

    with pytest.raises(PayloadTooLarge):
        await receive_layer_file(
            chunks(),
            content_type=request.headers["content-type"],
            content_length=None,
            max_bytes=4096,
            directory=tmp_path,
        )
