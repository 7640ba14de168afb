"""The rows every export format writes, selected from the case view and read as a viewer.

Exports and dossiers both select here; the writers in `geo.formats` turn the rows into files.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Select, Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.selectable import TableValuedAlias

from cases.filters import CaseFilters
from corps.viewer import Viewer, name_viewer
from geo.formats import DECIMALS
from geo.privacy import Level

BATCH = 1000


def export_select(view: TableValuedAlias, level: Level) -> Select[Any]:
    """SELECT of exportable rows from a case view at `level` (privacy is the view's)."""
    c = view.c
    shown = func.ST_ForcePolygonCCW(c.geometry)
    return (
        select(
            cast(c.id, Text).label("id"),
            c.reference,
            c.title,
            c.status,
            c.issue_types,
            c.sensitivity,
            cast(c.organization_id, Text).label("organization_id"),
            c.organization_name,
            c.organization_slug,
            c.country,
            c.place_name,
            c.people_affected,
            c.opened_on,
            c.updated_at,
            c.date_precision,
            c.generalized,
            func.ST_X(c.centroid).label("longitude"),
            func.ST_Y(c.centroid).label("latitude"),
            func.ST_AsText(shown, DECIMALS).label("geometry_wkt"),
            func.ST_AsGeoJSON(shown, DECIMALS).label("geometry_json"),
            func.ST_AsKML(shown, DECIMALS).label("geometry_kml"),
            func.ST_AsBinary(func.ST_Multi(shown)).label("geometry_wkb"),
            func.ST_Dimension(c.geometry).label("dimension"),
        )
        .select_from(view)
        .order_by(c.created_at, c.id)
    )


def export_rows(filters: CaseFilters, level: Level) -> Select[Any]:
    """SELECT of exportable rows: visible, filtered on what is shown, generalized for the level."""
    view = filters.view(level)
    return export_select(view, level).where(*filters.clauses(view))


async def batches(engine: AsyncEngine, stmt: Any, viewer: Viewer) -> AsyncIterator[list[Any]]:
    """The statement's rows in batches, on a connection of its own that reads as `viewer`."""
    async with engine.connect() as conn:
        await name_viewer(conn, viewer)
        result = await conn.stream(stmt)
        async for rows in result.partitions(BATCH):
            yield list(rows)
