"""Watching a live server's /health while something heavy runs, on a machine that may be busy."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import httpx


async def health_baseline(client: httpx.AsyncClient) -> float:
    """The median /health time before the load: the machine's own slowness."""
    times = []
    for _ in range(5):
        started = time.monotonic()
        assert (await client.get("/health")).status_code == 200
        times.append(time.monotonic() - started)
    return statistics.median(times)


async def watch_health(
    client: httpx.AsyncClient, work: asyncio.Future[Any]
) -> list[tuple[float, float]]:
    """(seconds since start, seconds taken) of each /health asked while `work` runs."""
    began, waits = time.monotonic(), []
    while not work.done():
        started = time.monotonic()
        health = await client.get("/health")
        waits.append((round(started - began, 1), round(time.monotonic() - started, 2)))
        assert health.status_code == 200, health.text
        await asyncio.sleep(0.2)
    return waits


def allowed_wait(baseline: float) -> float:
    """How long one /health may take under the load.

    On a shared, loaded CI machine, accepting 40 requests at once costs the loop ~2 s by
    itself; work done on the loop (the unbounded repair, 40 Argon2 hashes) stalled it for
    tens of seconds. 5 s, or 10 times a slow machine's baseline, tells the two apart.
    """
    return max(5.0, 10 * baseline)
