"""Working on a recorded case: timeline steps, a photo with progress, a stale edit's conflict."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import case_body, make_person
from tests.web.conftest import OpenSession

# Committed rows: a live server or worker process reads them.
pytestmark = pytest.mark.committed


def noisy_photo(path: Path, side: int = 420) -> str:
    """A JPEG of a few hundred KB (noise compresses badly), so an upload takes a while."""
    noise = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=95)
    path.write_bytes(out.getvalue())
    return hashlib.sha256(out.getvalue()).hexdigest()


async def test_timeline_steps_and_a_photo_with_progress(
    open_session: OpenSession,
    api: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    tmp_path: Path,
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = (
        await api.post(
            "/api/v1/cases", json=case_body(title="Timeline case"), headers=paralegal.headers
        )
    ).json()
    s = await open_session()
    await s.sign_in(paralegal.email)
    await s.open(f"/cases/{case['id']}")
    await expect(s.page.get_by_role("heading", name="Timeline case")).to_be_visible()

    step = s.page.locator("select[name=kind]")
    await step.select_option("status_change")
    await s.page.locator("select[name=status]").select_option("investigation")
    await s.page.get_by_role("textbox", name="Note").fill("Site visit planned")
    await s.page.get_by_role("button", name="Add step").click()
    await expect(s.page.get_by_test_id("case-status")).to_have_text("Investigation")

    await step.select_option("remedy")
    await s.page.locator("select[name=remedy]").select_option("administrative_complaint")
    await s.page.get_by_role("textbox", name="Description").fill("Complaint filed with NEMA")
    await s.page.get_by_role("button", name="Add step").click()
    await expect(s.page.get_by_test_id("timeline")).to_contain_text("Complaint filed with NEMA")
    await step.select_option("deadline")
    await s.page.get_by_label("Due on").fill("2026-12-31")
    await s.page.get_by_role("textbox", name="Description").fill("NEMA must answer")
    await s.page.get_by_role("button", name="Add step").click()
    await expect(s.page.get_by_test_id("timeline")).to_contain_text("NEMA must answer")
    await step.select_option("outcome")
    await s.page.locator("select[name=outcome]").select_option("partial")
    await s.page.get_by_role("button", name="Add step").click()
    timeline = s.page.get_by_test_id("timeline").locator("li")
    await expect(timeline).to_have_count(5)  # with the case's opening
    await expect(s.page.get_by_test_id("timeline")).to_contain_text("Administrative complaint")
    events = (
        await api.get(f"/api/v1/cases/{case['id']}/events", headers=paralegal.headers)
    ).json()["items"]
    assert sorted(e["kind"] for e in events) == [
        "deadline",
        "outcome",
        "remedy",
        "status_change",
        "status_change",
    ]

    # a photo on a slow line: the progress bar moves while it goes
    photo = tmp_path / "river.jpg"
    digest = noisy_photo(photo)
    cdp = await s.context.new_cdp_session(s.page)
    await cdp.send("Network.enable")
    await cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 50, "downloadThroughput": -1, "uploadThroughput": 60_000},
    )
    await s.page.get_by_label("Add files").set_input_files(str(photo))
    await s.page.get_by_role("button", name="Send files").click()
    bar = s.page.get_by_role("progressbar", name="Sending river.jpg")
    await expect(bar).to_be_visible()
    await s.page.wait_for_function(
        "() => { const p = document.querySelector('progress');"
        " return p && p.value > 0 && p.value < 1 }"
    )
    await s.check_page("case-upload-progress")
    await cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    await expect(s.page.get_by_test_id("evidence-list").locator("li")).to_have_count(
        1, timeout=60_000
    )
    await expect(s.page.get_by_test_id("evidence-list")).to_contain_text(digest)
    await s.check_page("case-detail-timeline")


async def test_a_stale_edit_shows_both_versions(
    open_session: OpenSession, api: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = (
        await api.post(
            "/api/v1/cases", json=case_body(title="Original title"), headers=paralegal.headers
        )
    ).json()
    s = await open_session()
    await s.sign_in(paralegal.email)
    await s.open(f"/cases/{case['id']}/edit")
    await expect(s.page.get_by_label("Title")).to_have_value("Original title")

    # meanwhile a colleague saves the case
    other = await api.patch(
        f"/api/v1/cases/{case['id']}",
        json={"title": "Colleague's title"},
        headers={**paralegal.headers, "If-Match": str(case["version"])},
    )
    assert other.status_code == 200

    await s.page.get_by_label("Title").fill("My title")
    await s.page.get_by_role("button", name="Save changes").click()
    conflict = s.page.get_by_test_id("conflict")
    await expect(conflict).to_be_visible()
    await expect(s.page.get_by_test_id("mine-title")).to_have_text("My title")
    await expect(s.page.get_by_test_id("theirs-title")).to_have_text("Colleague's title")
    await s.check_page("case-conflict")
    stored = (await api.get(f"/api/v1/cases/{case['id']}", headers=paralegal.headers)).json()
    assert stored["title"] == "Colleague's title"  # nothing overwritten silently

    await s.page.get_by_role("button", name="Keep my version").click()
    await expect(s.page.get_by_role("heading", name="My title")).to_be_visible()
    stored = (await api.get(f"/api/v1/cases/{case['id']}", headers=paralegal.headers)).json()
    assert stored["title"] == "My title" and stored["version"] == case["version"] + 2
