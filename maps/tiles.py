"""Mapbox Vector Tiles of cases, built by ST_AsMVT with the viewer's privacy applied in SQL."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from sqlalchemy import (
    Integer,
    LargeBinary,
    Text,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from cases.filters import CaseFilters, case_filters
from cases.view import bbox_geometry, case_view
from corps.auth.actor import Actor, CurrentActor
from corps.db import SessionDep
from corps.errors import NotFound
from geo.privacy import Level
from maps.driver_sql import driver_scalar
from maps.tile_cache import TileCache, tile_key

router = APIRouter(prefix="/api/v1/tiles", tags=["maps"])
MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
EXTENT = 4096
BUFFER = 64
MAX_FEATURES_PER_TILE = 10_000
CLUSTER_BELOW_ZOOM = 10
CLUSTER_CELLS_PER_TILE = 32
MAX_ZOOM = 22
WEB_MERCATOR_WIDTH = 40_075_016.685578488

_z = bindparam("z", type_=Integer)
_x = bindparam("x", type_=Integer)
_y = bindparam("y", type_=Integer)


def _envelope() -> Any:
    return func.ST_TileEnvelope(_z, _x, _y)


def _tile_view(filters: CaseFilters) -> Any:
    """The case view within the tile (plus its buffer), as the viewer is shown each case.

    The tile (a Web Mercator box) is the view's `tile` argument: it keeps the cases whose shown
    geometry's box overlaps it, through the exact geometry's and the generalized cell's
    indexes; ST_AsMVTGeom's clipping then drops those that only overlap by their box.
    """
    margin: Any = literal_column(f"margin => {BUFFER / EXTENT}")
    q = bindparam("f_q", type_=Text, required=True) if filters.q else None
    return case_view(Level.internal, q=q, tile=func.ST_TileEnvelope(_z, _x, _y, margin))


def _clauses(filters: CaseFilters, view: Any) -> list[Any]:
    """The list filters on the view; a bbox filter is matched against the shown geometry."""
    out = filters.clauses(view, bound=False)
    corners = filters.bbox_params(bound=False)
    if corners is not None and filters.bbox is not None:
        area = bbox_geometry(corners, crosses=filters.bbox[0] > filters.bbox[2])
        out.append(func.ST_Intersects(view.c.geometry, area))
    return out


def cases_layer(filters: CaseFilters) -> Any:
    """SELECT of one MVT layer `cases`: each visible case as shown to this viewer."""
    view = _tile_view(filters)
    c = view.c
    # Sort and cap before ST_AsMVTGeom, so clipping runs once per kept feature.
    rows = (
        select(
            c.geom_3857.label("shown"),
            cast(c.id, Text).label("id"),
            c.reference,
            c.status,
            func.array_to_string(c.issue_types, ",").label("issue_types"),
            cast(c.organization_id, Text).label("organization_id"),
            c.generalized,
        )
        .select_from(view)
        .where(*_clauses(filters, view))
        .order_by(c.id)  # a uuid sorts as its text does
        .limit(MAX_FEATURES_PER_TILE)
        .subquery("candidates")
    )
    layer = select(
        func.ST_AsMVTGeom(rows.c.shown, _envelope(), EXTENT, BUFFER, True).label("geom"),
        *(column for column in rows.c if column.key != "shown"),
    ).subquery("t")
    # ST_AsMVT skips rows whose geometry clips away.
    return select(func.ST_AsMVT(literal_column("t"), "cases", EXTENT, "geom")).select_from(layer)


def clusters_layer(filters: CaseFilters) -> Any:
    """SELECT of the MVT layer `case_clusters`: counts on a grid, for low zooms with many cases."""
    view = _tile_view(filters)
    point = func.ST_Transform(view.c.centroid, 3857)
    grid = literal(WEB_MERCATOR_WIDTH) / func.power(2, _z) / CLUSTER_CELLS_PER_TILE
    snapped = func.ST_SnapToGrid(point, grid)
    cells = (
        select(
            func.ST_AsMVTGeom(
                func.ST_Centroid(func.ST_Collect(point)), _envelope(), EXTENT, BUFFER, True
            ).label("geom"),
            func.count().label("count"),
        )
        .select_from(view)
        .where(*_clauses(filters, view), view.c.centroid.is_not(None))
        .group_by(snapped)
        .subquery("c")
    )
    inside = select(cells).where(cells.c.geom.is_not(None)).subquery("t")
    return select(func.ST_AsMVT(literal_column("t"), "case_clusters", EXTENT, "geom")).select_from(
        inside
    )


def tile_statement(filters: CaseFilters, *, clusters: bool) -> Any:
    """One SELECT of the whole tile: `cases`, then `case_clusters` when asked (one round trip).

    Filters are bind parameters without values (filters.params()), so the statement is built
    once per shape of filters and serves every tile and viewer.
    """
    empty = literal(b"", LargeBinary)
    tile: Any = func.coalesce(cases_layer(filters).scalar_subquery(), empty)
    if clusters:
        tile = tile.op("||")(func.coalesce(clusters_layer(filters).scalar_subquery(), empty))
    return select(tile.label("tile"))


async def render_tile(
    session: AsyncSession, filters: CaseFilters, *, z: int, x: int, y: int
) -> bytes:
    """The tile's bytes: layer `cases`, plus `case_clusters` below zoom 10."""
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        raise NotFound(f"No tile {z}/{x}/{y}.")
    clusters = z < CLUSTER_BELOW_ZOOM
    tile = await driver_scalar(
        session,
        ("tile", filters.shape(), clusters),
        lambda: tile_statement(filters, clusters=clusters),
        {"z": z, "x": x, "y": y, **filters.params()},
    )
    return bytes(tile or b"")


async def cached_tile(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    filters: CaseFilters,
    *,
    z: int,
    x: int,
    y: int,
) -> bytes:
    """The tile from the cache when its data has not changed since, else rendered and kept."""
    settings = request.app.state.settings
    key = None
    if settings.tile_cache_mb and 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z:
        key = await tile_key(session, actor, filters, z=z, x=x, y=y)
    if key is None:
        return await render_tile(session, filters, z=z, x=x, y=y)
    cache = TileCache(
        request.app.state.arq,
        ttl_s=settings.tile_cache_ttl_s,
        cap_bytes=settings.tile_cache_mb * 1024 * 1024,
    )
    tile = await cache.get(key)
    if tile is None:
        tile = await render_tile(session, filters, z=z, x=x, y=y)
        await cache.put(key, tile)
    return tile


@router.get(
    "/cases/{z}/{x}/{y}.mvt",
    response_class=Response,
    responses={200: {"content": {MVT_MEDIA_TYPE: {}}}},
)
async def case_tile(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    filters: Annotated[CaseFilters, Depends(case_filters)],
    z: Annotated[int, Path(ge=0, le=MAX_ZOOM)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """A vector tile of the cases the viewer may see, filtered like the case list."""
    tile = await cached_tile(request, session, actor, filters, z=z, x=x, y=y)
    etag = '"' + hashlib.sha256(tile).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=60", "Vary": "Authorization"}
    if if_none_match == etag:
        return Response(status_code=304, headers=headers)
    return Response(tile, media_type=MVT_MEDIA_TYPE, headers=headers)
