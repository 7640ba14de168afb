"""Hotspot growth: analysis time on nested subsets of the bench cases, and its exponent."""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
import time

import asyncpg
from sqlalchemy.dialects.postgresql import insert

from bench.common import Table
from bench.maps.common import Bench, verdict
from cases.filters import CaseFilters
from corps.db import make_engine, make_sessionmaker
from corps.jobs import with_viewer
from corps.viewer import Viewer, acting_as
from maps.hotspot_cache import HotspotParams, cache_key, compute_job
from maps.hotspots import HotspotScope
from maps.models import HotspotResult

SUBSET_SIZES = (10_000, 100_000, 1_000_000)
GROWTH_TARGET = {"hexagons": 1.3, "dbscan": 1.1}  # slope of log(time) on log(cases)
DBSCAN_1M_TARGET_S = 60.0  # issue 15: the worker's DBSCAN job at 1,000,000 cases
SUBSET_GROUPS = """
SELECT updated_at, count(*) AS n FROM cases WHERE archived_at IS NULL
GROUP BY updated_at ORDER BY updated_at DESC
"""


def seed_steps(total: int) -> list[int]:
    """Seed totals that make the last 100k and 10k cases separate transactions (subsets)."""
    steps = {total - n for n in SUBSET_SIZES if n < total} | {total}
    return sorted(s for s in steps if s > 0)


async def subsets(raw: asyncpg.Connection, total: int) -> list[tuple[int, CaseFilters]]:
    """Filters selecting the newest ~10k, ~100k, ... cases (whole seeding steps), and all."""
    groups = await raw.fetch(SUBSET_GROUPS)
    out: list[tuple[int, CaseFilters]] = []
    for size in (s for s in SUBSET_SIZES if s < total):
        count = 0
        for newer, older in itertools.pairwise(groups):
            count += newer["n"]
            if count >= 0.9 * size:
                out.append((count, CaseFilters(updated_after=older["updated_at"])))
                break
    out.append((sum(g["n"] for g in groups), CaseFilters()))
    return out


async def hotspot_seconds(
    bench: Bench, method: str, filters: CaseFilters, limit_s: float
) -> float | None:
    """Wall time of the worker's hotspot job for an admin, or None past `limit_s`.

    It is the function arq runs for `hotspots.compute` (compute_job under with_viewer, as the
    worker registers it), with a worker's engine and session factory: it reads the queued
    request, computes, and stores the result, so the time is what a coordinator waits for.
    """
    scope = HotspotScope.of(bench.admin)
    params = HotspotParams(method=method, distance_km=25, min_cases=3, cell_km=50)
    key, spec = cache_key(scope, params, filters)
    viewer = Viewer.of(bench.admin)
    engine = make_engine(bench.settings)
    factory = make_sessionmaker(engine)
    try:
        with acting_as(viewer):
            async with factory() as session, session.begin():
                queued = {"params": spec, "status": "queued", "cases_fingerprint": None}
                await session.execute(
                    insert(HotspotResult)
                    .values(cache_key=key, **queued)
                    .on_conflict_do_update(index_elements=["cache_key"], set_=queued)
                )
        job = with_viewer("hotspots.compute", compute_job)
        start = time.perf_counter()
        try:
            run = job({"sessionmaker": factory}, cache_key=key, ej_viewer=viewer.to_json())
            assert await asyncio.wait_for(run, limit_s) == "done"
        except TimeoutError:
            return None
        return time.perf_counter() - start
    finally:
        await engine.dispose()


def growth_exponent(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of log(time) against log(cases)."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


async def hotspot_growth(bench: Bench, total: int, table: Table, limit_s: float) -> None:
    """Hotspot time at each subset size for both methods, and the growth exponent."""
    sizes = await subsets(bench.raw, total)
    for method in ("hexagons", "dbscan"):
        points: list[tuple[int, float]] = []
        stopped = False
        for count, filters in sizes:
            runs = 3 if count <= 200_000 else 1
            samples = [await hotspot_seconds(bench, method, filters, limit_s) for _ in range(runs)]
            if any(s is None for s in samples):
                stopped = True
                points.append((count, limit_s))
                table.add(f"hotspots {method} job, {count:,} cases", f"> {limit_s:.0f} s (stopped)")
                break
            seconds = statistics.median([s for s in samples if s is not None])
            points.append((count, seconds))
            target = verdict_1m = ""
            if method == "dbscan" and count >= 900_000:
                target = f"<= {DBSCAN_1M_TARGET_S:.0f} s"
                verdict_1m = verdict(seconds, DBSCAN_1M_TARGET_S) + "; "
            table.add(
                f"hotspots {method} job, {count:,} cases",
                f"{seconds:.2f} s",
                target=target,
                note=f"{verdict_1m}{runs} run(s); hotspots.compute as the worker runs it",
            )
        _add_growth(table, method, points, stopped=stopped)


def _add_growth(
    table: Table, method: str, points: list[tuple[int, float]], *, stopped: bool
) -> None:
    if len(points) < 2:
        table.add(f"hotspots {method} growth exponent", "n/a", note="needs two subset sizes")
        return
    slope = growth_exponent(points)
    note = f"slope of log(time) on log(n), {points[0][0]:,} to {points[-1][0]:,} cases"
    outcome = verdict(slope, GROWTH_TARGET[method])
    if stopped:  # the last time is a lower bound, so the slope is one too
        outcome = "MISSED" if slope > GROWTH_TARGET[method] else "undecided (stopped)"
        if len(points) > 2:
            note += f"; {growth_exponent(points[:-1]):.2f} without the stopped run"
    table.add(
        f"hotspots {method} growth exponent",
        f"{'>= ' if stopped else ''}{slope:.2f}",
        "",
        "",
        f"<= {GROWTH_TARGET[method]}",
        f"{outcome}; {note}",
    )
