"""Location generalization: the audience levels and the grid cell arithmetic.

Who sees which case at which cell is decided once, in the database's view of a case
(`ej_cases`, migration 0021). This module only names the levels and the cell sizes and wraps
the SQL cell functions that view uses: a generalized location is the fixed grid cell that holds
the case's centroid, deterministic (the same on every read, so averaging reads reveals nothing),
never the true geometry, and a polygon becomes its cell rather than a shrunken copy of itself.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import case, func
from sqlalchemy.sql.elements import ColumnElement

PARTNER_CELL_DEG = 0.05  # about 5 km at the equator
PUBLIC_CELL_DEG = 0.2  # about 22 km
PROTECTED = ("sensitive", "high_risk")


class Level(StrEnum):
    """The audience a case is shown to."""

    internal = "internal"
    partner = "partner"
    public = "public"


def generalized_geometry(geometry: Any, centroid: Any, size: Any) -> ColumnElement[Any]:
    """The geometry when size is NULL, else the grid cell polygon holding the centroid."""
    return case((size.is_(None), geometry), else_=func.ej_cell(centroid, size))


def generalized_centroid(centroid: Any, size: Any) -> ColumnElement[Any]:
    """The centroid when size is NULL, else its cell's centre (the same for every case in it)."""
    return case((size.is_(None), centroid), else_=func.ej_cell_point(centroid, size))
