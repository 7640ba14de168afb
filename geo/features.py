"""OGC API - Features, Part 1 (Core, GeoJSON, OpenAPI 3.0) for the cases a viewer may read.

Rows come only from `case_visibility(actor)` and locations only through the viewer's
`cell_size` + `generalized_geometry`, exactly as on the case list; `bbox` is matched against
the geometry the viewer is shown (never the true one) and place names are never published.
Item pages are GeoJSON built by PostGIS in one statement and sent as PostgreSQL's text.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy import JSON, Select, Text, bindparam, case, cast, func, literal_column
from sqlalchemy import select as sql_select
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from cases.filters import CaseFilters
from cases.models import SENSITIVITIES, STATUSES, Case
from cases.projection import GEOJSON_DECIMALS
from cases.visibility import case_visibility
from corps.auth.actor import Actor, CurrentActor
from corps.db import SessionDep
from corps.errors import PROBLEM_JSON, AppError, NotFound
from geo.privacy import PARTNER_CELL_DEG, PUBLIC_CELL_DEG, cell_size, generalized_geometry

PREFIX = "/ogc"
COLLECTION_ID = "cases"
GEOJSON = "application/geo+json"
JSON_TYPE = "application/json"
OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# A generalized cell holds the case's centroid, so it lies within one cell of the true bbox.
WIDEST_CELL_DEG = max(PARTNER_CELL_DEG, PUBLIC_CELL_DEG)
WORLD = [-180.0, -90.0, 180.0, 90.0]
BBox = tuple[float, float, float, float]


class BadRequest(AppError):
    """A query parameter the server cannot process (OGC API - Features answers 400)."""

    status, slug, title = 400, "bad-request", "Bad request"


class OgcRoute(APIRoute):
    """A route whose invalid parameters answer 400 problem+json, as the OGC standard requires."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler so request validation errors become BadRequest."""
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = [
                    {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
                    for e in exc.errors()
                ]
                detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors)
                raise BadRequest(detail or "Invalid parameter.", extra={"errors": errors}) from exc

        return route


_PROBLEM: dict[str, Any] = {"content": {PROBLEM_JSON: {}}}
router = APIRouter(
    prefix=PREFIX,
    tags=["ogc-features"],
    route_class=OgcRoute,
    responses={
        400: {"description": "A parameter is invalid.", **_PROBLEM},
        "default": {"description": "An error, as application/problem+json.", **_PROBLEM},
    },
)


def _parse_bbox(raw: str) -> BBox:
    """Read 4 (or 6, height ignored) CRS84 numbers; minx > maxx crosses the antimeridian."""
    try:
        numbers = [float(part) for part in raw.split(",")]
    except ValueError as exc:
        raise BadRequest("bbox must be 4 or 6 comma-separated numbers.") from exc
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise BadRequest("bbox must be 4 or 6 comma-separated numbers.")
    minx, miny, maxx, maxy = numbers
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise BadRequest("bbox is outside CRS84 (longitude, latitude) bounds or has miny > maxy.")
    return minx, miny, maxx, maxy


def _parse_instant(raw: str, *, end: bool) -> datetime:
    """An RFC 3339 date-time (no offset means UTC); a bare date covers that whole day."""
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            if end:
                return datetime.combine(day + timedelta(days=1), time(), UTC) - timedelta.resolution
            return datetime.combine(day, time(), UTC)
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise BadRequest(f"datetime {raw!r} is not an RFC 3339 date-time.") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parse_datetime(raw: str) -> tuple[datetime | None, datetime | None]:
    """Read an instant, `a/b`, `../b` or `a/..` (an empty end is open too) into bounds."""
    if "/" not in raw:
        return _parse_instant(raw, end=False), _parse_instant(raw, end=True)
    first, _, second = raw.partition("/")
    start = None if first in ("", "..") else _parse_instant(first, end=False)
    stop = None if second in ("", "..") else _parse_instant(second, end=True)
    if start and stop and start > stop:
        raise BadRequest("datetime interval ends before it starts.")
    return start, stop


@dataclass(frozen=True)
class ItemsQuery:
    """What an items request asks for: paging, bbox, datetime and the case-list filters."""

    limit: int
    offset: int
    bbox: BBox | None
    updated_from: datetime | None
    updated_to: datetime | None
    filters: CaseFilters


