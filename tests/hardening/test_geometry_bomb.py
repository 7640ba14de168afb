"""Finding 1: a repair bomb is refused with 422 in bounded time and memory; the API stays up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from geo import geometry_work
from geo.geometry_work import GeometryLimits
from testing.factories import case_body, make_case, make_person
from testing.live import live_server
from tests.hardening.responsiveness import allowed_wait, health_baseline, watch_health

# Committed rows: a live server or worker process reads them.
pytestmark = pytest.mark.committed

MEMORY_LIMIT_KB = 1024 * 1024  # the server's RSS stays under 1 GB through the bomb


def bow_ties(count: int) -> dict[str, object]:
    """A MultiPolygon of `count` overlapping self-intersecting squares (5 vertices each)."""
    polygons = []
    for i in range(count):
        x, y = 36.0 + (i % 100) * 0.001, -1.0 + (i // 100) * 0.001
        ring = [[x, y], [x + 0.05, y + 0.05], [x + 0.05, y], [x, y + 0.05], [x, y]]
        polygons.append([ring])
    return {"type": "MultiPolygon", "coordinates": polygons}


@pytest.fixture
def tight_limits() -> Iterator[None]:
    """Limits small enough that the in-process tests finish in seconds."""
    before = geometry_work._limits
    geometry_work.configure(GeometryLimits(cpu_seconds=2, timeout_seconds=4))
    yield
    geometry_work.configure(before)


async def test_a_repair_bomb_is_refused_as_too_complex(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, tight_limits: None
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    started = time.monotonic()
    response = await client.post(
        "/api/v1/cases?repair=true",
        json=case_body(geometry=bow_ties(400)),
        headers=paralegal.headers,
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "too complex to repair; simplify it or split it" in response.json()["detail"]
    assert time.monotonic() - started < 10


async def test_patch_takes_the_same_bounded_path(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, tight_limits: None
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    response = await client.patch(
        f"/api/v1/cases/{case['id']}?repair=true",
        json={"geometry": bow_ties(400)},
        headers=paralegal.headers,
    )
    assert response.status_code == 422, response.text
    assert "too complex" in response.json()["detail"]


async def test_an_ordinary_repair_still_works_in_the_child(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    response = await client.post(
        "/api/v1/cases?repair=true", json=case_body(geometry=bow_ties(2)), headers=paralegal.headers
    )
    assert response.status_code == 201, response.text
    invalid = await client.post(
        "/api/v1/cases", json=case_body(geometry=bow_ties(2)), headers=paralegal.headers
    )
    assert invalid.status_code == 422 and "Self-intersection" in invalid.json()["detail"]


async def test_a_live_server_survives_the_bomb_under_1_gb_and_keeps_answering(
    db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    async with (
        live_server(settings, EJ_GEOMETRY_CPU_S="3", EJ_GEOMETRY_TIMEOUT_S="6") as server,
        httpx.AsyncClient(base_url=server.url, headers=paralegal.headers, timeout=60) as client,
    ):
        baseline = await health_baseline(client)
        bomb = client.post("/api/v1/cases?repair=true", json=case_body(geometry=bow_ties(20_000)))
        task = asyncio.ensure_future(bomb)
        waits = await watch_health(client, task)
        response = await task
        slowest = max(wait for _, wait in waits)
        peak = server.memory_kb("VmHWM")
    assert response.status_code == 422, response.text
    assert "too complex to repair" in response.json()["detail"]
    assert slowest < allowed_wait(baseline), f"/health (base {baseline:.2f} s) took {waits}"
    assert peak < MEMORY_LIMIT_KB, f"the server reached {peak // 1024} MB"
