"""Reference-layer routes: upload, list, features and case overlaps."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from corps.auth.actor import CurrentActor
from corps.auth.policy import LayerManager
from corps.db import SessionDep
from corps.pagination import MAX_OFFSET, Page, PageDep
from corps.vocabulary import values
from maps.layers import (
    MAX_FEATURES_PAGE,
    LayerRead,
    create_layer,
    layer_features_geojson,
    list_layers,
    read_layer,
)
from maps.models import LayerKind
from maps.overlaps import OverlapRead, case_overlaps

router = APIRouter(prefix="/api/v1", tags=["layers"])
UPLOAD_FORM: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "name", "kind"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "GeoJSON, GeoPackage, KML or a zipped Shapefile",
                        },
                        "name": {"type": "string", "maxLength": 200},
                        "kind": {"type": "string", "enum": values(LayerKind)},
                    },
                }
            }
        },
    }
}


@router.post("/layers", status_code=201, openapi_extra=UPLOAD_FORM)
async def upload_layer(
    request: Request, response: Response, session: SessionDep, actor: LayerManager
) -> LayerRead:
    """Upload a reference layer (coordinators and admins)."""
    length = request.headers.get("content-length")
    layer = await create_layer(
        session,
        actor,
        body=request.stream(),
        content_type=request.headers.get("content-type"),
        content_length=int(length) if length and length.isdigit() else None,
    )
    response.headers["Location"] = f"/api/v1/layers/{layer.id}"
    return layer


@router.get("/layers")
async def get_layers(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
) -> Page[LayerRead]:
    """List reference layers, newest first."""
    return await list_layers(session, page)


@router.get("/layers/{layer_id}")
async def get_layer(layer_id: uuid.UUID, session: SessionDep, actor: CurrentActor) -> LayerRead:
    """One reference layer."""
    return await read_layer(session, layer_id)


@router.get("/layers/{layer_id}/features", response_class=Response)
async def get_layer_features(
    layer_id: uuid.UUID,
    session: SessionDep,
    actor: CurrentActor,
    limit: Annotated[int, Query(ge=1, le=MAX_FEATURES_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    """A page of the layer's features as GeoJSON (properties: name, area_m2, attributes)."""
    body = await layer_features_geojson(session, layer_id, limit=limit, offset=offset)
    return Response(body, media_type="application/geo+json")


@router.get("/cases/{case_id}/overlaps")
async def get_case_overlaps(
    case_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> list[OverlapRead]:
    """Reference-layer features that intersect the case, with the overlap area."""
    return await case_overlaps(session, actor, case_id)
