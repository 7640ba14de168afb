"""The dossier PDF read back: PDF/A with attachments, real geography, labels apart, a locator
per case, the withheld count, scripts that render, and nothing true at the public level."""

from __future__ import annotations

import io
import itertools
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from cases.dossiers.map_labels import place_labels
from cases.dossiers.map_svg import MapLayers, overview_box, overview_map_svg
from cases.evidence.jobs import process_evidence
from corps.settings import Settings
from testing.factories import make_case, make_person, photo_with_gps, upload
from tests.cases.dossiers.conftest import built_zip, members, pdf_text

# Committed rows: module-scoped fixtures build dossiers once for every test of the module.
pytestmark = pytest.mark.committed

BURMESE = "မြစ်ကမ်းပါး ရွာသားများ"
DEVANAGARI = "नदी किनारे के गाँव"
ARABIC = "تلوث مياه النهر"
# Four clusters of cases, as in the campaign the issue describes: labels would print over
# each other if they were not placed.
CLUSTERS = [(36.80, -1.30), (34.75, 0.30), (32.58, 0.35), (30.06, -1.95)]
PER_CLUSTER = 4
PAGES_OUT = Path(os.environ.get("EJ_DOSSIER_PAGES", "var/dossier-pages"))


@dataclass
class Pdfs:
    """The PDF at each level, and what went into it."""

    data: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[str, bytes] = field(default_factory=dict)
    cases: list[dict[str, Any]] = field(default_factory=list)


