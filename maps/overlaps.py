"""Which reference-layer features a case overlaps, and by how much of its area."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from cases.view import case_view
from corps.auth.actor import Actor
from corps.errors import NotFound
from maps.layers import SUBDIVIDE_MAX_VERTICES, LayerKind

# The case is cut like the layers, so each intersection touches few vertices; the parts of a
# subdivision do not overlap, so summing their intersections gives the feature's whole overlap.
CASE_OVERLAPS = text(
    """
    WITH case_parts AS (
        SELECT ST_Subdivide(geometry, :max_vertices) AS g
        FROM ej_cases('internal') WHERE id = :case_id
    ), hits AS (
        SELECT p.feature_id, p.layer_id,
               sum(ST_Area(CAST(ST_Intersection(p.geometry, c.g) AS geography))) AS m2
        FROM case_parts AS c
        JOIN layer_feature_parts AS p ON ST_Intersects(p.geometry, c.g)
        GROUP BY p.feature_id, p.layer_id
    )
    SELECT l.id AS layer_id, l.name AS layer_name, l.kind AS layer_kind,
           f.id AS feature_id, f.name AS feature_name, f.properties, h.m2 AS intersection_m2
    FROM hits AS h
    JOIN layer_features AS f ON f.id = h.feature_id
    JOIN reference_layers AS l ON l.id = h.layer_id
    ORDER BY l.name, l.id, f.name NULLS LAST, f.id
    """
).columns(properties=JSONB)


class OverlapRead(BaseModel):
    """A layer feature that intersects a case; areas are null when the case is generalized."""

    layer_id: uuid.UUID
    layer_name: str
    layer_kind: LayerKind
    feature_id: int
    feature_name: str | None
    properties: dict[str, Any]
    intersection_m2: float | None
    case_share: float | None


async def case_overlaps(
    session: AsyncSession, actor: Actor, case_id: uuid.UUID
) -> list[OverlapRead]:
    """Layer features intersecting a readable case as the viewer is shown it (its cell when
    generalized, so a layer of small squares cannot place it); no areas then."""
    view = case_view()
    shown = (
        await session.execute(
            select(view.c.generalized, view.c.area_m2).where(view.c.id == case_id)
        )
    ).one_or_none()
    if shown is None:
        raise NotFound("No such case.")
    generalized, case_area = bool(shown.generalized), float(shown.area_m2 or 0.0)
    rows = await session.execute(
        CASE_OVERLAPS, {"case_id": case_id, "max_vertices": SUBDIVIDE_MAX_VERTICES}
    )
    overlaps = []
    for row in rows:
        data = dict(row._mapping)
        area = float(data.pop("intersection_m2") or 0.0)
        share = min(area / case_area, 1.0) if case_area > 0 else None
        overlaps.append(
            OverlapRead(
                **data,
                intersection_m2=None if generalized else area,
                case_share=None if generalized else share,
            )
        )
    return overlaps
