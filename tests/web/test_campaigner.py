"""The campaigner's dossier desk: a public dossier requested, watched, downloaded and verified."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import case_body, make_person
from tests.web.conftest import OpenSession

# Committed rows: a live server or worker process reads them.
pytestmark = pytest.mark.committed


async def test_a_public_dossier_is_requested_downloaded_and_verifies(
    open_session: OpenSession,
    api: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    tmp_path: Path,
) -> None:
    coordinator = await make_person(db, settings, "coordinator")
    campaigner = await make_person(db, settings, "campaigner")
    case_ids = []
    for title in ("Tailings in the river", "Dust over the village"):
        paralegal = await make_person(db, settings, "paralegal")
        response = await api.post(
            "/api/v1/cases", json=case_body(title=title), headers=paralegal.headers
        )
        case_ids.append(response.json()["id"])
    campaign = await api.post(
        "/api/v1/campaigns",
        json={
            "title": "Clean Kilimani",
            "rationale": "Two quarries, one valley",
            "case_ids": case_ids,
        },
        headers=coordinator.headers,
    )
    campaign_id = campaign.json()["id"]

    s = await open_session()
    await s.sign_in(campaigner.email)
    await expect(s.page.get_by_role("heading", name="Campaigns")).to_be_visible()
    await s.check_page("campaigns")
    await s.page.get_by_role("link", name="Clean Kilimani").first.click()
    await expect(s.page.get_by_test_id("campaign-cases").locator("li")).to_have_count(2)
    await s.page.get_by_role("button", name="Show on the map").click()
    await s.page.wait_for_function("() => !!window.ejMap && window.ejMap.loaded()")
    await s.check_page("campaign-map")

    await s.page.locator("select[name=level]").select_option("public")
    await s.page.get_by_role("button", name="Request dossier").click()
    status = s.page.get_by_test_id("dossier-status")
    await expect(status).to_be_visible()
    await expect(status).to_have_attribute("data-status", "done", timeout=120_000)
    await s.check_page("campaign-dossier")
    async with s.page.expect_download() as download_info:
        await s.page.get_by_test_id("dossier-download").click()
    download = await download_info.value
    bundle = tmp_path / "dossier.zip"
    await download.save_as(bundle)

    verified = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "corps",
            "verify-dossier",
            str(bundle),
            "--key",
            f"{s.server.url}/api/v1/dossiers/signing-keys",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr

    await s.page.get_by_role("link", name="Dossiers").click()
    listed = s.page.get_by_test_id("dossiers").locator("li")
    await expect(listed.first).to_contain_text("Public")
    await expect(listed.first.get_by_test_id("dossier-download")).to_be_visible()
    await s.check_page("dossiers")
    listing = await api.get("/api/v1/dossiers", headers=campaigner.headers)
    assert any(d["campaign_id"] == campaign_id for d in listing.json()["items"])
