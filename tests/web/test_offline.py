"""Offline on the phone: the shell from the service worker, a case and a photo in the outbox."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import case_body, make_person, photo_with_gps
from tests.web.conftest import OpenSession

# Committed rows: a live server or worker process reads them.
pytestmark = pytest.mark.committed


async def test_a_case_with_a_photo_recorded_offline_arrives_once_with_the_phones_hash(
    open_session: OpenSession,
    api: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    tmp_path: Path,
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    await api.post("/api/v1/cases", json=case_body(title="Known before"), headers=paralegal.headers)
    photo = tmp_path / "fence.jpg"
    photo.write_bytes(photo_with_gps(36.82, -1.29))
    phone_hash = hashlib.sha256(photo.read_bytes()).hexdigest()

    s = await open_session()
    await s.sign_in(paralegal.email)
    await expect(s.page.get_by_text("Known before")).to_be_visible()
    await s.page.wait_for_function("() => navigator.serviceWorker.controller !== null")

    await s.context.set_offline(True)
    await s.page.reload()  # the shell comes from the service worker, the list from the device
    await expect(s.page.get_by_role("status").filter(has_text="Offline")).to_be_visible()
    await expect(s.page.get_by_text("Known before")).to_be_visible()
    await expect(s.page.get_by_text("this is the copy saved on this device")).to_be_visible()

    await s.page.get_by_role("link", name="Record a case").click()
    await s.page.get_by_label("Title").fill("Fence photographed without signal")
    await s.page.get_by_role("checkbox", name="Land grab", exact=True).check()
    await s.page.get_by_label("Country (2-letter code)").fill("KE")
    await s.page.get_by_role("radio", name="Point").check()
    await s.page.get_by_label("Coordinates").fill("36.82, -1.29")
    await s.page.get_by_role("button", name="Use these coordinates").click()
    await s.page.get_by_label("Add files").set_input_files(str(photo))
    await expect(s.page.get_by_text(f"SHA-256 {phone_hash[:16]}")).to_be_visible()
    await s.page.get_by_role("button", name="Save case").click()

    outbox = s.page.get_by_test_id("outbox").locator("li")
    await expect(outbox).to_have_count(2)
    await expect(s.page.get_by_role("link", name="Outbox (2)")).to_be_visible()
    await s.check_page("outbox-offline")

    await s.context.set_offline(False)
    await expect(outbox).to_have_count(0, timeout=30_000)
    await expect(s.page.get_by_text("Nothing is waiting")).to_be_visible()
    # sending again (a second flush, a reconnect) must not duplicate anything
    await s.page.evaluate("() => window.dispatchEvent(new Event('online'))")
    await s.page.wait_for_timeout(1000)

    found = await api.get(
        "/api/v1/cases", params={"q": "Fence photographed"}, headers=paralegal.headers
    )
    cases = found.json()["items"]
    assert len(cases) == 1
    evidence = await api.get(f"/api/v1/cases/{cases[0]['id']}/evidence", headers=paralegal.headers)
    items = evidence.json()["items"]
    assert len(items) == 1
    assert items[0]["sha256"] == phone_hash
    custody = await api.get(f"/api/v1/evidence/{items[0]['id']}/custody", headers=paralegal.headers)
    assert custody.json()[0]["details"].get("client_sha256_matched") is True
