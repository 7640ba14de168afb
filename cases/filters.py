"""The case-list filters shared by lists, tiles, features, hotspots and exports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from sqlalchemy import and_, func, literal_column, or_, select
from sqlalchemy.sql.elements import ColumnElement

from cases.models import Case
from corps.errors import Unprocessable
from corps.pagination import in_utc

BBox = tuple[float, float, float, float]


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

    def clauses(
        self, case: Any = Case, *, cell: ColumnElement[Any] | None = None
    ) -> list[ColumnElement[bool]]:
        """WHERE clauses for these filters on `case`.

        `cell` is the viewer's generalization (geo.privacy.cell_size): where it is not NULL the
        filters see only what the viewer sees, so shrinking a bbox, searching a place name or
        choosing a fine layer cannot locate a case whose location is hidden.
        """
        from geo.privacy import generalized_geometry

        shown = case.geometry
        if cell is not None:
            shown = generalized_geometry(case.geometry, case.centroid, cell)
        out: list[ColumnElement[bool]] = []
        if self.bbox:
            out.append(_bbox_clause(self.bbox, case.geometry, shown, generalized=cell is not None))
        if self.issue_type:
            out.append(case.issue_types.contains([self.issue_type]))
        if self.status:
            out.append(case.status == self.status)
        if self.organization_id:
            out.append(case.organization_id == self.organization_id)
        if self.country:
            out.append(case.country == self.country.upper())
        if self.sensitivity:
            out.append(case.sensitivity == self.sensitivity)
        if self.q:
            query = func.websearch_to_tsquery("simple", self.q)
            out.append(case.search.op("@@")(query))
            if cell is not None:  # the indexed document holds the place name: match without it
                unplaced = func.to_tsvector(
                    literal_column("'simple'::regconfig"),
                    func.concat_ws(" ", case.title, case.respondent_names, case.summary),
                )
                out.append(cell.is_(None) | unplaced.op("@@")(query))
        if self.updated_after:
            out.append(case.updated_at > self.updated_after)
        if self.within_layer:
            out.append(within_layer_clause(self.within_layer, case, shown))
        return out


def _bbox_clause(
    bbox: BBox, geometry: Any, shown: Any, *, generalized: bool
) -> ColumnElement[bool]:
    """Match the shown geometry; the && on the true one only narrows through the index."""
    from geo.privacy import PUBLIC_CELL_DEG

    minx, miny, maxx, maxy = bbox
    spans = [(minx, maxx)] if minx <= maxx else [(minx, 180.0), (-180.0, maxx)]
    matches = []
    for west, east in spans:
        envelope = func.ST_MakeEnvelope(west, miny, east, maxy, 4326)
        if not generalized:
            matches.append(geometry.intersects(envelope))
            continue
        near = geometry.op("&&")(func.ST_Expand(envelope, PUBLIC_CELL_DEG))
        matches.append(and_(near, func.ST_Intersects(shown, envelope)))
    return or_(*matches)


def within_layer_clause(
    layer_id: uuid.UUID, case: Any = Case, shown: Any = None
) -> ColumnElement[bool]:
    """EXISTS: the case (as shown) intersects a feature of the layer, via the parts' index."""
    from geo.models import LayerFeaturePart

    return (
        select(LayerFeaturePart.id)
        .where(
            LayerFeaturePart.layer_id == layer_id,
            func.ST_Intersects(
                LayerFeaturePart.geometry, case.geometry if shown is None else shown
            ),
        )
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
