"""GET /health: the database, PostGIS and Redis; the worker's heartbeat; the store's free space.

503 when the database or Redis does not answer (the API cannot serve). `degraded` (still
200: the API serves) when no worker has written its heartbeat lately, so accepted work waits,
or the store has less free space than EJ_STORAGE_MIN_FREE_MB, so uploads will soon be 507.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from corps.jobs import HEARTBEAT_KEY
from corps.outages import RETRY_AFTER_S

router = APIRouter(tags=["service"])
CHECK_TIMEOUT_S = 3.0
MB = 1024 * 1024


async def _check_database(request: Request) -> tuple[str, str | None]:
    try:
        async with request.app.state.engine.connect() as conn:
            version = await asyncio.wait_for(
                conn.scalar(text("SELECT postgis_lib_version()")), CHECK_TIMEOUT_S
            )
        return "ok", str(version)
    except Exception as exc:
        return f"down: {type(exc).__name__}", None


async def _check_redis(request: Request) -> tuple[str, float | None]:
    """Redis's state, and the age in seconds of the worker's last heartbeat (None if none)."""
    try:
        beat = await asyncio.wait_for(request.app.state.arq.get(HEARTBEAT_KEY), CHECK_TIMEOUT_S)
    except Exception as exc:
        return f"down: {type(exc).__name__}", None
    if beat is None:
        return "ok", None
    return "ok", max(time.time() - float(beat), 0.0)


async def _free_bytes(request: Request) -> int | None:
    try:
        free: int | None = await request.app.state.storage.free_bytes()
    except Exception:
        return None
    return free


def _worker_state(redis: str, age: float | None, max_age: int) -> str:
    if redis != "ok":
        return "unknown: Redis is down"
    if age is None:
        return "no heartbeat: no worker is running"
    if age > max_age:
        return f"no heartbeat for {age:.0f} s: the worker is stuck or dead"
    return "ok"


def _storage_state(free: int | None, min_free_mb: int) -> str:
    if free is None:
        return "ok"  # object storage: no figure to check
    if free < min_free_mb * MB:
        return f"low: {free / MB:.1f} MB free, under the {min_free_mb} MB set"
    return "ok"


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    """200 `ok`, or 200 `degraded` naming the worker or the storage; 503 naming what is down."""
    settings = request.app.state.settings
    (database, postgis), (redis, age), free = await asyncio.gather(
        _check_database(request), _check_redis(request), _free_bytes(request)
    )
    body: dict[str, Any] = {
        "status": "ok",
        "database": database,
        "postgis": postgis or "unknown",
        "redis": redis,
        "worker": _worker_state(redis, age, settings.heartbeat_max_age_s),
        "worker_heartbeat_age_s": round(age, 1) if age is not None else None,
        "storage": _storage_state(free, settings.storage_min_free_mb),
        "storage_free_mb": round(free / MB, 1) if free is not None else None,
    }
    failing = [name for name in ("database", "redis") if body[name] != "ok"]
    if failing:
        body["status"] = "unavailable"
        body["detail"] = f"Not reachable: {', '.join(failing)}."
        return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})
    degraded = [name for name in ("worker", "storage") if body[name] != "ok"]
    if degraded:
        body["status"] = "degraded"
        body["degraded"] = degraded
        body["detail"] = "; ".join(f"{name}: {body[name]}" for name in degraded)
    return JSONResponse(body)
