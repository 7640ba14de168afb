"""A hotspot analysis reads the narrow index of case points (migration 0095) as the service's
role: row level security and the view of a case still decide which cases count and where."""

from __future__ import annotations

import math
import random

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cases.filters import CaseFilters
from corps.auth.actor import Role
from corps.settings import Settings
from maps.hotspots import HotspotScope, dbscan_clusters, grouped_points, points, read_for_analysis
from testing.factories import make_case, make_person

# A second connection (the service's role) must read what the test made: committed.
pytestmark = pytest.mark.committed

SETTINGS = text(
    "SELECT current_setting('jit'), current_setting('work_mem'), current_setting('enable_sort'),"
    " current_setting('enable_seqscan')"
)


def near(lon: float, lat: float, east_m: float) -> dict[str, object]:
    """A point east_m east of (lon, lat)."""
    step = math.degrees(east_m / (6_371_008.8 * math.cos(math.radians(lat))))
    return {"type": "Point", "coordinates": [lon + step, lat]}


async def test_an_analysis_through_the_narrow_index_counts_only_what_the_viewer_may_read(
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    engine: AsyncEngine,
    service_engine: AsyncEngine,
) -> None:
    mine = await make_person(db, settings, "paralegal")
    theirs = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    # A place of its own (other tests' cases stay in this world), by a corner of a 0.05-degree
    # cell, so the cell's centre, where a coordinator is shown the high-risk cases, is far off.
    lon = -170 + 0.05 * random.randrange(6000) + 0.001
    lat = 0.05 * random.randrange(-1000, 1000) + 0.001
    for person, sensitivity in ((mine, "normal"), (theirs, "high_risk")):
        for k in range(3):
            geometry = near(lon, lat, 500 * k)
            await make_case(client, person, geometry=geometry, sensitivity=sensitivity)
    async with engine.connect() as conn:  # marks the pages all-visible, as autovacuum does
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM cases"))
    scope = HotspotScope(role=Role.paralegal, organization_id=mine.organization_id)
    async with AsyncSession(service_engine) as session, session.begin():
        before = (await session.execute(SETTINGS)).one()
        await scope.view_as(session)
        async with read_for_analysis(session, CaseFilters()):
            sql = grouped_points(points(scope, CaseFilters())).compile(
                dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
            )
            plan = "\n".join(await session.scalars(text(f"EXPLAIN {sql}")))
        assert "Index Only Scan using ix_cases_hotspot_points" in plan
        assert (await session.execute(SETTINGS)).one() == before  # only for the one read
        found = await dbscan_clusters(session, scope, CaseFilters(), distance_km=2, min_cases=3)
    # a paralegal's analysis is of their own cases: three, not six
    assert [f["properties"]["case_count"] for f in found] == [3]
    wide = HotspotScope(role=Role.coordinator, organization_id=coordinator.organization_id)
    around = CaseFilters(bbox=(lon - 0.05, lat - 0.05, lon + 0.05, lat + 0.05))
    async with AsyncSession(service_engine) as session, session.begin():
        found = await dbscan_clusters(session, wide, around, distance_km=2, min_cases=3)
    # the other organization's high-risk cases count where the coordinator is shown them: at
    # their cell's centre, kilometres away, a cluster apart from the exact ones
    assert sorted(
        (f["properties"]["case_count"], f["properties"]["organization_count"]) for f in found
    ) == [(3, 1), (3, 1)]
