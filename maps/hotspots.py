"""Hotspot analysis: DBSCAN clusters in metres, equal-area hexagons and Getis-Ord Gi*.

Hotspot DBSCAN reads the counted cases in one streaming select and clusters them with
geo.clustering's exact haversine DBSCAN (a million cases in seconds, where ST_ClusterDBSCAN
took minutes); the hulls' areas and GeoJSON come from PostGIS. Hexagons are laid on EPSG:6933
(equal-area) so every cell covers the same ground.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import shapely
from numpy.typing import NDArray
from sqlalchemy import LargeBinary, bindparam, case, func, literal, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from cases.filters import PARAM_TYPES, CaseFilters
from corps.auth.actor import Actor, Role
from corps.auth.policy import reads_own_organization
from corps.db import set_viewer
from geo.clustering import dbscan, hull_candidates

EQUAL_AREA_SRID = 6933
STREAM_GROUPS = 100  # groups of cases per fetch of the streaming select
# An analysis reads every counted case once. JIT would spend a second compiling the view's
# expressions for that one pass. The grouping hashes its few hundred groups in memory: the
# planner, which expects RLS to leave a few thousand rows, would sort a million instead.
# Filters on the columns below alone are answered by ix_cases_hotspot_points (migration 0095),
# a narrow index of what the view reads, which the planner prices about as the wide table, so
# the table is ruled out while the index can be read alone: its pages nearly all marked
# all-visible by VACUUM (else each case would cost a visit to the table anyway).
ANALYSIS_SETTINGS = text(
    "SELECT current_setting('jit'), current_setting('work_mem'),"
    " current_setting('enable_sort'), current_setting('enable_seqscan'),"
    " set_config('jit', 'off', true), set_config('work_mem', '256MB', true),"
    " set_config('enable_sort', 'off', true),"
    " set_config('enable_seqscan', CASE WHEN :covered AND relallvisible >= 0.9 * relpages"
    " THEN 'off' ELSE current_setting('enable_seqscan') END, true)"
    " FROM pg_class WHERE oid = 'cases'::regclass"
)
RESTORE_SETTINGS = text(
    "SELECT set_config('jit', :jit, true), set_config('work_mem', :work_mem, true),"
    " set_config('enable_sort', :sort, true), set_config('enable_seqscan', :seqscan, true)"
)
COVERED_FILTERS = frozenset(
    {"issue_type", "status", "organization_id", "country", "sensitivity", "updated_after"}
)


@dataclass(frozen=True)
class HotspotScope:
    """Whose view the analysis is for: it decides which cases count and how exactly."""

    role: Role
    organization_id: uuid.UUID

    @classmethod
    def of(cls, actor: Actor) -> HotspotScope:
        """The scope of an actor."""
        return cls(role=actor.role, organization_id=actor.organization_id)

    @property
    def counts_only(self) -> bool:
        """Paralegals see clusters as counts, never as topics or countries."""
        return reads_own_organization(self.role)

    async def view_as(self, session: AsyncSession) -> None:
        """Make this scope the viewer of the transaction (the worker computes for a scope)."""
        await set_viewer(
            session, user_id=None, organization_id=self.organization_id, role=self.role.value
        )


@asynccontextmanager
async def read_for_analysis(session: AsyncSession, filters: CaseFilters) -> AsyncIterator[None]:
    """Inside the block, statements are tuned for one pass over every counted case."""
    set_filters = {name for name in PARAM_TYPES if getattr(filters, name)}
    covered = filters.bbox is None and set_filters <= COVERED_FILTERS
    jit, work_mem, sort, seqscan, *_ = (
        await session.execute(ANALYSIS_SETTINGS, {"covered": covered})
    ).one()
    yield  # an error aborts the transaction, and its rollback undoes the settings
    await session.execute(
        RESTORE_SETTINGS, {"jit": jit, "work_mem": work_mem, "sort": sort, "seqscan": seqscan}
    )


def points(scope: HotspotScope, filters: CaseFilters) -> Any:
    """CTE of the cases the analysis counts, one point each, as the viewer is shown them.

    Only cases the viewer may read count: a paralegal's analysis is of their own cases.
    OFFSET 0 keeps the view's columns computed once per case: merged into the query above,
    the shown centroid (a generalized cell's centre for some) would be computed for each use.
    """
    view = filters.view()
    c = view.c
    return (
        select(
            c.id,
            c.organization_id,
            c.country,
            func.array_to_string(c.issue_types, ",").label("issue_types"),
            c.centroid.label("pt"),
        )
        .select_from(view)
        .where(*filters.clauses(view))
        .offset(0)
        .cte("pts")
    )


async def dbscan_clusters(
    session: AsyncSession,
    scope: HotspotScope,
    filters: CaseFilters,
    *,
    distance_km: float,
    min_cases: int,
) -> list[dict[str, Any]]:
    """DBSCAN clusters of cases within distance_km of each other (haversine), as GeoJSON features.

    One streaming select reads each counted case's point as the viewer is shown it; the
    clustering itself is geo.clustering's exact grid DBSCAN, ties broken in case-id order as
    PostGIS's ST_ClusterDBSCAN(... ORDER BY id) breaks them.
    """
    await scope.view_as(session)
    async with read_for_analysis(session, filters):
        cases = await _case_points(session, points(scope, filters))
    eps_m = distance_km * 1000
    found = dbscan(cases.lon, cases.lat, eps_m=eps_m, min_points=min_cases)
    member = np.flatnonzero(found.labels >= 0)
    if not len(member):
        return []
    member = member[np.argsort(found.labels[member], kind="stable")]
    label = found.labels[member]
    case_count = np.bincount(label)
    # Only points that may be on a hull become geometries (a million points cost seconds).
    starts = np.concatenate(([0], np.cumsum(case_count)[:-1]))
    outline = member[hull_candidates(cases.lon[member], cases.lat[member], starts)]
    label_of_outline = found.labels[outline]
    hulls = shapely.convex_hull(
        shapely.from_ragged_array(
            shapely.GeometryType.MULTIPOINT,
            np.column_stack((cases.lon[outline], cases.lat[outline])),
            (
                np.concatenate(
                    ([0], np.cumsum(np.bincount(label_of_outline, minlength=len(case_count))))
                ),
            ),
        )
    )
    shapes = (
        await session.scalars(
            _polygons_statement(), {"hulls": shapely.to_wkb(hulls).tolist(), "buffer_m": eps_m / 4}
        )
    ).all()
    # The distinct (organization, country, issue types) groups of each cluster's cases.
    pairs = np.unique(label * len(cases.groups) + cases.group[member])
    bounds = np.searchsorted(pairs // len(cases.groups), np.arange(len(case_count) + 1))
    features = []
    for k in np.lexsort((np.arange(len(case_count)), -case_count)):
        seen = [cases.groups[g % len(cases.groups)] for g in pairs[bounds[k] : bounds[k + 1]]]
        properties: dict[str, Any] = {
            "case_count": int(case_count[k]),
            "organization_count": len({organization for organization, _, _ in seen}),
        }
        if not scope.counts_only:
            kinds = {kind for _, _, kinds in seen for kind in kinds.split(",") if kind}
            properties["issue_types"] = sorted(kinds)
            properties["countries"] = sorted({country for _, country, _ in seen if country})
        features.append(
            {"type": "Feature", "geometry": orjson.loads(shapes[k]), "properties": properties}
        )
    return features


@dataclass(frozen=True)
class _CasePoints:
    """The counted cases in case-id order: where each is shown, and its group."""

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    group: NDArray[np.int64]  # index into groups
    groups: list[tuple[Any, str, str]]  # organization id, country, issue types (comma-joined)


PACKED_CASE = np.dtype([("id", ">u8", 2), ("lon", ">f8"), ("lat", ">f8")])


async def _case_points(session: AsyncSession, pts: Any) -> _CasePoints:
    """Stream the counted cases' points, grouped by what a cluster reports of them.

    Each row is one (organization, country, issue types) with its cases packed as binary
    (uuid_send and float8send: 16 + 8 + 8 bytes, big-endian), so a million cases cross as
    a few thousand rows and numpy decodes them without a Python object per case.
    """
    statement = grouped_points(pts)
    groups: list[tuple[Any, str, str]] = []
    parts = [np.zeros(0, dtype=PACKED_CASE)]
    result = await session.stream(statement.execution_options(yield_per=STREAM_GROUPS))
    async for organization, country, issue_types, blob in result:
        groups.append((organization, country or "", issue_types or ""))
        parts.append(np.frombuffer(blob, dtype=PACKED_CASE))
    cases = np.concatenate(parts)
    group = np.repeat(np.arange(len(groups)), [len(part) for part in parts[1:]])
    order = np.lexsort((cases["id"][:, 1], cases["id"][:, 0]))  # PostgreSQL orders uuids bytewise
    lon, lat = (cases[axis][order].astype(np.float64) for axis in ("lon", "lat"))
    return _CasePoints(lon, lat, group[order], groups)


def grouped_points(pts: Any) -> Any:
    """The counted cases grouped by (organization, country, issue types), packed as binary."""
    packed = (
        func.uuid_send(pts.c.id)
        .op("||")(func.float8send(func.ST_X(pts.c.pt)))
        .op("||")(func.float8send(func.ST_Y(pts.c.pt)))
    )
    keys = (pts.c.organization_id, pts.c.country.collate("C"), pts.c.issue_types.collate("C"))
    return (
        select(*keys, func.string_agg(packed, literal(b"", LargeBinary)))
        .where(func.ST_X(pts.c.pt).is_not(None))
        .group_by(*keys)
    )


def _polygons_statement() -> Any:
    """GeoJSON of each hull as an area: itself if it is one, else buffered by eps / 4."""
    hulls = (
        func.unnest(bindparam("hulls", type_=ARRAY(LargeBinary)))
        .table_valued("wkb", with_ordinality="n")
        .render_derived(name="hulls")
    )
    hull = func.ST_SetSRID(func.ST_GeomFromWKB(hulls.c.wkb), 4326)
    polygon = _polygon(hull, bindparam("buffer_m"))
    return select(func.ST_AsGeoJSON(func.ST_ForcePolygonCCW(polygon), 7)).order_by(hulls.c.n)


def _polygon(geometry: Any, buffer_m: Any) -> Any:
    """The hull itself when it is an area, else a small buffer around it (a point or a line)."""
    buffered = func.ST_Buffer(func.geography(geometry), buffer_m)
    return case((func.ST_Dimension(geometry) == 2, geometry), else_=func.geometry(buffered))


HEXAGON_GI_SQL = """
WITH cells AS (
  SELECT h.i, h.j, count(*) AS x
  FROM pts
  CROSS JOIN LATERAL (
    SELECT g.i, g.j FROM ST_HexagonGrid(:size, ST_Transform(pts.pt, 6933)) g
    WHERE ST_Intersects(g.geom, ST_Transform(pts.pt, 6933)) LIMIT 1
  ) h
  WHERE abs(ST_Y(pts.pt)) < 85
  GROUP BY h.i, h.j
),
study AS (  -- the occupied cells and their neighbours: empty cells count as zeros
  SELECT DISTINCT ring.i, ring.j
  FROM cells c
  CROSS JOIN LATERAL ST_HexagonGrid(:size, ST_Expand(ST_Hexagon(:size, c.i, c.j), :size)) ring
  WHERE ST_DWithin(ST_Centroid(ring.geom), ST_Centroid(ST_Hexagon(:size, c.i, c.j)), :neighbour)
),
area AS (
  SELECT s.i, s.j, coalesce(c.x, 0)::float8 AS x, ST_Centroid(ST_Hexagon(:size, s.i, s.j)) AS centre
  FROM study s LEFT JOIN cells c USING (i, j)
),
stats AS (
  SELECT count(*)::float8 AS n, avg(x) AS xbar, sqrt(greatest(avg(x * x) - avg(x) ^ 2, 0)) AS s
  FROM area
),
lagged AS (
  SELECT a.i, a.j, a.x, a.centre, sum(b.x) AS local_sum, count(*)::float8 AS w
  FROM area a JOIN area b
    ON b.i BETWEEN a.i - 1 AND a.i + 1 AND b.j BETWEEN a.j - 1 AND a.j + 1
   AND ST_DWithin(a.centre, b.centre, :neighbour)
  GROUP BY a.i, a.j, a.x, a.centre
)
SELECT ST_AsGeoJSON(ST_ForcePolygonCCW(
         ST_Transform(ST_SetSRID(ST_Hexagon(:size, l.i, l.j), 6933), 4326)), 7) AS geometry,
       l.x::int AS case_count,
       -- No Gi* where it is undefined: no variance, one cell, or every cell a neighbour of
       -- this one (a tiny study area), where the denominator is zero.
       CASE WHEN st.s = 0 OR st.n < 2 OR st.n * l.w - l.w * l.w <= 0 THEN NULL
            ELSE (l.local_sum - st.xbar * l.w)
                 / (st.s * sqrt((st.n * l.w - l.w * l.w) / (st.n - 1))) END AS z_score
FROM lagged l CROSS JOIN stats st
WHERE l.x > 0
ORDER BY l.x DESC, l.i, l.j
"""


async def hexagon_hotspots(
    session: AsyncSession, scope: HotspotScope, filters: CaseFilters, *, cell_km: float
) -> list[dict[str, Any]]:
    """Hexagons of cell_km across on an equal-area grid, with counts and Getis-Ord Gi*."""
    await scope.view_as(session)

    pts = points(scope, filters)
    size = (
        cell_km * 1000 / math.sqrt(3)
    )  # ST_HexagonGrid's size is the edge; cell_km is flat to flat
    query = select(text("*")).select_from(text(f"({HEXAGON_GI_SQL}) AS gi"))
    statement = query.add_cte(pts).params(size=size, neighbour=cell_km * 1000 * 1.01)
    async with read_for_analysis(session, filters):
        rows = (await session.execute(statement)).all()
    features = []
    for row in rows:
        z = None if row.z_score is None else float(row.z_score)
        p = None if z is None else math.erfc(abs(z) / math.sqrt(2))
        features.append(
            {
                "type": "Feature",
                "geometry": orjson.loads(row.geometry),
                "properties": {
                    "case_count": row.case_count,
                    "z_score": z,
                    "p_value": p,
                    "hot": bool(z is not None and z > 0 and p is not None and p < 0.05),
                    "cold": bool(z is not None and z < 0 and p is not None and p < 0.05),
                },
            }
        )
    return features
