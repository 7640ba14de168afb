"""Background jobs on arq: a registry, enqueue-after-commit and the worker settings."""

from __future__ import annotations

import dataclasses
import functools
import importlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from arq import cron
from arq.connections import ArqRedis, RedisSettings, create_pool
from sqlalchemy.ext.asyncio import AsyncSession

from cases.evidence.storage import storage_from_url
from corps.db import check_service_role_quietly, make_engine, make_sessionmaker
from corps.settings import get_settings
from corps.viewer import Viewer, acting_as, viewer_of

log = logging.getLogger("corps.jobs")

JobFunc = Callable[..., Awaitable[Any]]
JOBS: dict[str, JobFunc] = {}
CRON_JOBS: list[Any] = []
VIEWER_KWARG = "ej_viewer"  # the requester's viewer, added to a job's arguments when queued
HEARTBEAT_KEY = "ejcorps:worker:heartbeat"
QUEUE_NAME = "ejcorps:queue"

# Modules whose import registers jobs; the worker imports them all at start.
JOB_MODULES: list[str] = [
    "corps.models_registry",
    "corps.jobs",
    "corps.audit_seal",
    "cases.evidence.jobs",
    "geo.hotspot_cache",
    "cases.advocacy.jobs",
    "cases.dossiers.jobs",
]


def job(name: str) -> Callable[[JobFunc], JobFunc]:
    """Register an arq job under a stable dotted name."""

    def register(func: JobFunc) -> JobFunc:
        if name in JOBS and JOBS[name] is not func:
            raise RuntimeError(f"job {name!r} registered twice")
        JOBS[name] = func
        return func

    return register


def enqueue_after_commit(session: AsyncSession, name: str, **kwargs: Any) -> None:
    """Queue a job to be sent to Redis only once the session's transaction commits."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}")
    # arq options such as _job_id (which makes a repeated enqueue a no-op) pass through
    viewer = viewer_of(session)
    if viewer is not None:  # the job reads as whoever asked for it
        kwargs.setdefault(VIEWER_KWARG, viewer.to_json())
    session.info.setdefault("pending_jobs", []).append((name, kwargs))


async def flush_pending_jobs(session: AsyncSession, pool: ArqRedis | None) -> None:
    """Send the jobs a committed session collected; a failure here is logged, not raised."""
    pending = session.info.pop("pending_jobs", [])
    if pool is None:
        return
    for name, kwargs in pending:
        try:
            await pool.enqueue_job(name, _queue_name=QUEUE_NAME, **kwargs)
        except Exception:  # the data is committed; a sweeper job catches missed work
            log.exception("could not enqueue %s", name)


async def requeue(redis: ArqRedis, name: str, *, key: str, spacing_s: int, **kwargs: Any) -> bool:
    """Queue `name` again for unfinished work `key`, at most once per `spacing_s` seconds.

    For sweeps: the job id names the key and the time window, so sweeps of several workers
    queue one job per window, and a job kept by arq from an earlier try does not block it.
    """
    window = int(time.time() // max(spacing_s, 1))
    queued = await redis.enqueue_job(
        name, _job_id=f"sweep:{name}:{key}:{window}", _queue_name=QUEUE_NAME, **kwargs
    )
    return queued is not None


def redis_settings(url: str | None = None) -> RedisSettings:
    """arq's Redis settings from EJ_REDIS_URL."""
    return RedisSettings.from_dsn(url or get_settings().redis_url)


async def create_job_pool(url: str | None = None) -> ArqRedis:
    """Open an arq pool for enqueueing."""
    return await create_pool(redis_settings(url), default_queue_name=QUEUE_NAME)


async def heartbeat(ctx: dict[str, Any]) -> float:
    """Record that a worker is alive, so /health can say so."""
    now = time.time()
    await ctx["redis"].set(HEARTBEAT_KEY, str(now), ex=300)
    return now


job("corps.heartbeat")(heartbeat)


async def _startup(ctx: dict[str, Any]) -> None:
    settings = get_settings()
    ctx["settings"] = settings
    ctx["engine"] = make_engine(settings)
    ctx["sessionmaker"] = make_sessionmaker(ctx["engine"])
    await check_service_role_quietly(ctx["engine"], settings)
    ctx["storage"] = storage_from_url(settings.storage_url)
    await heartbeat(ctx)
    log.info("worker started", extra={"queue": QUEUE_NAME, "jobs": len(JOBS)})


async def _shutdown(ctx: dict[str, Any]) -> None:
    await ctx["engine"].dispose()
    log.info("worker stopped", extra={"queue": QUEUE_NAME})


def load_job_modules() -> None:
    """Import every module that registers jobs."""
    for module in JOB_MODULES:
        importlib.import_module(module)


def worker_settings() -> dict[str, Any]:
    """The arq worker configuration, built after every job module is imported."""
    load_job_modules()
    functions = [_named(name, func) for name, func in JOBS.items()]
    return {
        "functions": functions,
        "cron_jobs": [
            cron(heartbeat, second={0, 30}, run_at_startup=True),
            *(_cron_with_viewer(c) for c in CRON_JOBS),
        ],
        "on_startup": _startup,
        "on_shutdown": _shutdown,
        "redis_settings": redis_settings(),
        "queue_name": QUEUE_NAME,
        "max_jobs": 4,
        "job_timeout": 3600,
        "keep_result": 3600,
    }


def with_viewer(name: str, func: JobFunc) -> JobFunc:
    """Run a job as the viewer it was queued with, or as the system viewer named after it.

    Sessions the job opens read as that viewer (corps.viewer's ambient viewer): a job for a
    user sees what the user may see; sweeps and recomputations no user asked for are named
    in the audit log as `system:<job name>`.
    """

    @functools.wraps(func)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        queued_as = kwargs.pop(VIEWER_KWARG, None)
        viewer = Viewer.from_json(queued_as) if queued_as else Viewer.system(name)
        with acting_as(viewer):
            return await func(ctx, *args, **kwargs)

    return run


def _cron_with_viewer(job: Any) -> Any:
    return dataclasses.replace(job, coroutine=with_viewer(job.name, job.coroutine))


def _named(name: str, func: JobFunc) -> Any:
    from arq.worker import func as arq_func

    from corps.logs import logged_job

    return arq_func(cast(Any, logged_job(name, with_viewer(name, func))), name=name)