def _point(centre: tuple[float, float], n: int) -> list[float]:
    return [round(centre[0] + 0.011 * (n % 2), 4), round(centre[1] + 0.013 * (n // 2), 4)]


@pytest.fixture(scope="module")
async def pdfs(
    engine: AsyncEngine,
    settings: Settings,
    dossier_app: FastAPI,
    tmp_path_factory: pytest.TempPathFactory,
) -> Pdfs:
    tmp = tmp_path_factory.mktemp("pdf")
    out = Pdfs()
    transport = httpx.ASGITransport(app=dossier_app, raise_app_exceptions=False)
    titles = itertools.cycle([BURMESE, DEVANAGARI, ARABIC, "Quarry dust over the school"])
    async with (
        async_sessionmaker(engine, expire_on_commit=False)() as db,
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        paralegal = await make_person(db, settings, "paralegal")
        for c, centre in enumerate(CLUSTERS):
            for n in range(PER_CLUSTER):
                sensitivity = "high_risk" if (c, n) in {(0, 3), (1, 3), (2, 3)} else "normal"
                case = await make_case(
                    client,
                    paralegal,
                    title=next(titles),
                    sensitivity=sensitivity,
                    geometry={"type": "Point", "coordinates": _point(centre, n)},
                    place_name=f"Village {c}-{n}",
                    respondents=[
                        {"name": f"Respondent Mining {n % 3}", "kind": "company"},
                        {"name": "Juma Otieno", "kind": "other"},
                    ],
                )
                out.cases.append(case)
                event = await client.post(
                    f"/api/v1/cases/{case['id']}/events",
                    headers=paralegal.headers,
                    json={
                        "kind": "remedy",
                        "occurred_on": "2026-03-15",
                        "description": "Complaint filed with the agency by Mary Wanjiku",
                        "public_note": "A complaint went to the environment agency",
                        "remedy": "administrative_complaint",
                        "outcome": "obtained" if n == 0 else "pending",
                    },
                )
                assert event.status_code == 201, event.text
                if n == 0:
                    photo = photo_with_gps(*_point(centre, n), taken="2026:03:04 09:00:00")
                    sent = await upload(client, paralegal, case["id"], photo, filename="f.jpg")
                    assert sent.status_code == 201, sent.text
                    async with async_sessionmaker(engine)() as session, session.begin():
                        await process_evidence(
                            session, dossier_app.state.storage, uuid.UUID(sent.json()["id"])
                        )
        ids = [c["id"] for c in out.cases]
        for level in ("internal", "public"):
            _, path = await built_zip(
                client, dossier_app, paralegal, tmp, case_ids=ids, level=level
            )
            files = members(path)
            out.data[level], out.manifests[level] = files["dossier.pdf"], files["manifest.json"]
    return out


def raster(pdf: bytes, page: int, tmp: Path, *, dpi: int = 60) -> Image.Image:
    """One page as pixels, drawn by poppler's pdftoppm."""
    source = tmp / f"r-{uuid.uuid4().hex}.pdf"
    source.write_bytes(pdf)
    prefix = tmp / f"page-{uuid.uuid4().hex}"
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            str(dpi),
            "-f",
            str(page),
            "-l",
            str(page),
            "-png",
            "-singlefile",
            str(source),
            str(prefix),
        ],
        check=True,
        timeout=120,
    )
    return Image.open(f"{prefix}.png").convert("RGB")


def page_of(pdf: bytes, text: str) -> int:
    """The 1-based number of the first page whose text holds `text`."""
    for number, page in enumerate(PdfReader(io.BytesIO(pdf)).pages, start=1):
        if text in (page.extract_text() or ""):
            return number
    raise AssertionError(f"{text!r} is on no page")


def share(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 6) -> float:
    """The share of pixels within `tolerance` of a colour."""
    pixels = list(image.get_flattened_data())
    close = sum(
        1 for p in pixels if all(abs(a - b) <= tolerance for a, b in zip(p, colour, strict=True))
    )
    return close / len(pixels)


async def test_the_pdf_is_pdf_a_3b_and_carries_the_bundle_files(pdfs: Pdfs) -> None:
    reader = PdfReader(io.BytesIO(pdfs.data["internal"]))
    xmp = reader.xmp_metadata
    assert xmp is not None
    raw = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in raw and 'pdfaid:conformance="B"' in raw
    attached = set(reader.attachments)
    assert {"cases.geojson", "cases.csv", "cases.kml", "cases.gpkg"} <= attached
    assert any(name.startswith("custody/") for name in attached)
    assert reader.attachments["cases.csv"][0].startswith(b"id,")


async def test_the_overview_map_draws_country_outlines(pdfs: Pdfs, tmp_path: Path) -> None:
    pdf = pdfs.data["internal"]
    text = pdf_text(pdf)
    assert "Map of the cases" in text and "Natural Earth" in text
    image = raster(pdf, page_of(pdf, "Map of the cases"), tmp_path)
    assert share(image, (0xF3, 0xF0, 0xE6)) > 0.05  # land, filled from the outlines
    assert share(image, (0x8D, 0x89, 0x7E), tolerance=40) > 0.0005  # the borders between


async def test_no_two_marker_labels_overlap(pdfs: Pdfs) -> None:
    geometries = [
        {"type": "Point", "coordinates": _point(c, n)} for c in CLUSTERS for n in range(8)
    ]
    box = overview_box(geometries)
    assert box is not None
    drawn = overview_map_svg(list(enumerate(geometries, start=1)), MapLayers(box))
    labels = drawn.labels
    assert len(labels) == len(geometries)
    for a, b in itertools.combinations(labels, 2):
        assert not a.box.overlaps(b.box), (a, b)
    # And under pressure: 120 markers on a small frame, every label apart from the others.
    crowded = [(n, (200 + (n % 7) * 3.0, 150 + (n // 7) * 2.0)) for n in range(1, 121)]
    placed = place_labels(crowded, width=1000, height=700)
    for a, b in itertools.combinations(placed, 2):
        assert not a.box.overlaps(b.box), (a, b)


async def test_each_case_has_a_locator_map_and_the_withheld_count_is_right(pdfs: Pdfs) -> None:
    internal, public = pdf_text(pdfs.data["internal"]), pdf_text(pdfs.data["public"])
    assert internal.count("The case's recorded place.") == len(pdfs.cases)
    shown = len(pdfs.cases) - 3
    assert public.count("The grid cell that contains the case") == shown
    assert "3 cases withheld: high risk" in public
    assert "withheld" not in internal.split("Summary")[0]


async def test_the_public_pdf_has_no_true_place_name_or_coordinate(pdfs: Pdfs) -> None:
    text = pdf_text(pdfs.data["public"])
    for case in pdfs.cases:
        lon, lat = case["geometry"]["coordinates"]
        for secret in (f"{lat:.5f}", f"{lon:.5f}", f"{lat:.4f}", f"{lon:.4f}", case["place_name"]):
            assert secret not in text, secret
    assert "Juma Otieno" not in text and "Mary Wanjiku" not in text
    flat = " ".join(text.split())
    # The event stays, with its public note in place of the description (docs/privacy.md).
    assert "A complaint went to the environment agency" in flat
    assert "Complaint filed with the agency" not in flat
    assert "Respondent Mining 1" in text  # companies stay named
    # At internal level the photo's capture place is shown.
    internal = pdf_text(pdfs.data["internal"])
    lon, lat = _point(CLUSTERS[0], 0)
    assert f"{lat:.5f}" in internal


async def test_arabic_burmese_and_devanagari_render_with_their_fonts(
    pdfs: Pdfs, tmp_path: Path
) -> None:
    reader = PdfReader(io.BytesIO(pdfs.data["internal"]))
    fonts = {
        str(font["/BaseFont"])
        for page in reader.pages
        for font in (page["/Resources"].get("/Font") or {}).values()
    }
    # "EJ Arabic" is Noto Naskh Arabic, limited to the Arabic ranges (cases.dossiers.pdf_html).
    for family in ("NotoSansMyanmar", "NotoSansDevanagari", "EJArabic"):
        assert any(family in name.replace("-", "") for name in fonts), (family, fonts)
    # Pixels: the Burmese title, drawn by pdftoppm, is ink in Myanmar glyph shapes. A missing
    # glyph (tofu) is drawn as a hollow box: its ink would fill its outline only.
    page = page_of(pdfs.data["internal"], "1. ORG-")  # case 1's title is the Burmese one
    image = raster(pdfs.data["internal"], page, tmp_path, dpi=100)
    assert share(image, (0, 0, 0), tolerance=90) > 0.002


async def test_page_images_for_review(pdfs: Pdfs, tmp_path: Path) -> None:
    """Cover, overview map and one case page as PNGs under var/dossier-pages (not committed)."""
    pdf = pdfs.data["public"]
    pages = {
        "cover": 1,
        "overview-map": page_of(pdf, "Map of the cases"),
        "case-page": page_of(pdf, "The grid cell that contains the case"),
        "annex": page_of(pdf, "How to verify this dossier"),
    }
    PAGES_OUT.mkdir(parents=True, exist_ok=True)
    for name, number in pages.items():
        image = raster(pdf, number, tmp_path, dpi=110)
        image.save(PAGES_OUT / f"public-{name}.png")
    internal = pdfs.data["internal"]
    raster(internal, page_of(internal, "The case's recorded place."), tmp_path, dpi=110).save(
        PAGES_OUT / "internal-case-page.png"
    )
    raster(internal, page_of(internal, "Map of the cases"), tmp_path, dpi=110).save(
        PAGES_OUT / "internal-overview-map.png"
    )
    (PAGES_OUT / "public-dossier.pdf").write_bytes(pdf)
    assert shutil.which("pdftoppm")