def items_query(
    limit: Annotated[
        int,
        Query(
            ge=1,
            description=f"Page size; values above {MAX_LIMIT} are treated as {MAX_LIMIT}.",
            json_schema_extra={"maximum": MAX_LIMIT},
        ),
    ] = DEFAULT_LIMIT,
    offset: Annotated[
        int, Query(ge=0, description="Features to skip (the next link sets it).")
    ] = 0,
    bbox: Annotated[
        str | None,
        Query(description="minx,miny,maxx,maxy in CRS84 (6 numbers: heights are ignored)."),
    ] = None,
    datetime_: Annotated[
        str | None,
        Query(
            alias="datetime",
            description="RFC 3339 instant or interval (a/b, ../b, a/..), matched against "
            "each case's updated_at (its last change). A bare date means that whole day (UTC).",
        ),
    ] = None,
    issue_type: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(pattern=f"^({'|'.join(STATUSES)})$")] = None,
    organization_id: uuid.UUID | None = None,
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    sensitivity: Annotated[str | None, Query(pattern=f"^({'|'.join(SENSITIVITIES)})$")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200, description="full text")] = None,
) -> ItemsQuery:
    """Read the items parameters; limit is clamped to the maximum, not refused."""
    updated_from, updated_to = _parse_datetime(datetime_) if datetime_ else (None, None)
    return ItemsQuery(
        limit=min(limit, MAX_LIMIT),
        offset=offset,
        bbox=_parse_bbox(bbox) if bbox else None,
        updated_from=updated_from,
        updated_to=updated_to,
        filters=CaseFilters(
            issue_type=issue_type,
            status=status,
            organization_id=organization_id,
            country=country,
            sensitivity=sensitivity,
            q=q,
        ),
    )


@dataclass(frozen=True)
class ViewerLocation:
    """The cell size (NULL for exact) and the geometry a viewer is shown for each case row."""

    size: ColumnElement[Any]
    geometry: ColumnElement[Any]

    @classmethod
    def of(cls, actor: Actor) -> ViewerLocation:
        """The viewer's location expressions, privacy applied by geo/privacy.py."""
        size = cell_size(actor, sensitivity=Case.sensitivity, organization_id=Case.organization_id)
        return cls(size, generalized_geometry(Case.geometry, Case.centroid, size))


def _feature(shown: ViewerLocation, links: ColumnElement[Any] | None = None) -> ColumnElement[Any]:
    """A GeoJSON Feature for the current case row; place names are left out on purpose."""
    properties = func.json_build_object(
        *("reference", Case.reference, "title", Case.title, "status", Case.status),
        *("issue_types", Case.issue_types, "sensitivity", Case.sensitivity),
        *("organization_id", Case.organization_id, "country", Case.country),
        *("people_affected", Case.people_affected, "opened_on", Case.opened_on),
        *("updated_at", Case.updated_at, "generalized", shown.size.is_not(None)),
    )
    geometry = cast(func.ST_AsGeoJSON(shown.geometry, GEOJSON_DECIMALS), JSON)
    parts: list[Any] = ["type", "Feature", "id", Case.id, "geometry", geometry]
    parts += ["properties", properties, *(["links", links] if links is not None else [])]
    return func.json_build_object(*parts)


def _clauses(query: ItemsQuery, shown: ViewerLocation) -> list[ColumnElement[bool]]:
    """WHERE clauses of an items request, beyond visibility."""
    filters = dataclasses.replace(query.filters, bbox=query.bbox)
    out = filters.clauses(cell=shown.size)
    if query.updated_from:
        out.append(Case.updated_at >= query.updated_from)
    if query.updated_to:
        out.append(Case.updated_at <= query.updated_to)
    return out


