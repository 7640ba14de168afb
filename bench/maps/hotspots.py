"""Hotspot growth: analysis time on nested subsets of the bench cases, and its exponent."""

from __future__ import annotations

import itertools
import math
import statistics
import time

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker

from bench.common import Table
from bench.maps.common import Bench, verdict
from cases.filters import CaseFilters
from maps.hotspot_cache import HotspotParams, analyse
from maps.hotspots import HotspotScope

SUBSET_SIZES = (10_000, 100_000, 1_000_000)
GROWTH_TARGET = 1.3
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
    """Wall time of maps.hotspot_cache.analyse for an admin, or None past `limit_s`."""
    scope = HotspotScope.of(bench.admin)
    params = HotspotParams(method=method, distance_km=25, min_cases=3, cell_km=50)
    async with async_sessionmaker(bench.engine)() as session:
        await session.execute(text(f"SET statement_timeout = {int(limit_s * 1000)}"))
        await scope.view_as(session)
        start = time.perf_counter()
        try:
            await analyse(session, scope, params, filters)
        except DBAPIError as exc:
            if "statement timeout" in str(exc):
                return None
            raise
        finally:
            await session.rollback()
        return time.perf_counter() - start


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
            runs = 3 if count <= 20_000 else 1
            samples = [await hotspot_seconds(bench, method, filters, limit_s) for _ in range(runs)]
            if any(s is None for s in samples):
                stopped = True
                points.append((count, limit_s))
                table.add(f"hotspots {method}, {count:,} cases", f"> {limit_s:.0f} s (stopped)")
                break
            seconds = statistics.median([s for s in samples if s is not None])
            points.append((count, seconds))
            table.add(
                f"hotspots {method}, {count:,} cases", f"{seconds:.2f} s", note=f"{runs} run(s)"
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
    outcome = verdict(slope, GROWTH_TARGET)
    if stopped:  # the last time is a lower bound, so the slope is one too
        outcome = "MISSED" if slope > GROWTH_TARGET else "undecided (stopped)"
        if len(points) > 2:
            note += f"; {growth_exponent(points[:-1]):.2f} without the stopped run"
    table.add(
        f"hotspots {method} growth exponent",
        f"{'>= ' if stopped else ''}{slope:.2f}",
        "",
        "",
        f"<= {GROWTH_TARGET}",
        f"{outcome}; {note}",
    )
