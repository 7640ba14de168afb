"""OGC API - Features, Part 1 (Core, GeoJSON, OpenAPI 3.0) for the cases a viewer may read.

Rows come only from the one view of a case (cases/view.py), exactly as on the case list;
`bbox` is matched against the geometry the viewer is shown (never the true one) and place
names are never published.
Item pages are GeoJSON built by PostGIS in one statement and sent as the bytes PostgreSQL made.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import (
    JSON,
    DateTime,
    Integer,
    LargeBinary,
    Select,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal_column,
)
from sqlalchemy import select as sql_select
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from cases.filters import CaseFilters
from cases.projection import GEOJSON_DECIMALS
from cases.view import case_view
from corps.auth.actor import CurrentActor
from corps.db import SessionDep
from corps.errors import PROBLEM_JSON, NotFound
from corps.statements import built_once
from maps.features_query import (
    ItemsQuery,
    OgcRoute,
    items_query,
)

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
WORLD = [-180.0, -90.0, 180.0, 90.0]
_MOMENT = DateTime(timezone=True)


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


def _feature(c: Any, links: ColumnElement[Any] | None = None) -> ColumnElement[Any]:
    """A GeoJSON Feature for a row of the case view; place names are left out on purpose."""
    properties = func.json_build_object(
        *("reference", c.reference, "title", c.title, "status", c.status),
        *("issue_types", c.issue_types, "sensitivity", c.sensitivity),
        *("organization_id", c.organization_id, "country", c.country),
        *("people_affected", c.people_affected, "opened_on", c.opened_on),
        *("updated_at", c.updated_at, "generalized", c.generalized),
    )
    # RFC 7946: exterior rings counter-clockwise (a generalized cell is made clockwise).
    geometry = cast(func.ST_AsGeoJSON(func.ST_ForcePolygonCCW(c.geometry), GEOJSON_DECIMALS), JSON)
    parts: list[Any] = ["type", "Feature", "id", c.id, "geometry", geometry]
    parts += ["properties", properties, *(["links", links] if links is not None else [])]
    return func.json_build_object(*parts)


def _clauses(filters: CaseFilters, view: Any, *, since: bool, until: bool) -> list[Any]:
    """WHERE clauses of an items request, beyond visibility, bbox and q (the view's own)."""
    out: list[Any] = filters.clauses(view, bound=False)
    if since:
        out.append(view.c.updated_at >= bindparam("updated_from", type_=_MOMENT, required=True))
    if until:
        out.append(view.c.updated_at <= bindparam("updated_to", type_=_MOMENT, required=True))
    return out


def _items_statement(filters: CaseFilters, *, since: bool, until: bool) -> Select[bytes]:
    """The FeatureCollection SELECT for every items request of one filter shape."""
    view = filters.view(bound=False)
    c = view.c
    size = bindparam("page_size", type_=Integer, required=True)
    page = (
        sql_select(_feature(c).label("feature"), c.created_at, c.id)
        .select_from(view)
        .where(*_clauses(filters, view, since=since, until=until))
        .order_by(c.created_at, c.id)  # new cases land at the end: offsets stay stable
        # One more than asked tells whether a next page exists.
        .limit(bindparam("page_rows", type_=Integer, required=True))
        .offset(bindparam("page_offset", type_=Integer, required=True))
        .subquery("page")
    )
    rank = func.row_number().over(order_by=(page.c.created_at, page.c.id)).label("rank")
    numbered = sql_select(page.c.feature, rank).subquery("numbered")
    more = func.count() > size
    all_links = bindparam("links", type_=JSONB, required=True).op("||", return_type=JSONB)(
        case(
            (more, bindparam("next_link", type_=JSONB, required=True)),
            else_=literal_column("'[]'::jsonb", JSONB),
        )
    )
    features = func.json_agg(aggregate_order_by(numbered.c.feature, numbered.c.rank)).filter(
        numbered.c.rank <= size
    )
    collection = func.json_build_object(
        *("type", "FeatureCollection"),
        *("timeStamp", bindparam("time_stamp", type_=Text, required=True)),
        *("numberReturned", func.least(func.count(), size), "links", all_links),
        *("features", func.coalesce(features, func.json_build_array())),
    )
    # As UTF-8 bytes, which the driver hands over as they came and the response sends as they
    # are: half a megabyte is neither decoded into a str nor encoded back.
    body = func.convert_to(cast(collection, Text), "UTF8", type_=LargeBinary)
    return sql_select(body).select_from(numbered)


def items_statement(
    query: ItemsQuery, links: list[dict[str, str]], next_link: dict[str, str]
) -> tuple[Select[bytes], dict[str, Any]]:
    """One SELECT whose single value is the whole FeatureCollection of a page (UTF-8), and the
    values to run it with: built once per filter shape, the page's values all bound."""
    filters = dataclasses.replace(query.filters, bbox=query.bbox)
    since, until = query.updated_from is not None, query.updated_to is not None
    statement = built_once(
        ("ogc-items", filters.shape(), since, until),
        lambda: _items_statement(filters, since=since, until=until),
    )
    params = filters.params() | {
        "page_size": query.limit,
        "page_rows": query.limit + 1,
        "page_offset": query.offset,
        "links": links,
        "next_link": [next_link],
        "time_stamp": _now_rfc3339(),
    }
    if since:
        params["updated_from"] = query.updated_from
    if until:
        params["updated_to"] = query.updated_to
    return statement, params


def feature_statement(case_id: uuid.UUID, links: list[dict[str, str]]) -> Select[str]:
    """One SELECT of the Feature for a case the viewer may read (no row otherwise)."""
    view = case_view()
    feature = _feature(view.c, bindparam("links", links, type_=JSONB))
    return sql_select(cast(feature, Text)).select_from(view).where(view.c.id == case_id)


async def collection_extent(session: AsyncSession) -> dict[str, Any]:
    """Spatial extent (ST_Extent of what the viewer is shown) and temporal extent of the cases."""
    view = case_view()
    box = func.ST_Extent(view.c.geometry)
    row = (
        await session.execute(
            sql_select(
                *(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box)),
                func.min(view.c.created_at),
                func.max(view.c.updated_at),
            ).select_from(view)
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
async def collections(request: Request, session: SessionDep, actor: CurrentActor) -> dict[str, Any]:
    """The one collection, `cases`, with the extent of what the viewer may see."""
    collection = _collection(request, await collection_extent(session))
    return {
        "links": [_link(_url(request, f"{PREFIX}/collections"), "self", JSON_TYPE, "Collections")],
        "collections": [collection],
    }


@router.get(f"/collections/{COLLECTION_ID}", summary="The cases collection")
async def cases_collection(
    request: Request, session: SessionDep, actor: CurrentActor
) -> dict[str, Any]:
    """The `cases` collection with the extent of what the viewer may see."""
    return _collection(request, await collection_extent(session))


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
    body = await session.scalar(*items_statement(query, links, next_link))
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
    body = await session.scalar(feature_statement(case_id, links))
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
        # The OGC routes have no response models: only the security scheme and the problem
        # schema of their error responses are referenced.
        "components": {
            "securitySchemes": full.get("components", {}).get("securitySchemes", {}),
            "schemas": {
                name: schema
                for name, schema in full.get("components", {}).get("schemas", {}).items()
                if name in ("Problem", "ProblemError")
            },
        },
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
