"""Hotspot results cached per viewer scope and filter set, recomputed by a job as cases change."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import cron
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.changes import cases_fingerprint
from cases.filters import CaseFilters
from corps.audit import canonical_json
from corps.auth.actor import Role
from corps.jobs import CRON_JOBS, INLINE_MAX_CASES, enqueue_after_commit, job, requeue
from maps.hotspots import HotspotScope, dbscan_clusters, hexagon_hotspots, points
from maps.models import HotspotResult


@dataclasses.dataclass(frozen=True)
class HotspotParams:
    """What was asked: the method and its parameters."""

    method: str
    distance_km: float
    min_cases: int
    cell_km: float


def _filters_json(filters: CaseFilters) -> dict[str, Any]:
    raw = dataclasses.asdict(filters)
    return {
        k: (v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, uuid.UUID) else v)
        for k, v in raw.items()
        if v is not None
    }


def cache_key(
    scope: HotspotScope, params: HotspotParams, filters: CaseFilters
) -> tuple[str, dict[str, Any]]:
    """A stable key and the JSON to rebuild the request in a job."""
    spec = {
        "scope": {"role": scope.role.value, "organization_id": str(scope.organization_id)},
        "params": {
            "method": params.method,
            "distance_km": float(params.distance_km),
            "min_cases": int(params.min_cases),
            "cell_km": float(params.cell_km),
        },
        "filters": _filters_json(filters),
    }
    return hashlib.sha256(canonical_json(spec)).hexdigest(), spec


def _filters_from(spec: dict[str, Any]) -> CaseFilters:
    values = dict(spec)
    if "bbox" in values:
        values["bbox"] = tuple(values["bbox"])
    if "organization_id" in values:
        values["organization_id"] = uuid.UUID(values["organization_id"])
    if "updated_after" in values:
        values["updated_after"] = datetime.fromisoformat(values["updated_after"])
    return CaseFilters(**values)


async def analyse(
    session: AsyncSession, scope: HotspotScope, params: HotspotParams, filters: CaseFilters
) -> dict[str, Any]:
    """Run the analysis now and return a GeoJSON FeatureCollection."""
    if params.method == "dbscan":
        features = await dbscan_clusters(
            session, scope, filters, distance_km=params.distance_km, min_cases=params.min_cases
        )
    else:
        features = await hexagon_hotspots(session, scope, filters, cell_km=params.cell_km)
    return {
        "type": "FeatureCollection",
        "features": features,
        "metadata": {
            "method": params.method,
            **dataclasses.asdict(params),
            "computed_at": datetime.now(UTC).isoformat(),
            "counts_only": scope.counts_only,
        },
    }


async def _store(session: AsyncSession, key: str, spec: dict[str, Any], **values: Any) -> None:
    row = {"cache_key": key, "params": spec, **values}
    await session.execute(
        insert(HotspotResult)
        .values(row)
        .on_conflict_do_update(
            index_elements=["cache_key"], set_={k: v for k, v in row.items() if k != "cache_key"}
        )
    )


async def _store_done(
    session: AsyncSession, key: str, spec: dict[str, Any], result: dict[str, Any], fingerprint: str
) -> None:
    await _store(
        session,
        key,
        spec,
        status="done",
        result=result,
        cases_fingerprint=fingerprint,
        computed_at=datetime.now(UTC),
        error=None,
    )


def counted_filters(scope: HotspotScope, filters: CaseFilters) -> CaseFilters:
    """The filters as a scope may apply them.

    A paralegal sees other organizations' cases as counts only, but `q` searches titles,
    summaries, place names and respondents they may not read: a count of matches elsewhere
    would answer "is Palm Bay named in a case?". Their text search counts their own
    organization's cases only.
    """
    if scope.counts_only and filters.q:
        return dataclasses.replace(filters, organization_id=scope.organization_id)
    return filters


async def hotspots(
    session: AsyncSession, scope: HotspotScope, params: HotspotParams, filters: CaseFilters
) -> tuple[dict[str, Any] | None, str]:
    """The result and its state: `fresh`, `computed`, `stale` (recomputing) or `queued`."""
    return await _hotspots(session, scope, params, counted_filters(scope, filters))


async def _hotspots(
    session: AsyncSession, scope: HotspotScope, params: HotspotParams, filters: CaseFilters
) -> tuple[dict[str, Any] | None, str]:
    key, spec = cache_key(scope, params, filters)
    fingerprint = await cases_fingerprint(session)
    cached = await session.get(HotspotResult, key)
    if cached and cached.status == "done" and cached.cases_fingerprint == fingerprint:
        return cached.result, "fresh"
    pts = points(scope, filters)
    # counted only as far as it decides where to compute: a million cases are not counted here
    few = select(pts.c.id).limit(INLINE_MAX_CASES + 1).subquery()
    count = await session.scalar(select(func.count()).select_from(few)) or 0
    if count <= INLINE_MAX_CASES:
        result = await analyse(session, scope, params, filters)
        await _store_done(session, key, spec, result, fingerprint)
        return result, "computed"
    if not cached or cached.status not in ("queued", "running"):
        await _store(
            session,
            key,
            spec,
            status="queued",
            result=cached.result if cached else None,
            cases_fingerprint=cached.cases_fingerprint if cached else None,
            requested_at=datetime.now(UTC),  # the re-queue sweep's clock starts now
        )
        enqueue_after_commit(  # per state of the cases: arq keeps a finished job's id an hour
            session, "hotspots.compute", cache_key=key, _job_id=f"hotspots:{key}:{fingerprint}"
        )
    previous = cached.result if cached else None
    return previous, "stale" if previous else "queued"


async def recompute(session_factory: async_sessionmaker[AsyncSession], key: str) -> str:
    """Recompute one cached analysis from its stored request; safe to run twice."""
    async with session_factory() as session, session.begin():
        row = await session.get(HotspotResult, key, with_for_update=True)
        if row is None:
            return "missing"
        spec = row.params
        scope = HotspotScope(
            role=Role(spec["scope"]["role"]),
            organization_id=uuid.UUID(spec["scope"]["organization_id"]),
        )
        await scope.view_as(session)
        fingerprint = await cases_fingerprint(session)
        if row.status == "done" and row.cases_fingerprint == fingerprint:
            return "fresh"
        row.status = "running"
        row.requested_at = datetime.now(UTC)
    params = HotspotParams(**spec["params"])
    try:
        async with session_factory() as session, session.begin():
            await scope.view_as(session)
            result = await analyse(session, scope, params, _filters_from(spec["filters"]))
            await _store_done(session, key, spec, result, fingerprint)
    except Exception as exc:
        async with session_factory() as failed, failed.begin():
            await _store(failed, key, spec, status="failed", error=str(exc)[:2000])
        raise
    return "done"


@job("hotspots.compute")
async def compute_job(ctx: dict[str, Any], *, cache_key: str) -> str:
    """arq entry point for recompute."""
    return await recompute(ctx["sessionmaker"], cache_key)


UNFINISHED = text("SELECT ej_unfinished_hotspots(:queued_for, :running_for, :max_rows)")
RUNNING_GRACE = timedelta(minutes=30)  # an analysis of a large corps may run this long


async def requeue_unfinished(
    factory: async_sessionmaker[AsyncSession], redis: Any, *, grace_s: int
) -> list[str]:
    """Queue again each analysis left queued, or running for long (job lost, worker dead)."""
    queued_for = timedelta(seconds=grace_s)
    async with factory() as session:
        keys = list(
            await session.scalars(
                UNFINISHED,
                {
                    "queued_for": queued_for,
                    "running_for": max(queued_for, RUNNING_GRACE),
                    "max_rows": 500,
                },
            )
        )
    return [
        key
        for key in keys
        if await requeue(redis, "hotspots.compute", key=key, spacing_s=300, cache_key=key)
    ]


async def sweep_unfinished(ctx: dict[str, Any]) -> dict[str, Any]:
    """Cron entry point of requeue_unfinished."""
    grace = ctx["settings"].work_sweep_grace_s
    return {"requeued": await requeue_unfinished(ctx["sessionmaker"], ctx["redis"], grace_s=grace)}


job("hotspots.sweep")(sweep_unfinished)
CRON_JOBS.append(cron(sweep_unfinished, second={20}, run_at_startup=True, unique=True, timeout=120))
