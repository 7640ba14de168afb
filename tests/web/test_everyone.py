"""Everyone: five languages (Arabic right to left), an own password change, a clean sign-out."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import PASSWORD, case_body, make_person
from tests.web.conftest import OpenSession

# Committed rows: a live server or worker process reads them.
pytestmark = pytest.mark.committed

OUTBOX_SIZE = """() => new Promise((resolve) => {
  const open = indexedDB.open('ejcorps');
  open.onsuccess = () => {
    const request = open.result.transaction('outbox').objectStore('outbox').count();
    request.onsuccess = () => resolve(request.result);
  };
})"""


async def test_the_interface_speaks_five_languages(
    open_session: OpenSession, api: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    await api.post(
        "/api/v1/cases",
        json=case_body(title="Language case", people_affected=12500),
        headers=paralegal.headers,
    )
    s = await open_session()
    await s.sign_in(paralegal.email)
    language = s.page.locator("header label.lang select")
    expected = {
        "es": ("Casos", "Registrar un caso"),
        "fr": ("Cas", "Enregistrer un cas"),
        "pt": ("Casos", "Registar um caso"),
        "ar": ("القضايا", "تسجيل قضية"),
    }
    for code, (nav, button) in expected.items():
        await language.select_option(code)
        await expect(s.page.locator("html")).to_have_attribute("lang", code)
        await expect(s.page.get_by_role("link", name=button)).to_be_visible()
        await expect(s.page.get_by_role("navigation").get_by_role("link", name=nav)).to_be_visible()
    assert await s.page.evaluate("document.documentElement.dir") == "rtl"
    await s.check_page("cases-ar")
    await s.page.get_by_role("link", name="Language case").click()
    # dates and lists follow the language (Arabic marks and comma)
    facts = await s.page.locator("dl.facts").inner_text()
    assert "01\u200f/03\u200f/2026" in facts and "Mar" not in facts
    assert "تلوث الهواء و التعدين" in facts or "تلوث الهواء والتعدين" in facts
    await s.check_page("case-detail-ar")

    await language.select_option("es")
    assert await s.page.evaluate("document.documentElement.dir") == "ltr"
    await expect(s.page.get_by_text("12.500")).to_be_visible()
    await s.check_page("case-detail-es")
    await s.page.reload()  # the choice is kept on the device
    await expect(s.page.locator("html")).to_have_attribute("lang", "es")
    await language.select_option("en")


async def test_change_password_and_sign_out_clears_the_device(
    open_session: OpenSession, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    s = await open_session()
    await s.sign_in(paralegal.email)
    await s.page.get_by_role("link", name="Account").click()
    await s.page.get_by_label("Current password").fill("not-my-password")
    await s.page.get_by_label("New password").fill("a-brand-new-passphrase")
    await s.page.get_by_role("button", name="Change password").click()
    await expect(s.page.get_by_role("alert")).to_have_text("The current password is wrong.")
    await s.page.get_by_label("Current password").fill(PASSWORD)
    await s.page.get_by_role("button", name="Change password").click()
    await expect(s.page.get_by_role("status")).to_contain_text("Password changed")
    await s.check_page("account")

    # a case that cannot leave the phone yet waits in the outbox
    await s.page.route("**/api/v1/cases", lambda route: route.abort("internetdisconnected"))
    await s.page.get_by_role("link", name="Cases").click()
    await s.page.get_by_role("link", name="Record a case").click()
    await s.page.get_by_label("Title").fill("Waiting case")
    await s.page.get_by_role("checkbox", name="Mining", exact=True).check()
    await s.page.get_by_role("radio", name="Point").check()
    await s.page.get_by_label("Coordinates").fill("36.8, -1.3")
    await s.page.get_by_role("button", name="Use these coordinates").click()
    await s.page.get_by_role("button", name="Save case").click()
    await expect(s.page.get_by_role("link", name="Outbox (1)")).to_be_visible()
    await s.check_page("outbox")

    await s.page.get_by_role("link", name="Account").click()
    await s.page.get_by_role("button", name="Sign out").click()
    await expect(s.page.get_by_test_id("signout-warning")).to_contain_text("1 items")
    assert await s.page.evaluate(OUTBOX_SIZE) == 1
    await s.page.get_by_role("button", name="Delete them and sign out").click()
    await expect(s.page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert await s.page.evaluate(OUTBOX_SIZE) == 0
    await s.page.reload()
    await expect(s.page.get_by_role("heading", name="Sign in")).to_be_visible()  # cookie gone
    # the new password is the one that works now
    await s.sign_in(paralegal.email, "a-brand-new-passphrase")
