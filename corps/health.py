"""GET /health: is the database, PostGIS and Redis each reachable."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from corps.outages import RETRY_AFTER_S

router = APIRouter(tags=["service"])
CHECK_TIMEOUT_S = 3.0


async def _check_database(request: Request) -> tuple[str, str | None]:
    try:
        async with request.app.state.engine.connect() as conn:
            version = await asyncio.wait_for(
                conn.scalar(text("SELECT postgis_lib_version()")), CHECK_TIMEOUT_S
            )
        return "ok", str(version)
    except Exception as exc:
        return f"down: {type(exc).__name__}", None


async def _check_redis(request: Request) -> str:
    try:
        await asyncio.wait_for(request.app.state.arq.ping(), CHECK_TIMEOUT_S)
        return "ok"
    except Exception as exc:
        return f"down: {type(exc).__name__}"


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    """200 when the database, PostGIS and Redis answer; 503 naming the part that does not."""
    (database, postgis), redis = await asyncio.gather(
        _check_database(request), _check_redis(request)
    )
    body: dict[str, Any] = {
        "status": "ok",
        "database": database,
        "postgis": postgis or "unknown",
        "redis": redis,
    }
    failing = [name for name in ("database", "redis") if body[name] != "ok"]
    if failing:
        body["status"] = "unavailable"
        body["detail"] = f"Not reachable: {', '.join(failing)}."
        return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})
    return JSONResponse(body)
