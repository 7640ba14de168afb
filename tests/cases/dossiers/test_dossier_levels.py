"""A dossier at each privacy level, read back file by file."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from cases.dossiers.verify import verify_dossier
from cases.evidence.jobs import process_evidence
from cases.evidence.models import CustodyEvent
from corps.audit import AuditEntry
from corps.settings import Settings
from testing.factories import QUARRY, make_case, make_person, photo_with_gps, upload
from tests.cases.dossiers.conftest import built_zip, image_exif, members, pdf_text

# Committed rows: module-scoped fixtures build dossiers once for every test of the module.
pytestmark = pytest.mark.committed

SENSITIVE_POINT = (30.1234, -2.5678)
HIGH_RISK_POINT = (31.4321, -3.8765)
TRUE_POINTS = {tuple(p) for p in QUARRY["coordinates"][0]} | {SENSITIVE_POINT, HIGH_RISK_POINT}
# Photos' own GPS positions: in the originals, and nowhere in a public bundle.
PHOTOS = {
    "normal": (36.7851, -1.2852),
    "sensitive": (30.1235, -2.5677),
    "high_risk": (31.4322, -3.8764),
}
PHOTO_POINTS = set(PHOTOS.values())
TRUE_TEXTS = ["36.78", "36.79", "30.1234", "2.5678", "31.4321", "3.8765", "36.7851", "30.1235"]
ARABIC_TITLE = "تلوث الغبار من المحجر"


@dataclass
class World:
    """One organization's three cases with evidence, and a dossier of them at each level."""

    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: dict[str, list[tuple[dict[str, Any], bytes]]] = field(default_factory=dict)
    bundles: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)


def pdf_doc(label: str) -> bytes:
    """A small PDF-looking document whose bytes are this test's own."""
    return b"%PDF-1.4\n% " + label.encode() + uuid.uuid4().hex.encode() + b"\n%%EOF\n"


