"""GET /api/v1/hotspots: clusters and significant hexagons, served from the cache."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from cases.filters import CaseFilters, case_filters
from corps.auth.actor import CurrentActor
from corps.db import SessionDep
from maps.hotspot_cache import HotspotParams, hotspots
from maps.hotspots import HotspotScope

router = APIRouter(prefix="/api/v1", tags=["maps"])
GEOJSON = "application/geo+json"


@router.get("/hotspots", responses={200: {"content": {GEOJSON: {}}}, 202: {}})
async def get_hotspots(
    session: SessionDep,
    actor: CurrentActor,
    filters: Annotated[CaseFilters, Depends(case_filters)],
    method: Literal["dbscan", "hexagons"] = "dbscan",
    distance_km: Annotated[float, Query(gt=0, le=1000)] = 25,
    min_cases: Annotated[int, Query(ge=2, le=10_000)] = 3,
    cell_km: Annotated[float, Query(ge=1, le=2000)] = 50,
) -> JSONResponse:
    """Where cases concentrate: DBSCAN clusters, or hexagons with Getis-Ord Gi* significance."""
    params = HotspotParams(
        method=method, distance_km=distance_km, min_cases=min_cases, cell_km=cell_km
    )
    result, state = await hotspots(session, HotspotScope.of(actor), params, filters)
    headers = {"X-Hotspots-State": state, "Cache-Control": "private, max-age=30"}
    if result is None:
        body = {"status": "queued", "detail": "The analysis is running; ask again shortly."}
        return JSONResponse(body, status_code=202, headers={**headers, "Retry-After": "5"})
    return JSONResponse(result, media_type=GEOJSON, headers=headers)
