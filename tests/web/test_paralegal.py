"""The paralegal on a 360 px phone: sign in, find cases, record a case four ways."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import case_body, make_org, make_person
from tests.web.conftest import OpenSession

# Committed rows: a live server or worker process reads them.
pytestmark = pytest.mark.committed

MAP_READY = "() => !!window.ejMap && window.ejMap.loaded()"


async def test_sign_in_and_find_cases(
    open_session: OpenSession, api: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    org = await make_org(db)
    paralegal = await make_person(db, settings, "paralegal", org)
    for i in range(30):
        status = "investigation" if i % 3 == 0 else "intake"
        body = case_body(title=f"River case {i:02d}", status=status)
        if i == 7:
            body = case_body(title="Cement dust at Mbeya market", issue_types=["air_pollution"])
        response = await api.post("/api/v1/cases", json=body, headers=paralegal.headers)
        assert response.status_code == 201, response.text

    s = await open_session()
    await s.open("/cases")
    await expect(s.page.get_by_role("heading", name="Sign in")).to_be_visible()
    await s.check_page("signin")
    await s.page.get_by_label("Email").fill(paralegal.email)
    await s.page.get_by_label("Password").fill("not the password")
    await s.page.get_by_role("button", name="Sign in").click()
    await expect(s.page.get_by_role("alert")).to_have_text("Wrong email or password.")
    await s.sign_in(paralegal.email)

    cards = s.page.get_by_test_id("case-list").locator("li")
    await expect(cards).to_have_count(25)
    await s.check_page("cases")
    # infinite scroll on the keyset cursor: the end of the list asks for the next page
    await s.page.get_by_role("button", name="Show more").scroll_into_view_if_needed()
    await expect(cards).to_have_count(30)
    assert (
        await s.page.evaluate("document.documentElement.scrollWidth") <= 360
    )  # no sideways scroll

    await s.page.get_by_label("Search").fill("cement")
    await expect(cards).to_have_count(1)
    await expect(cards.first).to_contain_text("Cement dust at Mbeya market")
    await s.page.get_by_label("Search").fill("")
    await s.page.get_by_label("Status").select_option("investigation")
    await expect(cards).to_have_count(10)
    await s.page.get_by_label("Issue type").select_option("mining")
    await expect(cards).to_have_count(10)
    await expect(cards.first).to_contain_text("Investigation")


async def fill_case_basics(s: object, title: str) -> None:
    page = s.page  # type: ignore[attr-defined]
    await page.get_by_label("Title").fill(title)
    await page.get_by_role("checkbox", name="Land grab", exact=True).check()
    await page.get_by_label("What happened").fill(
        "Fences went up overnight around the grazing land."
    )
    await page.get_by_label("Respondents").fill("Acme Agro Ltd")
    await page.get_by_label("People affected").fill("340")
    await page.get_by_label("Sensitivity").select_option("sensitive")


async def test_record_a_case_by_drawing_a_polygon(
    open_session: OpenSession, api: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    s = await open_session()
    await s.sign_in(paralegal.email)
    await s.page.get_by_role("link", name="Record a case").click()
    await expect(s.page.get_by_role("heading", name="Record a case")).to_be_visible()
    await expect(s.page.get_by_label("Country (2-letter code)")).to_have_value("KE")
    await fill_case_basics(s, "Fenced grazing land at Olkaria")
    await s.check_page("case-new")

    await s.page.get_by_role("button", name="Draw on the map").click()
    await s.page.wait_for_function(MAP_READY)
    await s.page.evaluate("() => window.ejMap.jumpTo({center: [36.30, -0.88], zoom: 13})")
    await s.page.wait_for_function(MAP_READY)
    box = await s.page.get_by_test_id("draw-map").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for dx, dy in ((-60, -50), (60, -50), (50, 60), (-50, 60)):
        await s.page.mouse.click(cx + dx, cy + dy)
    await expect(s.page.get_by_test_id("vertex-count")).to_have_text("4 points marked")
    before = await s.page.get_by_label("Coordinates").input_value()
    # the vertices are editable: drag the first one
    await s.page.mouse.move(cx - 60, cy - 50)
    await s.page.mouse.down()
    await s.page.mouse.move(cx - 80, cy - 70, steps=5)
    await s.page.mouse.up()
    coordinates = s.page.get_by_label("Coordinates")
    await expect(coordinates).not_to_have_value(before)  # the form catches up with the drag
    after = await coordinates.input_value()
    assert after != before and after.splitlines()[1:] == before.splitlines()[1:]
    await s.check_page("case-new-drawn")

    await s.page.get_by_role("button", name="Save case").click()
    await expect(
        s.page.get_by_role("heading", name="Fenced grazing land at Olkaria")
    ).to_be_visible()
    case_id = s.page.url.rsplit("/", 1)[1]
    stored = (await api.get(f"/api/v1/cases/{case_id}", headers=paralegal.headers)).json()
    assert stored["geometry"]["type"] == "Polygon"
    ring = stored["geometry"]["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    assert all(abs(x - 36.30) < 0.05 and abs(y + 0.88) < 0.05 for x, y in ring)
    assert stored["people_affected"] == 340 and stored["sensitivity"] == "sensitive"
    assert [r["name"] for r in stored["respondents"]] == ["Acme Agro Ltd"]
    await s.check_page("case-detail")


async def test_record_a_case_with_the_keyboard_gps_and_a_file(
    open_session: OpenSession,
    api: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    tmp_path: Path,
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    s = await open_session(
        geolocation={"latitude": -1.2921, "longitude": 36.8219, "accuracy": 12},
        permissions=["geolocation"],
    )
    await s.sign_in(paralegal.email)
    await s.open("/cases/new")

    # coordinates typed: the keyboard alternative to drawing
    await fill_case_basics(s, "Typed coordinates case")
    await s.page.get_by_role("radio", name="Area").check()
    await s.page.get_by_label("Coordinates").fill("36.78, -1.29\n36.79, -1.29\n36.79, -1.28")
    await s.page.get_by_role("button", name="Use these coordinates").click()
    await expect(s.page.get_by_test_id("vertex-count")).to_have_text("3 points marked")
    await s.page.get_by_role("button", name="Save case").click()
    await expect(s.page.get_by_role("heading", name="Typed coordinates case")).to_be_visible()
    typed = (
        await api.get(f"/api/v1/cases/{s.page.url.rsplit('/', 1)[1]}", headers=paralegal.headers)
    ).json()
    assert typed["geometry"]["coordinates"][0][:3] == [
        [36.78, -1.29],
        [36.79, -1.29],
        [36.79, -1.28],
    ]

    # the phone's position, with its accuracy shown
    await s.open("/cases/new")
    await fill_case_basics(s, "GPS position case")
    await s.page.get_by_role("button", name="Use my position").click()
    await expect(s.page.get_by_text(re.compile(r"accurate to about 12 m"))).to_be_visible()
    await s.page.get_by_role("button", name="Save case").click()
    await expect(s.page.get_by_role("heading", name="GPS position case")).to_be_visible()
    gps = (
        await api.get(f"/api/v1/cases/{s.page.url.rsplit('/', 1)[1]}", headers=paralegal.headers)
    ).json()
    assert gps["geometry"] == {"type": "Point", "coordinates": [36.8219, -1.2921]}

    # a KML file from the phone
    kml = tmp_path / "boundary.kml"
    kml.write_text(
        '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Placemark>'
        "<LineString><coordinates>36.70,-1.30,0 36.72,-1.31,0 36.75,-1.33,0</coordinates>"
        "</LineString></Placemark></kml>"
    )
    await s.open("/cases/new")
    await fill_case_basics(s, "Pipeline route from a KML file")
    await s.page.get_by_label("Load KML, GPX or GeoJSON").set_input_files(str(kml))
    await expect(s.page.get_by_test_id("vertex-count")).to_have_text("3 points marked")
    await s.page.get_by_role("button", name="Save case").click()
    await expect(
        s.page.get_by_role("heading", name="Pipeline route from a KML file")
    ).to_be_visible()
    line = (
        await api.get(f"/api/v1/cases/{s.page.url.rsplit('/', 1)[1]}", headers=paralegal.headers)
    ).json()
    assert line["geometry"]["type"] == "LineString"
    assert line["geometry"]["coordinates"] == [[36.70, -1.30], [36.72, -1.31], [36.75, -1.33]]
