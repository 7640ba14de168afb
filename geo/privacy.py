"""Location generalization by sensitivity and audience, applied inside SQL.

A generalized location is the fixed grid cell that holds the case's centroid: deterministic
(the same on every read, so averaging reads reveals nothing), never the true geometry, and a
polygon becomes its cell rather than a shrunken copy of itself.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import Float, Numeric, SQLColumnExpression, Uuid, case, cast, func, literal, null
from sqlalchemy.sql.elements import ColumnElement

from corps.auth.actor import Actor, Role

PARTNER_CELL_DEG = 0.05  # about 5 km at the equator
PUBLIC_CELL_DEG = 0.2  # about 22 km
PROTECTED = ("sensitive", "high_risk")


class Level(StrEnum):
    """The audience a location is shown to."""

    internal = "internal"
    partner = "partner"
    public = "public"


def cell_size(
    actor: Actor,
    *,
    sensitivity: SQLColumnExpression[Any],
    organization_id: SQLColumnExpression[Any],
    level: Level = Level.internal,
) -> ColumnElement[Any]:
    """The grid cell in degrees a row's location is snapped to for this viewer, NULL for exact."""
    if level == Level.public:
        return cast(literal(PUBLIC_CELL_DEG), Float)
    partner = case((sensitivity.in_(PROTECTED), literal(PARTNER_CELL_DEG)), else_=null())
    if level == Level.partner or actor.role == Role.campaigner:
        return cast(partner, Float)
    if actor.role == Role.coordinator:
        other_org = organization_id != literal(actor.organization_id, type_=Uuid())
        return cast(
            case(
                ((sensitivity == "high_risk") & other_org, literal(PARTNER_CELL_DEG)),
                else_=null(),
            ),
            Float,
        )
    return cast(null(), Float)


def _cell_origin(coordinate: Any, size: ColumnElement[Any]) -> ColumnElement[Any]:
    # Decimal arithmetic keeps edges exact (0.15 / 0.05 is 2.9999… in floats); the float to
    # numeric cast rounds to 15 digits, so step back a cell when that rounding overshot.
    step = cast(size, Numeric)
    origin = cast(func.floor(cast(coordinate, Numeric) / step) * step, Float)
    return case((origin > coordinate, origin - size), else_=origin)


def generalized_geometry(
    geometry: SQLColumnExpression[Any],
    centroid: SQLColumnExpression[Any],
    size: ColumnElement[Any],
) -> ColumnElement[Any]:
    """The true geometry when size is NULL, else the grid cell polygon holding the centroid."""
    x0 = _cell_origin(func.ST_X(centroid), size)
    y0 = _cell_origin(func.ST_Y(centroid), size)
    cell = func.ST_MakeEnvelope(x0, y0, x0 + size, y0 + size, 4326)
    return case((size.is_(None), geometry), else_=cell)


def generalized_centroid(
    centroid: SQLColumnExpression[Any], size: ColumnElement[Any]
) -> ColumnElement[Any]:
    """The true centroid when size is NULL, else its cell centre (or a quarter point if equal)."""
    x0, y0 = _cell_origin(func.ST_X(centroid), size), _cell_origin(func.ST_Y(centroid), size)
    centre = func.ST_SetSRID(func.ST_MakePoint(x0 + size / 2, y0 + size / 2), 4326)
    quarter = func.ST_SetSRID(func.ST_MakePoint(x0 + size / 4, y0 + size / 4), 4326)
    return case(
        (size.is_(None), centroid),
        (func.ST_Equals(centre, centroid), quarter),
        else_=centre,
    )


def viewer_cell(actor: Actor, level: Level = Level.internal) -> ColumnElement[Any]:
    """cell_size for the `cases` table's own columns."""
    from cases.models import Case

    return cell_size(
        actor, sensitivity=Case.sensitivity, organization_id=Case.organization_id, level=level
    )
