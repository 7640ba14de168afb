"""The case-list filters shared by lists, tiles, features, hotspots and exports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from sqlalchemy import Text, cast, column, func, select, table
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import TableValuedAlias

from cases.models import Case
from cases.view import BBox, case_view
from corps.errors import Unprocessable
from corps.pagination import in_utc
from geo.privacy import Level

# The reference layers' pieces (maps/models.py owns the table), named here by SQL only, as the
# proximity suggestions do: cases sit below maps and must not import it.
LAYER_FEATURE_PARTS = table(
    "layer_feature_parts", column("id"), column("layer_id"), column("geometry")
)


def parse_bbox(raw: str) -> BBox:
    """Read `minx,miny,maxx,maxy` in WGS 84; minx > maxx means the box crosses the antimeridian."""
    try:
        minx, miny, maxx, maxy = (float(part) for part in raw.split(","))
    except ValueError as exc:
        raise Unprocessable("bbox must be four numbers: minx,miny,maxx,maxy") from exc
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise Unprocessable("bbox is outside WGS 84 bounds or has miny > maxy")
    return minx, miny, maxx, maxy


@dataclass(frozen=True)
class CaseFilters:
    """Filters of the case list, as the contract names them."""

    bbox: BBox | None = None
    issue_type: str | None = None
    status: str | None = None
    organization_id: uuid.UUID | None = None
    country: str | None = None
    sensitivity: str | None = None
    q: str | None = None
    updated_after: datetime | None = None
    within_layer: uuid.UUID | None = None

    def view(self, level: Level = Level.internal, *, name: str = "v") -> TableValuedAlias:
        """The case view at `level` with this bbox and full-text query applied to what it shows."""
        return case_view(level, bbox=self.bbox, q=self.q, name=name)

    def clauses(self, view: Any) -> list[ColumnElement[bool]]:
        """WHERE clauses for the other filters, on the columns of a case view (what is shown)."""
        c = view.c
        out: list[ColumnElement[bool]] = []
        if self.issue_type:
            out.append(c.issue_types.contains(cast([self.issue_type], ARRAY(Text))))
        if self.status:
            out.append(c.status == self.status)
        if self.organization_id:
            out.append(c.organization_id == self.organization_id)
        if self.country:
            out.append(c.country == self.country.upper())
        if self.sensitivity:
            out.append(c.sensitivity == self.sensitivity)
        if self.updated_after:
            out.append(c.updated_at > self.updated_after)
        if self.within_layer:
            out.append(within_layer_clause(self.within_layer, c.geometry))
        return out


def within_layer_clause(layer_id: uuid.UUID, geometry: Any = Case.geometry) -> ColumnElement[bool]:
    """EXISTS: the geometry (what a viewer is shown) touches a feature of the layer, via the
    parts' index."""
    parts = LAYER_FEATURE_PARTS.c
    return (
        select(parts.id)
        .where(parts.layer_id == layer_id, func.ST_Intersects(parts.geometry, geometry))
        .exists()
    )


def case_filters(
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy in WGS 84")] = None,
    issue_type: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[
        str | None, Query(pattern="^(intake|investigation|action|resolved|closed|dormant)$")
    ] = None,
    organization_id: uuid.UUID | None = None,
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    sensitivity: Annotated[str | None, Query(pattern="^(normal|sensitive|high_risk)$")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200, description="full text")] = None,
    updated_after: datetime | None = None,
    within_layer: Annotated[
        uuid.UUID | None, Query(description="only cases touching a feature of this layer")
    ] = None,
) -> CaseFilters:
    """Read the case filters from the query string."""
    if updated_after is not None:
        try:
            updated_after = in_utc(updated_after)
        except ValueError as exc:
            raise Unprocessable(
                f"updated_after: {exc}",
                extra={"errors": [{"loc": ["query", "updated_after"], "msg": str(exc)}]},
            ) from exc
    return CaseFilters(
        bbox=parse_bbox(bbox) if bbox else None,
        issue_type=issue_type,
        status=status,
        organization_id=organization_id,
        country=country,
        sensitivity=sensitivity,
        q=q,
        updated_after=updated_after,
        within_layer=within_layer,
    )
