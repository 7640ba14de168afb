"""The worker process (the shell): every domain's jobs on arq, restarted whenever Redis goes away.

The worker imports each domain's job module by name below, so the list of what it runs is
code a reader (and import-linter) can follow, not strings resolved at run time.

arq's own loop ends with an exception when Redis drops or refuses the connection, and the
process would exit and stay dead. Here each loss ends one arq Worker; its running jobs are
cancelled (every job is idempotent and its transaction rolls back), and a new Worker
connects after a back-off that doubles from half a second to thirty seconds (with jitter,
so a fleet does not reconnect in step), and starts over once a worker has run a minute.
A new Worker runs the start-up sweeps, so work queued while Redis was down or lost with
it is queued again as soon as Redis answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import signal
import time
from typing import Any, cast

from arq import cron
from arq.worker import Worker
from arq.worker import func as arq_func

from cases.advocacy import jobs as advocacy_jobs
from cases.dossiers import jobs as dossier_jobs
from cases.evidence import jobs as evidence_jobs
from corps import audit_seal, models_registry
from corps.db import check_service_role_quietly, make_engine, make_sessionmaker
from corps.jobs import CRON_JOBS, JOBS, QUEUE_NAME, JobFunc, heartbeat, redis_settings, with_viewer
from corps.logs import logged_job
from corps.settings import get_settings
from corps.storage import storage_from_url
from maps import hotspot_cache

log = logging.getLogger("corps.worker")
BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 30.0
HEALTHY_AFTER_S = 60.0
# Importing these registers their jobs (and the models registry, the whole schema); the API
# imports this module too, so enqueue_after_commit knows every job name.
JOB_MODULES = (
    models_registry,
    audit_seal,
    evidence_jobs,
    hotspot_cache,
    advocacy_jobs,
    dossier_jobs,
)


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


def _named(name: str, func: JobFunc) -> Any:
    return arq_func(cast(Any, logged_job(name, with_viewer(name, func))), name=name)


def _cron_with_viewer(job: Any) -> Any:
    return dataclasses.replace(job, coroutine=with_viewer(job.name, job.coroutine))


def worker_settings() -> dict[str, Any]:
    """The arq worker configuration: every job of JOB_MODULES, each run as its viewer."""
    return {
        "functions": [_named(name, func) for name, func in JOBS.items()],
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


def next_delay(delay: float) -> float:
    """The back-off after `delay`: doubled, capped, with up to 20% jitter."""
    return min(delay * 2, BACKOFF_MAX_S) * random.uniform(0.8, 1.0)


async def _close(worker: Worker) -> None:
    """Stop one arq Worker whose Redis may be gone: cancel its jobs, free what it holds."""
    for task in worker.tasks.values():
        task.cancel()
    await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
    pool = worker._pool  # arq's close() assumes a live Redis; this one must not
    if pool is None:
        return
    with contextlib.suppress(Exception):
        await asyncio.wait_for(pool.delete(worker.health_check_key), 2)
    if worker.on_shutdown:
        with contextlib.suppress(Exception):
            await worker.on_shutdown(worker.ctx)
    with contextlib.suppress(Exception):
        await pool.close(close_connection_pool=True)
    worker._pool = None


async def _run_once(stop: asyncio.Event, settings: dict[str, Any]) -> None:
    """Run one arq Worker until it fails or `stop` is set."""
    for cron_job in settings["cron_jobs"]:
        cron_job.next_run = None  # so the start-up sweeps run again after a reconnect
    worker = Worker(**settings, handle_signals=False)
    main = asyncio.ensure_future(worker.async_run())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({main, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not main.done():
            main.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await main_result(main)
        await _close(worker)


async def main_result(main: asyncio.Future[None]) -> None:
    """Await arq's main task, re-raising its failure (a cancelled task ends quietly)."""
    try:
        await main
    except asyncio.CancelledError:
        if not main.cancelled():
            raise


async def serve(stop: asyncio.Event | None = None) -> None:
    """Run workers until `stop` is set (SIGTERM or SIGINT set it when run by `corps worker`)."""
    stop = stop or asyncio.Event()
    settings = worker_settings()
    delay = BACKOFF_MIN_S
    while not stop.is_set():
        started = time.monotonic()
        try:
            await _run_once(stop, settings)
            if stop.is_set():
                break
            log.warning("the worker stopped on its own; starting it again")
        except Exception as exc:  # Redis gone, refused, timed out, or a bug in start-up
            log.warning("the worker lost its connection (%s: %s)", type(exc).__name__, exc)
        if time.monotonic() - started > HEALTHY_AFTER_S:
            delay = BACKOFF_MIN_S
        log.info("connecting again in %.1f s", delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = next_delay(delay)


def run() -> None:
    """`corps worker`: serve until SIGTERM or SIGINT, reconnecting to Redis as needed."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(stop)

    asyncio.run(main())
