"""Hotspot analysis in SQL: DBSCAN clusters in metres, equal-area hexagons and Getis-Ord Gi*.

DBSCAN in metres is `geo.clustering.metric_dbscan`; this module feeds it the cases a viewer
counts and draws the hulls. Hexagons are laid on EPSG:6933 (equal-area) so every cell covers
the same ground.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cases.filters import CaseFilters
from corps.auth.actor import Actor, Role
from corps.db import set_viewer
from geo.clustering import metric_dbscan

EQUAL_AREA_SRID = 6933


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
        return self.role in (Role.paralegal, Role.org_admin)

    async def view_as(self, session: AsyncSession) -> None:
        """Make this scope the viewer of the transaction (the worker computes for a scope)."""
        await set_viewer(
            session, user_id=None, organization_id=self.organization_id, role=self.role.value
        )


def points(scope: HotspotScope, filters: CaseFilters) -> Any:
    """CTE of the cases the analysis counts, one point each, as the viewer is shown them.

    Only cases the viewer may read count: a paralegal's analysis is of their own cases.
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
    """DBSCAN clusters of cases within distance_km of each other, as GeoJSON features."""
    await scope.view_as(session)
    pts = points(scope, filters)
    max_lat = await session.scalar(select(func.max(func.abs(func.ST_Y(pts.c.pt)))))
    if max_lat is None:
        return []
    eps_m = distance_km * 1000
    second = metric_dbscan(pts, eps_m=eps_m, min_points=min_cases, max_lat=float(max_lat))
    hull = func.ST_ConvexHull(func.ST_Collect(second.c.pt))
    rows = (
        await session.execute(
            select(
                func.ST_AsGeoJSON(func.ST_ForcePolygonCCW(_polygon(hull, eps_m / 4)), 7).label(
                    "geometry"
                ),
                func.count().label("case_count"),
                func.count(func.distinct(second.c.organization_id)).label("organization_count"),
                func.string_agg(second.c.issue_types, ",").label("issue_types"),
                func.array_agg(func.distinct(second.c.country)).label("countries"),
            )
            .where(second.c.sub.is_not(None))
            .group_by(second.c.candidate, second.c.sub)
            .order_by(func.count().desc())
        )
    ).all()
    return [_cluster_feature(row, scope) for row in rows]


def _polygon(geometry: Any, buffer_m: float) -> Any:
    """The hull itself when it is an area, else a small buffer around it (a point or a line)."""
    buffered = func.ST_Buffer(func.geography(geometry), buffer_m)
    return case((func.ST_Dimension(geometry) == 2, geometry), else_=func.geometry(buffered))


def _cluster_feature(row: Any, scope: HotspotScope) -> dict[str, Any]:
    import orjson

    properties: dict[str, Any] = {
        "case_count": row.case_count,
        "organization_count": row.organization_count,
    }
    if not scope.counts_only:
        properties["issue_types"] = sorted({t for t in (row.issue_types or "").split(",") if t})
        properties["countries"] = sorted(c for c in row.countries if c)
    return {"type": "Feature", "geometry": orjson.loads(row.geometry), "properties": properties}


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
    import orjson

    await scope.view_as(session)

    pts = points(scope, filters)
    size = (
        cell_km * 1000 / math.sqrt(3)
    )  # ST_HexagonGrid's size is the edge; cell_km is flat to flat
    query = select(text("*")).select_from(text(f"({HEXAGON_GI_SQL}) AS gi"))
    statement = query.add_cte(pts).params(size=size, neighbour=cell_km * 1000 * 1.01)
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
