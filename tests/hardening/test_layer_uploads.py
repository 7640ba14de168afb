"""Findings 3 and 4: a layer file cannot make the server fetch URLs or run SQLite queries."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pyogrio
import pytest
import shapely
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from maps import layers
from maps.layer_safety import lock_down_gdal
from testing.factories import Person, make_person
from tests.maps.test_layers import box, geojson, post_layer, write_layer


@pytest.fixture
async def coordinator(db: AsyncSession, settings: Settings) -> Person:
    return await make_person(db, settings, "coordinator")


@pytest.fixture
def listener() -> Iterator[tuple[str, list[bytes]]]:
    """A local HTTP port that records every connection made to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    seen.append(conn.recv(4096))
                    conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n+proj=longlat +datum=WGS84\n")
                except OSError:
                    seen.append(b"")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/crs", seen
    stop.set()
    thread.join(2)
    server.close()


def linked_crs(href: str, *, key: str = "crs") -> bytes:
    body = orjson.loads(geojson((box(36.7, -1.3, 36.8, -1.2), {"name": "Concession A"})))
    body[key] = {"type": "link", "properties": {"href": href, "type": "proj4"}}
    return orjson.dumps(body)


async def test_a_crs_link_is_refused_and_never_fetched(
    client: httpx.AsyncClient, coordinator: Person, listener: tuple[str, list[bytes]]
) -> None:
    href, seen = listener
    for key in ("crs", "CRS"):
        response = await post_layer(client, coordinator, linked_crs(href, key=key))
        assert response.status_code == 422, response.text
        assert "crs" in response.json()["detail"]
    escaped = linked_crs(href).replace(b'"crs"', b'"\\u0063rs"')
    assert (await post_layer(client, coordinator, escaped)).status_code == 422
    assert seen == []


async def test_gdal_itself_cannot_reach_the_network(
    tmp_path: Path, listener: tuple[str, list[bytes]]
) -> None:
    href, seen = listener
    lock_down_gdal()
    path = tmp_path / "linked.geojson"
    path.write_bytes(linked_crs(href))
    with contextlib.suppress(Exception):  # GDAL may complain it could not fetch: the point
        pyogrio.read_info(f"GeoJSON:{path}")
    assert seen == []


async def test_a_crs_named_by_code_is_still_accepted(
    client: httpx.AsyncClient, coordinator: Person
) -> None:
    body = orjson.loads(geojson((box(36.7, -1.3, 36.8, -1.2), {"name": "Concession A"})))
    body["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    response = await post_layer(client, coordinator, orjson.dumps(body))
    assert response.status_code == 201, response.text


async def test_a_geopackage_view_is_refused(
    client: httpx.AsyncClient, coordinator: Person, tmp_path: Path
) -> None:
    path = tmp_path / "view.gpkg"
    write_layer(
        path,
        "GPKG",
        [shapely.box(36.7, -1.3, 36.8, -1.2)],
        {"name": ["A"]},
        crs="EPSG:4326",
        layer="areas",
    )
    with sqlite3.connect(path) as db:
        db.execute("CREATE VIEW leak AS SELECT fid, geom, sqlite_version() AS name FROM areas")
        db.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
            "VALUES ('leak', 'features', 'leak', 4326)"
        )
        db.execute(
            "INSERT INTO gpkg_geometry_columns VALUES ('leak', 'geom', 'GEOMETRY', 4326, 0, 0)"
        )
    db.close()
    response = await post_layer(client, coordinator, path.read_bytes(), "view.gpkg")
    assert response.status_code == 422, response.text
    assert "view" in response.json()["detail"]


async def test_the_feature_cap_is_enforced_while_reading(
    client: httpx.AsyncClient, coordinator: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(layers, "MAX_LAYER_FEATURES", 10)
    features = [(box(36.7 + i * 0.01, -1.3, 36.705 + i * 0.01, -1.2), {"n": i}) for i in range(11)]
    response = await post_layer(client, coordinator, geojson(*features))
    assert response.status_code == 422, response.text
    assert "more than 10 features" in response.json()["detail"]
    assert (await post_layer(client, coordinator, geojson(*features[:10]))).status_code == 201


async def test_the_vertex_cap_is_enforced_while_reading(
    client: httpx.AsyncClient, coordinator: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(layers, "MAX_LAYER_VERTICES", 12)
    features = [(box(36.7 + i * 0.01, -1.3, 36.705 + i * 0.01, -1.2), {"n": i}) for i in range(3)]
    response = await post_layer(client, coordinator, geojson(*features))
    assert response.status_code == 422, response.text
    assert "vertices" in response.json()["detail"]