@pytest.fixture(scope="module")
async def world(
    engine: AsyncEngine,
    settings: Settings,
    dossier_app: FastAPI,
    tmp_path_factory: pytest.TempPathFactory,
) -> World:
    tmp = tmp_path_factory.mktemp("levels")
    out = World()
    transport = httpx.ASGITransport(app=dossier_app, raise_app_exceptions=False)
    async with (
        async_sessionmaker(engine, expire_on_commit=False)() as db,
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        paralegal = await make_person(db, settings, "paralegal")
        specs = {
            "normal": {
                "title": ARABIC_TITLE,
                "summary": "Blasting and dust reach the school; שלום from the teachers.",
                "respondents": [
                    {"name": "Acme Quarries Ltd", "kind": "company"},
                    {"name": "Juma Otieno", "kind": "other"},
                ],
            },
            "sensitive": {
                "sensitivity": "sensitive",
                "title": "Water contamination below the hills",
                "geometry": {"type": "Point", "coordinates": list(SENSITIVE_POINT)},
                "place_name": "Nyamata hills",
            },
            "high_risk": {
                "sensitivity": "high_risk",
                "title": "Threats against the river defenders",
                "geometry": {"type": "Point", "coordinates": list(HIGH_RISK_POINT)},
                "place_name": "Ruzizi crossing",
            },
        }
        for name, spec in specs.items():
            case = await make_case(client, paralegal, **spec)
            out.cases[name] = case
            event = await client.post(
                f"/api/v1/cases/{case['id']}/events",
                headers=paralegal.headers,
                json={
                    "kind": "remedy",
                    "occurred_on": "2026-03-15",
                    "description": "Complaint filed with the agency by Mary Wanjiku",
                    "remedy": "administrative_complaint",
                    "outcome": "pending",
                },
            )
            assert event.status_code == 201, event.text
            photo = photo_with_gps(*PHOTOS[name], taken="2026:03:04 09:00:00")
            document = pdf_doc(name)
            items = []
            for data, filename, kind in [
                (photo, "juma_otieno_farm.jpg", "photo"),
                (document, "lab-report.pdf", "document"),
            ]:
                response = await upload(
                    client, paralegal, case["id"], data, filename=filename, kind=kind
                )
                assert response.status_code == 201, response.text
                items.append((response.json(), data))
                # As the worker would: the chain then holds the photo's GPS position.
                async with async_sessionmaker(engine)() as session, session.begin():
                    await process_evidence(
                        session, dossier_app.state.storage, uuid.UUID(response.json()["id"])
                    )
            out.uploads[name] = items
        ids = [c["id"] for c in out.cases.values()]
        out.headers["paralegal"] = paralegal.headers
        for level in ("internal", "partner", "public"):
            out.bundles[level] = await built_zip(
                client, dossier_app, paralegal, tmp, case_ids=ids, level=level
            )
    return out


def evidence_members(files: dict[str, bytes], evidence_id: str) -> list[str]:
    return [name for name in files if name.startswith("evidence/") and evidence_id in name]


def all_coordinates(value: Any) -> set[tuple[float, float]]:
    """Every coordinate pair inside a GeoJSON geometry's coordinates."""
    if (
        isinstance(value, list)
        and len(value) >= 2
        and all(isinstance(v, float | int) for v in value)
    ):
        return {(float(value[0]), float(value[1]))}
    if isinstance(value, list):
        return set().union(*(all_coordinates(v) for v in value)) if value else set()
    return set()


async def test_the_internal_dossier_holds_every_original_and_whole_chain(world: World) -> None:
    status, path = world.bundles["internal"]
    data = path.read_bytes()
    assert status["sha256"] == hashlib.sha256(data).hexdigest() and status["size"] == len(data)
    assert status["case_count"] == 3 and status["progress"] == 1.0
    files = members(path)
    manifest = orjson.loads(files["manifest.json"])
    assert manifest["level"] == "internal" and manifest["case_count"] == 3
    assert {"dossier.pdf", "cases.geojson", "cases.kml", "cases.gpkg", "cases.csv"} <= set(files)
    for name, items in world.uploads.items():
        reference = world.cases[name]["reference"]
        for item, original in items:
            (member,) = evidence_members(files, item["id"])
            assert member.startswith(f"evidence/{reference}/{item['id']}-")
            assert files[member] == original  # the very bytes that were received
            chain = orjson.loads(files[f"custody/{item['id']}.json"])
            assert chain["complete"] is True and chain["events"][0]["event"] == "received"
    geojson = orjson.loads(files["cases.geojson"])
    shown = {f["properties"]["reference"]: f["geometry"] for f in geojson["features"]}
    assert shown[world.cases["normal"]["reference"]] == QUARRY
    text = pdf_text(files["dossier.pdf"])
    assert files["dossier.pdf"].startswith(b"%PDF")
    for case in world.cases.values():
        assert case["reference"] in text
    assert ARABIC_TITLE in text and "Juma Otieno" in text and "Mary Wanjiku" in text
    assert verify_dossier(path) == []


async def test_the_export_is_on_each_chain_of_custody_and_in_the_audit_log(
    world: World, engine: AsyncEngine
) -> None:
    status, _ = world.bundles["internal"]
    item = world.uploads["normal"][0][0]
    async with async_sessionmaker(engine)() as session:
        exported = list(
            await session.scalars(
                select(CustodyEvent).where(
                    CustodyEvent.evidence_id == uuid.UUID(item["id"]),
                    CustodyEvent.event == "exported",
                    CustodyEvent.details["dossier_id"].astext == status["id"],
                )
            )
        )
        built = list(
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "dossier.built", AuditEntry.object_id == status["id"]
                )
            )
        )
    assert len(exported) == 1 and exported[0].details["bundle_sha256"] == status["sha256"]
    assert len(built) == 1 and built[0].details["evidence_exported"] == 6


async def test_the_partner_dossier_hides_protected_places_and_their_photos_gps(
    world: World, dossier_app: FastAPI
) -> None:
    _, path = world.bundles["partner"]
    files = members(path)
    manifest = orjson.loads(files["manifest.json"])
    geojson = orjson.loads(files["cases.geojson"])
    shown = {f["properties"]["reference"]: f["geometry"] for f in geojson["features"]}
    assert shown[world.cases["normal"]["reference"]] == QUARRY
    for name, point in [("sensitive", SENSITIVE_POINT), ("high_risk", HIGH_RISK_POINT)]:
        assert point not in all_coordinates(shown[world.cases[name]["reference"]]["coordinates"])
        photo, original = world.uploads[name][0]
        (member,) = evidence_members(files, photo["id"])
        assert "-no-metadata" in member and image_exif(files[member]) == {}
        entry = next(f for f in manifest["files"] if f["path"] == member)
        assert entry["derived_from"] == photo["sha256"]
        assert orjson.loads(files[f"custody/{photo['id']}.json"])["complete"] is False
        document = world.uploads[name][1][0]
        assert evidence_members(files, document["id"]) == []
        assert document["sha256"] in {w["sha256"] for w in manifest["withheld"]}
        # The locker keeps the original untouched.
        stored = await dossier_app.state.storage.sha256_of(
            f"sha256/{photo['sha256'][:2]}/{photo['sha256'][2:4]}/{photo['sha256']}"
        )
        assert stored == hashlib.sha256(original).hexdigest()
    normal_photo, original = world.uploads["normal"][0]
    (member,) = evidence_members(files, normal_photo["id"])
    assert files[member] == original and image_exif(files[member])[0x8825]  # exact is fine here
    assert verify_dossier(path) == []


