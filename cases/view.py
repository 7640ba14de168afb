"""The one view of a case: the database's `ej_cases(level, bbox, q, tile, tiled)`, selectable.

Every read of cases selects from it: it gives each case the transaction's viewer may read (see
corps.db.set_viewer), as that viewer may see it at a level. Filters apply to its columns, which
hold what is shown (the generalized cell, the public title), never the true values.
"""

from __future__ import annotations

from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    Text,
    Uuid,
    column,
    func,
    literal_column,
    null,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import TableValuedAlias

from geo.privacy import Level

# minx, miny, maxx, maxy in WGS 84; minx > maxx crosses the antimeridian.
BBox = tuple[float, float, float, float]

VIEW_COLUMNS = (
    column("id", Uuid),
    column("reference", Text),
    column("organization_id", Uuid),
    column("organization_name", Text),
    column("organization_slug", Text),
    column("title", Text),
    column("public_title", Text),
    column("summary", Text),
    column("issue_types", ARRAY(Text)),
    column("status", Text),
    column("sensitivity", Text),
    column("geometry", Geometry(srid=4326, spatial_index=False)),
    column("geom_3857", Geometry(srid=3857, spatial_index=False)),
    column("centroid", Geometry(srid=4326, spatial_index=False)),
    column("generalized", Boolean),
    column("cell_deg", Float),
    column("geometry_repaired", Boolean),
    column("area_m2", Float),
    column("location_precision", Text),
    column("place_name", Text),
    column("country", Text),
    column("people_affected", Integer),
    column("respondents", JSON),
    column("opened_on", Date),
    column("date_precision", Text),
    column("version", Integer),
    column("created_at", DateTime(timezone=True)),
    column("updated_at", DateTime(timezone=True)),
)


def bbox_geometry(bbox: BBox | tuple[Any, Any, Any, Any], *, crosses: bool | None = None) -> Any:
    """The box as a geometry; one that crosses the antimeridian is two boxes.

    The corners may be bind parameters; then `crosses` says which of the two shapes to build.
    """
    minx, miny, maxx, maxy = bbox
    if not (minx > maxx if crosses is None else crosses):
        return func.ST_MakeEnvelope(minx, miny, maxx, maxy, 4326)
    return func.ST_Collect(
        func.ST_MakeEnvelope(minx, miny, 180.0, maxy, 4326),
        func.ST_MakeEnvelope(-180.0, miny, maxx, maxy, 4326),
    )


def case_view(
    level: Level = Level.internal,
    *,
    bbox: BBox | Any | None = None,
    q: str | ColumnElement[Any] | None = None,
    tile: Any | None = None,
    name: str = "v",
) -> TableValuedAlias:
    """The cases the viewer may read, as shown at `level`, within `bbox` and matching `q`.

    `bbox` and `q` are arguments, not WHERE clauses, so the function can narrow through the
    true geometry's and the search documents' indexes while matching only what it shows. `q`
    is the text of a web search, or a bind parameter holding one. `tile`, a Web Mercator box,
    keeps the cases whose shown geometry's box overlaps it, through the indexes of the exact
    geometry and of the generalized cell (migration 0093). The level is written into the
    statement, not bound, so that every plan, generic ones too, folds the other levels away.
    """
    area: Any = null()
    if isinstance(bbox, tuple):
        area = bbox_geometry(bbox)
    elif bbox is not None:
        area = bbox
    query: Any = null()
    if q is not None and not (isinstance(q, str) and not q):
        query = func.websearch_to_tsquery("simple", q)
    level_sql = literal_column(f"'{Level(level).value}'", Text)  # an enum value: no quoting
    # `tiled` is written in, so that a generic plan (the tile a parameter) still knows it.
    tiled: Any = literal_column("true" if tile is not None else "false")
    return func.ej_cases(
        level_sql, area, query, null() if tile is None else tile, tiled
    ).table_valued(*VIEW_COLUMNS, name=name)
