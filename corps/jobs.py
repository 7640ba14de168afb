"""Background jobs on arq: a registry, enqueue-after-commit, sweeps' re-queueing, the viewer.

Domains register their jobs here; the worker process (corps/worker.py, the shell) imports each
domain's job module and runs them. This module knows no domain.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from arq.connections import ArqRedis, RedisSettings, create_pool
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import get_settings
from corps.viewer import Viewer, acting_as, viewer_of

log = logging.getLogger("corps.jobs")

JobFunc = Callable[..., Awaitable[Any]]
JOBS: dict[str, JobFunc] = {}
CRON_JOBS: list[Any] = []
VIEWER_KWARG = "ej_viewer"  # the requester's viewer, added to a job's arguments when queued
HEARTBEAT_KEY = "ejcorps:worker:heartbeat"
QUEUE_NAME = "ejcorps:queue"


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