def _csv_coordinates(raw: bytes) -> set[tuple[float, float]]:
    rows = list(csv.DictReader(io.StringIO(raw.decode())))
    points = {(float(r["longitude"]), float(r["latitude"])) for r in rows}
    for row in rows:
        numbers = [float(n) for n in re.findall(r"-?\d+\.?\d*", row["geometry_wkt"])]
        points |= set(zip(numbers[::2], numbers[1::2], strict=True))
    return points


def _kml_coordinates(raw: bytes) -> set[tuple[float, float]]:
    points = set()
    for block in re.findall(rb"<coordinates>(.*?)</coordinates>", raw, re.S):
        for triple in block.decode().split():
            lon, lat, *_ = (float(v) for v in triple.split(","))
            points.add((lon, lat))
    return points


def _gpkg_coordinates(raw: bytes, tmp: Path) -> set[tuple[float, float]]:
    import pyogrio.raw
    import shapely

    path = tmp / "cases.gpkg"
    path.write_bytes(raw)
    _, _, geometries, _ = pyogrio.raw.read(path)
    points = set()
    for geometry in shapely.from_wkb(geometries):
        points |= {(x, y) for x, y in shapely.get_coordinates(geometry).tolist()}
    return points


async def test_the_public_dossier_has_no_true_place_no_high_risk_case_and_no_exif(
    world: World, tmp_path: Path
) -> None:
    status, path = world.bundles["public"]
    files = members(path)
    manifest = orjson.loads(files["manifest.json"])
    high_risk = world.cases["high_risk"]
    assert status["case_count"] == 2 and manifest["case_count"] == 2
    features = orjson.loads(files["cases.geojson"])["features"]
    assert len(features) == 2
    coordinates = set().union(*(all_coordinates(f["geometry"]["coordinates"]) for f in features))
    coordinates |= _csv_coordinates(files["cases.csv"]) | _kml_coordinates(files["cases.kml"])
    coordinates |= _gpkg_coordinates(files["cases.gpkg"], tmp_path)
    assert coordinates and not coordinates & (TRUE_POINTS | PHOTO_POINTS)
    text = pdf_text(files["dossier.pdf"])
    readable = {n: d for n, d in files.items() if not n.endswith((".pdf", ".jpg", ".gpkg"))}
    readable["dossier.pdf (text)"] = text.encode()
    # The manifest names the withheld case by reference and reason, nothing more.
    assert manifest["withheld_cases"] == [
        {"reference": high_risk["reference"], "reason": "high risk"}
    ]
    assert manifest["withheld_cases_summary"] == "1 case withheld: high risk"
    assert "1 case withheld: high risk" in text
    assert status["withheld_count"] == 1
    for name, data in readable.items():
        referenced = [] if name == "manifest.json" else [high_risk["reference"]]
        for secret in [
            *TRUE_TEXTS,
            *referenced,
            high_risk["title"],
            high_risk["id"],
            "Kilimani",
            "Nyamata",
            "Juma Otieno",
            "Mary Wanjiku",
            "Blasting",
            "juma_otieno",
        ]:
            assert secret.encode() not in data, f"{secret} leaked in {name}"
    for case in (world.cases["normal"], world.cases["sensitive"]):
        assert case["reference"] in text
    images = [n for n in files if n.startswith("evidence/")]
    assert len(images) == 2  # the two photos of the public cases; documents are withheld
    for name in images:
        assert image_exif(files[name]) == {}, f"{name} still carries EXIF"
    opened = {r["opened_on"] for r in csv.DictReader(io.StringIO(files["cases.csv"].decode()))}
    assert opened == {"2026-03"}
    assert verify_dossier(path) == []


async def test_the_pdf_embeds_its_fonts_and_has_a_cover_a_map_and_a_page_per_case(
    world: World,
) -> None:
    _, path = world.bundles["internal"]
    from pypdf import PdfReader

    data = members(path)["dossier.pdf"]
    assert "Map of the cases" in pdf_text(data)
    reader = PdfReader(io.BytesIO(data))
    fonts = {
        str(font["/BaseFont"])
        for page in reader.pages
        for font in (page["/Resources"].get("/Font") or {}).values()
    }
    assert any("DejaVu" in name or "Noto" in name for name in fonts), fonts
    assert len(reader.pages) >= 5  # cover, map, three cases