def items_statement(
    actor: Actor, query: ItemsQuery, links: list[dict[str, str]], next_link: dict[str, str]
) -> Select[str]:
    """One SELECT whose single text value is the whole FeatureCollection of a page."""
    shown = ViewerLocation.of(actor)
    page = (
        sql_select(_feature(shown).label("feature"), Case.created_at, Case.id)
        .where(case_visibility(actor), *_clauses(query, shown))
        .order_by(Case.created_at, Case.id)  # new cases land at the end: offsets stay stable
        .limit(query.limit + 1)  # one more than asked tells whether a next page exists
        .offset(query.offset)
        .subquery("page")
    )
    rank = func.row_number().over(order_by=(page.c.created_at, page.c.id)).label("rank")
    numbered = sql_select(page.c.feature, rank).subquery("numbered")
    more = func.count() > query.limit
    all_links = bindparam("links", links, type_=JSONB).op("||", return_type=JSONB)(
        case(
            (more, bindparam("next_link", [next_link], type_=JSONB)),
            else_=literal_column("'[]'::jsonb", JSONB),
        )
    )
    features = func.json_agg(aggregate_order_by(numbered.c.feature, numbered.c.rank)).filter(
        numbered.c.rank <= query.limit
    )
    collection = func.json_build_object(
        *("type", "FeatureCollection", "timeStamp", _now_rfc3339()),
        *("numberReturned", func.least(func.count(), query.limit), "links", all_links),
        *("features", func.coalesce(features, func.json_build_array())),
    )
    return sql_select(cast(collection, Text)).select_from(numbered)


def feature_statement(actor: Actor, case_id: uuid.UUID, links: list[dict[str, str]]) -> Select[str]:
    """One SELECT of the Feature for a case the actor may read (no row otherwise)."""
    shown = ViewerLocation.of(actor)
    feature = _feature(shown, bindparam("links", links, type_=JSONB))
    return sql_select(cast(feature, Text)).where(case_visibility(actor), Case.id == case_id)


async def collection_extent(session: AsyncSession, actor: Actor) -> dict[str, Any]:
    """Spatial extent (ST_Extent of what the viewer is shown) and temporal extent of the cases."""
    shown = ViewerLocation.of(actor)
    box = func.ST_Extent(shown.geometry)
    row = (
        await session.execute(
            sql_select(
                *(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box)),
                func.min(Case.created_at),
                func.max(Case.updated_at),
            ).where(case_visibility(actor))
        )
    ).one()
    bbox = [float(v) for v in row[:4]] if row[0] is not None else WORLD
    # From the first creation to the last change, so every updated_at (what datetime filters)
    # lies inside the interval, as /req/core/fc-md-extent asks.
    interval = [_rfc3339(row[4]), _rfc3339(row[5])]
    return {
        "spatial": {"bbox": [bbox], "crs": CRS84},
        "temporal": {"interval": [interval], "trs": GREGORIAN},
    }


