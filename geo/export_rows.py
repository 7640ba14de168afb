"""The rows every export format writes: selected from the case view, formatted per standard.

GeoJSON follows RFC 7946 (exterior rings counter-clockwise, coordinates to 7 decimals, about
1 cm; generalized cells stay exact); timestamps are ISO 8601 in UTC; at the public level dates
are months (`YYYY-MM`). Arrays stay arrays in GeoJSON; CSV, KML and GeoPackage join them with
ARRAY_SEPARATOR. A CSV cell that starts like a spreadsheet formula is neutralized.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.selectable import TableValuedAlias

from cases.filters import CaseFilters
from corps.auth.actor import Actor
from corps.db import set_viewer
from geo.privacy import Level

BATCH = 1000
DECIMALS = 7  # RFC 7946 section 11.2: about 1 cm, more than any field survey holds
ARRAY_SEPARATOR = "|"  # issue types in CSV, KML and GeoPackage: "mining|water_pollution"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The attributes of a case in every format, in this order (the CSV adds the location columns).
PROPERTIES = [
    "reference",
    "title",
    "status",
    "issue_types",
    "sensitivity",
    "organization_id",
    "organization_name",
    "organization_slug",
    "country",
    "place_name",
    "people_affected",
    "opened_on",
    "updated_at",
    "generalized",
]


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


@dataclass(frozen=True)
class Viewer:
    """Who an export streams for: its own connection sets the same viewer as the request."""

    user_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    role: str

    @classmethod
    def of(cls, actor: Actor) -> Viewer:
        """The viewer of an actor."""
        return cls(actor.user_id, actor.organization_id, actor.role.value)


async def batches(engine: AsyncEngine, stmt: Any, viewer: Viewer) -> AsyncIterator[list[Any]]:
    """The statement's rows in batches, on a connection of its own that reads as `viewer`."""
    async with engine.connect() as conn:
        await set_viewer(
            conn, user_id=viewer.user_id, organization_id=viewer.organization_id, role=viewer.role
        )
        result = await conn.stream(stmt)
        async for rows in result.partitions(BATCH):
            yield list(rows)


def iso_date(value: date | None, precision: str) -> str | None:
    """A date as ISO 8601: the day, or the month (`YYYY-MM`) where only that is shown."""
    if value is None:
        return None
    return value.strftime("%Y-%m") if precision == "month" else value.isoformat()


def iso_timestamp(value: datetime | None, precision: str) -> str | None:
    """A timestamp as ISO 8601 in UTC (`2026-03-01T10:00:00.123456Z`), or its month."""
    if value is None:
        return None
    if precision == "month":
        return value.astimezone(UTC).strftime("%Y-%m")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def properties(row: Any) -> dict[str, Any]:
    """A row's attributes as GeoJSON properties: arrays as arrays, dates as ISO 8601."""
    out = {key: getattr(row, key) for key in PROPERTIES}
    out["issue_types"] = list(row.issue_types or [])
    out["opened_on"] = iso_date(row.opened_on, row.date_precision)
    out["updated_at"] = iso_timestamp(row.updated_at, row.date_precision)
    return out


def flat_properties(row: Any) -> dict[str, Any]:
    """The attributes with arrays joined by ARRAY_SEPARATOR (CSV, KML, GeoPackage)."""
    out = properties(row)
    out["issue_types"] = ARRAY_SEPARATOR.join(out["issue_types"])
    return out


def neutralized(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, prefixed with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
