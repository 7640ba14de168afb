"""The web app on a weak line: page weight before the map, case list usable time cold and warm.

`python -m bench.web` (or `make bench`, which runs it after the others) starts `corps serve`
on the bench database, signs a paralegal in by the session cookie and drives Debian's
Chromium through Playwright:

* page weight: the JavaScript and CSS the case list loads (no map yet), as sent (gzip) and
  decoded; the issue's budget is 150 KB compressed;
* usable time: from navigation until the first case of the list is on screen, with Chromium's
  network emulation at 400 kbit/s both ways and 400 ms round trip; cold (a new profile: no
  HTTP cache, no service worker) and warm (the service worker and the device's copy of the list
  from an earlier visit). Targets: 6 s cold, 1.5 s warm. Median of five runs each.

The figures are written between the `bench:web` markers of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, async_playwright

from bench.common import Table, bench_settings, write_block
from corps.auth.session import SESSION_COOKIE
from corps.auth.tokens import issue_token
from corps.settings import Settings
from testing.live import live_server

CHROMIUM = "/usr/bin/chromium"
SLOW = {  # Chromium's units: bytes per second and milliseconds
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400_000 / 8,
    "uploadThroughput": 400_000 / 8,
}
FIRST_CASE = "[data-testid=case-list] li"
RUNS = 5


async def _signed_in(browser: Any, url: str, token: str) -> BrowserContext:
    context: BrowserContext = await browser.new_context(viewport={"width": 360, "height": 740})
    await context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": url}])
    return context


async def page_weight(browser: Any, url: str, token: str) -> dict[str, int]:
    """Bytes of script and style the case list loads, as sent and decoded."""
    context = await _signed_in(browser, url, token)
    page = await context.new_page()
    seen: list[Any] = []
    page.on("requestfinished", lambda request: seen.append(request))
    await page.goto(f"{url}/cases")
    await page.wait_for_selector(FIRST_CASE)
    await page.wait_for_load_state("networkidle")
    sent = decoded = 0
    for request in seen:
        if request.resource_type not in ("script", "stylesheet"):
            continue
        sizes = await request.sizes()
        response = await request.response()
        sent += sizes["responseBodySize"]
        decoded += len(await response.body()) if response else 0
    await context.close()
    return {"sent": sent, "decoded": decoded}


async def _throttled_load(context: BrowserContext, url: str) -> float:
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send("Network.emulateNetworkConditions", SLOW)
    start = time.perf_counter()
    await page.goto(f"{url}/cases", wait_until="commit")
    await page.wait_for_selector(FIRST_CASE, timeout=60_000)
    elapsed = time.perf_counter() - start
    await page.close()
    return elapsed


async def usable_times(browser: Any, url: str, token: str) -> tuple[list[float], list[float]]:
    """Seconds until the list shows its first case: cold profiles, then warm ones."""
    cold, warm = [], []
    for _ in range(RUNS):
        context = await _signed_in(browser, url, token)
        cold.append(await _throttled_load(context, url))
        await context.close()
    for _ in range(RUNS):
        context = await _signed_in(browser, url, token)
        page = await context.new_page()  # an earlier visit: the shell and the list are kept
        await page.goto(f"{url}/cases")
        await page.wait_for_selector(FIRST_CASE)
        await page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        await page.close()
        warm.append(await _throttled_load(context, url))
        await context.close()
    return cold, warm


def _write_results(rows: str, stamp: str) -> None:
    body = f"Run {stamp} on {os.cpu_count()} CPUs.\n\n{rows}"
    write_block("web", body, heading="# Web app (issue 12)")


async def run(settings: Settings, paralegal_id: str, table: Table) -> None:
    """Measure the web app against a live server on the bench database."""
    token, _ = issue_token(settings, uuid.UUID(paralegal_id))
    local = Table()
    async with live_server(settings) as server, async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        weight = await page_weight(browser, server.url, token)
        cold, warm = await usable_times(browser, server.url, token)
        await browser.close()
    for target in (table, local):
        target.add(
            "web: JS + CSS before the map (case list)",
            f"{weight['sent'] / 1024:.1f} KB sent (gzip)",
            f"{weight['decoded'] / 1024:.1f} KB decoded",
            "",
            "<= 150 KB compressed",
            "met" if weight["sent"] <= 150 * 1024 else "MISSED",
        )
        for name, samples, limit in (("cold", cold, 6.0), ("warm (service worker)", warm, 1.5)):
            median = statistics.median(samples)
            target.add(
                f"web: case list usable, {name}, 400 kbit/s and 400 ms RTT",
                f"median {median:.2f} s",
                f"runs: {', '.join(f'{s:.2f}' for s in samples)} s",
                "",
                f"<= {limit} s",
                "met" if median <= limit else "MISSED",
            )
    _write_results(local.markdown(), datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))


async def main() -> None:
    """Seed a small bench database if needed and measure the web app."""
    from bench.__main__ import prepare

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=2_000, help="cases in the bench database")
    args = parser.parse_args()
    _, paralegal_id = await prepare(args.cases)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ejbench-web-") as tmp:
        table = Table()
        settings = bench_settings(Path(tmp) / "storage")
        redis = os.environ.get("EJ_BENCH_REDIS_URL")
        if redis:  # a Redis database of one's own on a shared machine
            settings = settings.model_copy(update={"redis_url": redis})
        await run(settings, paralegal_id, table)
        print("\n" + table.markdown())


if __name__ == "__main__":
    asyncio.run(main())
