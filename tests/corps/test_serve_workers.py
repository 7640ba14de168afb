"""`corps serve --workers N` runs N API processes, each answering with its own pools."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from corps.settings import Settings
from testing.live import live_server

# Committed rows: a live server or worker process reads them.
pytestmark = pytest.mark.committed


def children(pid: int) -> list[int]:
    """The process ids whose parent is pid."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text:
            found.append(int(status.parent.name))
    return found


async def test_two_workers_serve_requests_side_by_side(settings: Settings) -> None:
    async with live_server(settings, workers=2) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            answers = await asyncio.gather(*(client.get("/health") for _ in range(20)))
        assert all(answer.status_code == 200 for answer in answers)
        # uvicorn's supervisor, plus its worker processes (and the resource tracker it may start)
        assert len(children(server.pid)) >= 2
