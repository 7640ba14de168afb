"""The case-list filters shared by lists, tiles, features, hotspots and exports."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy import DateTime, Float, Text, Uuid, bindparam, cast, column, func, select, table
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import TableValuedAlias

from cases.models import Case
from cases.view import BBox, bbox_geometry, case_view
from cases.vocabularies import CaseStatus, Sensitivity
from corps.errors import Unprocessable
from corps.pagination import in_utc
from corps.vocabulary import query_pattern
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


# The bind parameter of each filter and its type: statements name them, requests fill them.
PARAM_TYPES: dict[str, Any] = {
    "issue_type": Text,
    "status": Text,
    "organization_id": Uuid,
    "country": Text,
    "sensitivity": Text,
    "q": Text,
    "updated_after": DateTime(timezone=True),
    "within_layer": Uuid,
}
BBOX_PARAMS = ("f_minx", "f_miny", "f_maxx", "f_maxy")


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

    def shape(self) -> tuple[Any, ...]:
        """What a statement's text depends on: which filters are set, and the bbox's form."""
        crosses = self.bbox is not None and self.bbox[0] > self.bbox[2]
        return (
            *(name for name in PARAM_TYPES if getattr(self, name)),
            self.bbox is not None,
            crosses,
        )

    def params(self) -> dict[str, Any]:
        """The values of this request's filters, for a statement built with bound=False."""
        out = {f"f_{name}": getattr(self, name) for name in PARAM_TYPES if getattr(self, name)}
        if self.country:
            out["f_country"] = self.country.upper()
        if self.bbox is not None:
            out.update(zip(BBOX_PARAMS, self.bbox, strict=True))
        return out

    def _param(self, name: str, bound: bool) -> Any:
        value = getattr(self, name)
        if name == "country" and value:
            value = value.upper()
        if bound:
            return bindparam(f"f_{name}", value, type_=PARAM_TYPES[name])
        return bindparam(f"f_{name}", type_=PARAM_TYPES[name], required=True)

    def bbox_params(self, *, bound: bool = True) -> tuple[Any, Any, Any, Any] | None:
        """The bbox's corners as bind parameters (None without a bbox)."""
        if self.bbox is None:
            return None
        corners = zip(BBOX_PARAMS, self.bbox, strict=True)
        if bound:
            return tuple(bindparam(n, v, type_=Float) for n, v in corners)  # type: ignore[return-value]
        return tuple(bindparam(n, type_=Float, required=True) for n, _ in corners)  # type: ignore[return-value]

    def view(
        self, level: Level = Level.internal, *, name: str = "v", bound: bool = True
    ) -> TableValuedAlias:
        """The case view at `level` with this bbox and full-text query applied to what it shows.

        With bound=False the filters are bind parameters without values (see params()), so the
        statement serves every request of the same shape().
        """
        corners = self.bbox_params(bound=bound)
        area = None
        if corners is not None and self.bbox is not None:
            area = bbox_geometry(corners, crosses=self.bbox[0] > self.bbox[2])
        q = self._param("q", bound) if self.q else None
        return case_view(level, bbox=area, q=q, name=name)

    def clauses(self, view: Any, *, bound: bool = True) -> list[ColumnElement[bool]]:
        """WHERE clauses for the other filters, on the columns of a case view (what is shown)."""
        c = view.c
        p = self._param
        out: list[ColumnElement[bool]] = []
        if self.issue_type:
            out.append(c.issue_types.contains(cast(array([p("issue_type", bound)]), ARRAY(Text))))
        if self.status:
            out.append(c.status == p("status", bound))
        if self.organization_id:
            out.append(c.organization_id == p("organization_id", bound))
        if self.country:
            out.append(c.country == p("country", bound))
        if self.sensitivity:
            out.append(c.sensitivity == p("sensitivity", bound))
        if self.updated_after:
            out.append(c.updated_at > p("updated_after", bound))
        if self.within_layer:
            out.append(within_layer_clause(p("within_layer", bound), c.geometry))
        return out


def within_layer_clause(
    layer_id: uuid.UUID | Any, geometry: Any = Case.geometry
) -> ColumnElement[bool]:
    """EXISTS: the geometry (what a viewer is shown) touches a feature of the layer, via the
    parts' index."""
    parts = LAYER_FEATURE_PARTS.c
    return (
        select(parts.id)
        .where(parts.layer_id == layer_id, func.ST_Intersects(parts.geometry, geometry))
        .exists()
    )


async def attribute_filters(
    issue_type: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(pattern=query_pattern(CaseStatus))] = None,
    organization_id: uuid.UUID | None = None,
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    sensitivity: Annotated[str | None, Query(pattern=query_pattern(Sensitivity))] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200, description="full text")] = None,
) -> CaseFilters:
    """The filters on a case's attributes, declared once for every read (lists, maps, OGC)."""
    return CaseFilters(
        issue_type=issue_type,
        status=status,
        organization_id=organization_id,
        country=country,
        sensitivity=sensitivity,
        q=q,
    )


async def case_filters(
    attributes: Annotated[CaseFilters, Depends(attribute_filters)],
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy in WGS 84")] = None,
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
    return dataclasses.replace(
        attributes,
        bbox=parse_bbox(bbox) if bbox else None,
        updated_after=updated_after,
        within_layer=within_layer,
    )
