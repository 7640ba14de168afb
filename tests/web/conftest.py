"""Browser tests: a live server with the built app, Debian's Chromium driven by Playwright."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from corps.settings import Settings
from testing.factories import PASSWORD, Person
from testing.live import LiveServer, live_server, live_worker

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "web" / "dist"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 360, "height": 740}
DESK = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def built_app() -> Path:
    """The built web app (`make web` builds it; built here when missing)."""
    if not (DIST / "index.html").is_file() or not AXE.is_file():
        subprocess.run(["make", "web", "web/node_modules/.installed"], cwd=ROOT, check=True)
    return DIST


@pytest.fixture(scope="session")
async def server(
    settings: Settings, migrated: None, built_app: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveServer]:
    """One API server process (with a worker) serving the app for every browser test."""
    from cases.dossiers.signing import init_key

    key_dir = tmp_path_factory.mktemp("web-keys")
    init_key(key_dir, "EJ Corps (web tests)")
    with pytest.MonkeyPatch.context() as env:  # the child processes sign with this key
        env.setenv("EJ_SIGNING_KEY_DIR", str(key_dir))
        async with live_server(settings) as live, live_worker(settings):
            yield live


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium from the system (no browser download)."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        await chromium.close()


class Session:
    """A browser context on the live app that remembers every host it asked."""

    def __init__(self, context: BrowserContext, page: Page, server: LiveServer) -> None:
        self.context = context
        self.page = page
        self.server = server
        self.hosts: set[str] = set()
        self.console: list[str] = []
        context.on("request", lambda r: self._saw(r.url))
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    def _saw(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss"):
            self.hosts.add(parts.netloc)

    async def open(self, path: str) -> None:
        await self.page.goto(self.server.url + path)

    async def sign_in(self, email: str, password: str = PASSWORD) -> None:
        await self.open("/signin")
        await self.page.get_by_label("Email").fill(email)
        await self.page.get_by_label("Password").fill(password)
        await self.page.get_by_role("button", name="Sign in").click()
        await self.page.get_by_role("navigation").wait_for()

    async def screenshot(self, name: str) -> None:
        """Save what the user sees at this width to var/screenshots/."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        width = self.page.viewport_size["width"] if self.page.viewport_size else 0
        await self.page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)

    async def axe(self) -> list[dict[str, object]]:
        """axe-core's serious and critical violations on the current page."""
        result = await self.page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        return [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result
            if v["impact"] in ("serious", "critical")
        ]

    async def check_page(self, name: str) -> None:
        """Screenshot the page at 360 and 1280 px; axe finds nothing serious at either width."""
        start = self.page.viewport_size or PHONE
        for viewport in (PHONE, DESK) if start["width"] <= PHONE["width"] else (DESK, PHONE):
            await self.page.set_viewport_size(viewport)  # type: ignore[arg-type]
            await self.page.wait_for_timeout(150)  # let the layout (and a map) settle
            await self.screenshot(name)
            violations = await self.axe()
            assert not violations, f"{name} at {viewport['width']} px: " + json.dumps(
                violations, indent=1
            )
        await self.page.set_viewport_size(start)  # type: ignore[arg-type]

    def assert_only_own_host(self) -> None:
        own = urlsplit(self.server.url).netloc
        assert self.hosts <= {own}, f"requests to other hosts: {self.hosts - {own}}"


OpenSession = Callable[..., Awaitable[Session]]


@pytest.fixture
async def open_session(browser: Browser, server: LiveServer) -> AsyncIterator[OpenSession]:
    """Open browser sessions (phone width by default); each checks it asked only this host."""
    sessions: list[Session] = []

    async def make(viewport: dict[str, int] = PHONE, **options: object) -> Session:
        context = await browser.new_context(
            viewport=viewport,  # type: ignore[arg-type]
            locale="en-GB",
            service_workers="allow",
            **options,  # type: ignore[arg-type]
        )
        await context.add_init_script(path=str(AXE))  # through the debugger: CSP stays strict
        page = await context.new_page()
        page.set_default_timeout(20_000)
        session = Session(context, page, server)
        sessions.append(session)
        return session

    yield make
    for i, s in enumerate(sessions):
        print("\n".join(s.console))  # shown when a test fails
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await s.page.screenshot(path=str(SCREENSHOTS / f"last-session-{i}.png"), full_page=True)
        await s.context.close()
    for s in sessions:
        s.assert_only_own_host()


@pytest.fixture
async def api(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the live server (requests carry a person's bearer headers)."""
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        yield client


def headers(person: Person) -> dict[str, str]:
    """The bearer headers of a person."""
    return person.headers