def _rfc3339(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _url(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + path


def _link(href: str, rel: str, media_type: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def _collection(request: Request, extent: dict[str, Any]) -> dict[str, Any]:
    """The `cases` collection document."""
    here = _url(request, f"{PREFIX}/collections/{COLLECTION_ID}")
    return {
        "id": COLLECTION_ID,
        "title": "Cases",
        "description": "Environmental-justice cases you may read. Locations of protected cases "
        "are generalized to a grid cell (properties.generalized); place names are not published.",
        "links": [
            _link(here, "self", JSON_TYPE, "This collection"),
            _link(f"{here}/items", "items", GEOJSON, "The cases as GeoJSON"),
        ],
        "extent": extent,
        "itemType": "feature",
        "crs": [CRS84],
    }


@router.get("", summary="Landing page")
async def landing_page(request: Request, actor: CurrentActor) -> dict[str, Any]:
    """The OGC API landing page: links to the API definition, conformance and collections."""
    return {
        "title": "EJ Corps cases (OGC API - Features)",
        "description": "The cases you may read, as GeoJSON features. Send your bearer token "
        "in the Authorization header; locations follow your role's privacy rules.",
        "links": [
            _link(_url(request, PREFIX), "self", JSON_TYPE, "This document"),
            _link(_url(request, f"{PREFIX}/api"), "service-desc", OPENAPI_30, "OpenAPI 3.0"),
            _link(
                _url(request, "/openapi.json"),
                "service-desc",
                "application/vnd.oai.openapi+json;version=3.1",
                "The whole EJ Corps API (OpenAPI 3.1)",
            ),
            _link(_url(request, "/docs"), "service-doc", "text/html", "API documentation"),
            _link(_url(request, f"{PREFIX}/conformance"), "conformance", JSON_TYPE, "Conformance"),
            _link(_url(request, f"{PREFIX}/collections"), "data", JSON_TYPE, "Collections"),
        ],
    }


@router.get("/conformance", summary="Conformance classes")
async def conformance(actor: CurrentActor) -> dict[str, Any]:
    """The conformance classes this API implements."""
    return {"conformsTo": CONFORMANCE}


@router.get("/collections", summary="Feature collections")
async def collections(request: Request, session: SessionDep, actor: CurrentActor) -> object:
    """The one collection, `cases`, with the extent of what the viewer may see."""
    collection = _collection(request, await collection_extent(session, actor))
    return {
        "links": [_link(_url(request, f"{PREFIX}/collections"), "self", JSON_TYPE, "Collections")],
        "collections": [collection],
    }


@router.get(f"/collections/{COLLECTION_ID}", summary="The cases collection")
async def cases_collection(request: Request, session: SessionDep, actor: CurrentActor) -> object:
    """The `cases` collection with the extent of what the viewer may see."""
    return _collection(request, await collection_extent(session, actor))


@router.get(
    f"/collections/{COLLECTION_ID}/items",
    summary="Cases as GeoJSON features",
    response_class=Response,
    responses={200: {"description": "A FeatureCollection.", "content": {GEOJSON: {}}}},
)
async def case_items(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    query: Annotated[ItemsQuery, Depends(items_query)],
) -> Response:
    """A page of cases, oldest first; follow the `next` link for more (no numberMatched)."""
    url, size = request.url, query.limit
    links = [_link(str(url), "self", GEOJSON, "This page")]
    if query.offset > 0:
        prev_url = url.include_query_params(offset=max(0, query.offset - size), limit=size)
        links.append(_link(str(prev_url), "prev", GEOJSON, "Previous page"))
    next_url = url.include_query_params(offset=query.offset + size, limit=size)
    next_link = _link(str(next_url), "next", GEOJSON, "Next page")
    body = await session.scalar(items_statement(actor, query, links, next_link))
    return Response(content=body, media_type=GEOJSON)


@router.get(
    f"/collections/{COLLECTION_ID}/items/{{feature_id}}",
    summary="One case as a GeoJSON feature",
    response_class=Response,
    responses={200: {"description": "A Feature.", "content": {GEOJSON: {}}}},
)
async def case_item(
    feature_id: str, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    """One case the viewer may read, or 404."""
    try:
        case_id = uuid.UUID(feature_id)
    except ValueError as exc:
        raise NotFound("No such case.") from exc
    collection_url = _url(request, f"{PREFIX}/collections/{COLLECTION_ID}")
    links = [
        _link(str(request.url), "self", GEOJSON, "This case"),
        _link(collection_url, "collection", JSON_TYPE, "The cases collection"),
    ]
    body = await session.scalar(feature_statement(actor, case_id, links))
    if body is None:
        raise NotFound("No such case.")
    return Response(content=body, media_type=GEOJSON)


@router.get("/api", include_in_schema=False)
async def api_definition(request: Request) -> Response:
    """The OGC paths as an OpenAPI 3.0 document (FastAPI's own /openapi.json is 3.1)."""
    full = request.app.openapi()
    document = {
        "openapi": "3.0.3",
        "info": {**full["info"], "title": "EJ Corps OGC API - Features"},
        "paths": {path: item for path, item in full["paths"].items() if path.startswith(PREFIX)},
        # The OGC routes have no response models, so only the security scheme is referenced.
        "components": {"securitySchemes": full.get("components", {}).get("securitySchemes", {})},
    }
    return Response(orjson.dumps(_as_oas30(document)), media_type=OPENAPI_30)


def _as_oas30(node: Any) -> Any:
    """Spell FastAPI's optional values (`anyOf` with `{"type": "null"}`) as OpenAPI 3.0 does."""
    if isinstance(node, list):
        return [_as_oas30(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _as_oas30(value) for key, value in node.items()}
    variants = out.get("anyOf")
    if isinstance(variants, list) and {"type": "null"} in variants:
        rest = [v for v in out.pop("anyOf") if v != {"type": "null"}]
        if len(rest) == 1 and "$ref" not in rest[0]:
            out.update(rest[0])
        else:
            out["allOf" if len(rest) == 1 else "anyOf"] = rest
        out["nullable"] = True
    return out
