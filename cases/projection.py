"""Case rows in the API's shape, selected from the one view of a case (cases/view.py)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Dialect, Select, Text, TypeDecorator, func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import TableValuedAlias

from cases.view import case_view
from geo.privacy import Level

GEOJSON_DECIMALS = 15  # what was stored comes back; nothing is rounded on the way out


class GeoJSONObject(TypeDecorator[Any]):
    """PostGIS's GeoJSON text, read into a dict by orjson.

    Not PostgreSQL's json type: a cast to it parses the text again in the database, and the
    driver's json codec uses the standard library, several times slower than orjson on a page of
    polygons. orjson reads an integer past 64 bits as a float; ST_AsGeoJSON writes none.
    """

    impl = Text
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        """The GeoJSON object as a dict (None for no geometry)."""
        return None if value is None else orjson.loads(value)


def geojson(geometry: ColumnElement[Any], decimals: int = GEOJSON_DECIMALS) -> ColumnElement[Any]:
    """A geometry as a GeoJSON object built by PostGIS."""
    return func.ST_AsGeoJSON(geometry, decimals, type_=GeoJSONObject)


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
