"""Case rows in the API's shape, selected from the one view of a case (cases/view.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Select, cast, func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import TableValuedAlias

from cases.view import case_view
from geo.privacy import Level

GEOJSON_DECIMALS = 15  # what was stored comes back; nothing is rounded on the way out


def geojson(geometry: ColumnElement[Any], decimals: int = GEOJSON_DECIMALS) -> ColumnElement[Any]:
    """A geometry as a GeoJSON object built by PostGIS."""
    return cast(func.ST_AsGeoJSON(geometry, decimals), JSON)


def case_rows(view: TableValuedAlias | None = None) -> Select[Any]:
    """SELECT of CaseRead-shaped rows from a case view (by default: internal level, unfiltered)."""
    v = view if view is not None else case_view(Level.internal)
    c = v.c
    return select(
        c.id,
        c.reference,
        c.organization_id,
        c.organization_name,
        c.organization_slug,
        c.title,
        c.public_title,
        c.summary,
        c.issue_types,
        c.status,
        c.sensitivity,
        geojson(c.geometry).label("geometry"),
        c.generalized,
        c.geometry_repaired,
        c.area_m2,
        geojson(c.centroid).label("centroid"),
        c.location_precision,
        c.place_name,
        c.country,
        c.people_affected,
        c.respondents,
        c.opened_on,
        c.version,
        c.created_at,
        c.updated_at,
    ).select_from(v)
