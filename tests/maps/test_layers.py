"""Reference layers: upload in every format, reprojection, repair, refusals, overlaps, filter."""

from __future__ import annotations

import io
import tempfile
import uuid
import warnings
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pyogrio.raw
import pytest
import shapely
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.filters import within_layer_clause
from cases.models import Case
from corps.audit import AuditEntry
from corps.errors import PayloadTooLarge
from corps.settings import Settings
from maps.layer_upload import receive_layer_file
from maps.models import LayerFeature, LayerFeaturePart, ReferenceLayer
from testing.factories import Person, make_case, make_person

# Covers the demo quarry (lon 36.78-36.79, lat -1.29 - -1.28) with a margin of 0.005 degrees.
CONCESSION_BOX = (36.775, -1.295, 36.795, -1.275)
# The same corners in UTM zone 37S (EPSG:32737), to the centimetre.
CONCESSION_UTM = [
    (252413.43, 9856754.66),
    (254640.04, 9856756.60),
    (254638.13, 9858968.86),
    (252411.50, 9858966.95),
    (252413.43, 9856754.66),
]
FAR_AWAY_BOX = (30.0, -3.0, 30.01, -2.99)
BOW_TIE = {
    "type": "Polygon",
    "coordinates": [
        [[36.70, -1.20], [36.71, -1.21], [36.71, -1.20], [36.70, -1.21], [36.70, -1.20]]
    ],
}


@pytest.fixture
async def coordinator(db: AsyncSession, settings: Settings) -> Person:
    return await make_person(db, settings, "coordinator")


def box(minx: float, miny: float, maxx: float, maxy: float) -> dict[str, Any]:
    """A GeoJSON rectangle."""
    ring = [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]
    return {"type": "Polygon", "coordinates": [ring]}


def geojson(*features: tuple[dict[str, Any] | None, dict[str, Any]]) -> bytes:
    """A FeatureCollection of (geometry, properties) pairs."""
    return orjson.dumps(
        {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": g, "properties": p} for g, p in features],
        }
    )


def write_layer(
    path: Path,
    driver: str,
    geometries: list[Any],
    fields: dict[str, Any],
    *,
    crs: str | None,
    layer: str | None = None,
) -> None:
    """Write shapely geometries and attributes with GDAL, as a GIS user's tool would."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyogrio warns when crs is None, on purpose here
        pyogrio.raw.write(
            str(path),
            geometry=np.array([shapely.to_wkb(g) for g in geometries], dtype=object),
            field_data=[_column(values) for values in fields.values()],
            fields=list(fields),
            driver=driver,
            geometry_type="Unknown" if driver == "GPKG" else "Polygon",
            crs=crs,
            layer=layer,
        )


def _column(values: list[Any]) -> Any:
    column = np.asarray(values)
    return column.astype(object) if column.dtype.kind == "U" else column


def zipped(files: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip archive of the given members."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


def utm_shapefile_zip(tmp_path: Path, *, with_prj: bool = True) -> bytes:
    """The concession as a zipped Shapefile in UTM zone 37S, inside a folder."""
    write_layer(
        tmp_path / "concession.shp",
        "ESRI Shapefile",
        [shapely.Polygon(CONCESSION_UTM)],
        {"LICENSE": ["PML/2019/0042"], "HOLDER": ["Acme Quarries Ltd"]},
        crs="EPSG:32737",
    )
    exts = [".shp", ".shx", ".dbf", ".cpg"] + ([".prj"] if with_prj else [])
    return zipped({f"data/concession{e}": (tmp_path / f"concession{e}").read_bytes() for e in exts})


async def post_layer(
    client: httpx.AsyncClient,
    person: Person | None,
    data: bytes,
    filename: str = "layer.geojson",
    *,
    name: str | None = None,
    kind: str = "concession",
) -> httpx.Response:
    """Upload a layer as multipart."""
    return await client.post(
        "/api/v1/layers",
        headers=person.headers if person else {},
        files={"file": (filename, data, "application/octet-stream")},
        data={"name": name or f"Layer {uuid.uuid4().hex[:8]}", "kind": kind},
    )


async def layer_count(db: AsyncSession, name: str) -> int:
    return int(
        await db.scalar(
            select(func.count()).select_from(ReferenceLayer).where(ReferenceLayer.name == name)
        )
        or 0
    )


async def concession_layer(client: httpx.AsyncClient, coordinator: Person) -> dict[str, Any]:
    """Upload the GeoJSON concession layer (one concession at the quarry, one far away)."""
    data = geojson(
        (box(*CONCESSION_BOX), {"name": "Kilimani quarry block", "holder": "Acme"}),
        (box(*FAR_AWAY_BOX), {"name": "Far block", "holder": "Other"}),
    )
    response = await post_layer(client, coordinator, data)
    assert response.status_code == 201, response.text
    return dict(response.json())


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
