"""Evidence sweeps: lost processing is queued again, and leftovers in the store are removed.

An upload commits its row and then queues `evidence.process`; when Redis is down at that
moment (or loses its queue later) the job is gone and the item would stay unprocessed. The
first sweep runs when a worker starts or reconnects and every minute after, and queues the
job again for every item still unprocessed after a grace period (the job is idempotent).

A process killed mid-upload leaves a temp file (`.part`), or a stored file whose row never
committed; a worker killed while copying a bundle leaves a `.part` too. The storage sweep
(hourly in the worker, and `corps sweep-storage`) removes temp files and unreferenced
stored files older than EJ_STORAGE_SWEEP_AGE_S, each stored file under its lock and only
if no committed row names it (corps.storage.blobs), and reports what it removed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from arq import cron
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from corps.jobs import CRON_JOBS, job, requeue
from corps.storage import Storage, StoredEntry
from corps.storage.blobs import remove_if_unreferenced

log = logging.getLogger("corps.storage")
LOCK_BATCH = 200  # stored files decided per transaction

SWEEP_BATCH = 1000
REQUEUE_SPACING_S = 300  # at most one re-queue of an item in this time
UNPROCESSED = text("SELECT ej_unprocessed_evidence(:older_than, :max_rows)")


async def requeue_unprocessed(
    factory: async_sessionmaker[AsyncSession], redis: Any, *, grace_s: int
) -> list[str]:
    """Queue `evidence.process` again for items unprocessed for longer than grace_s."""
    async with factory() as session:
        ids = list(
            await session.scalars(
                UNPROCESSED,
                {"older_than": timedelta(seconds=grace_s), "max_rows": SWEEP_BATCH},
            )
        )
    requeued = []
    for evidence_id in ids:
        if await requeue(
            redis,
            "evidence.process",
            key=str(evidence_id),
            spacing_s=REQUEUE_SPACING_S,
            evidence_id=str(evidence_id),
        ):
            requeued.append(str(evidence_id))
    return requeued


async def sweep_unprocessed(ctx: dict[str, Any]) -> dict[str, Any]:
    """Cron entry point of requeue_unprocessed."""
    grace = ctx["settings"].work_sweep_grace_s
    return {"requeued": await requeue_unprocessed(ctx["sessionmaker"], ctx["redis"], grace_s=grace)}


job("evidence.sweep")(sweep_unprocessed)
CRON_JOBS.append(
    cron(sweep_unprocessed, second={10}, run_at_startup=True, unique=True, timeout=120)
)


@dataclass
class StorageSweep:
    """What a storage sweep removed (keys and temp file names) and what it kept."""

    temp_files: list[str] = field(default_factory=list)
    temp_bytes: int = 0
    unreferenced: list[str] = field(default_factory=list)
    unreferenced_bytes: int = 0
    kept: int = 0  # old enough, but named by a committed row or held by a writer

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready report."""
        return asdict(self)


async def sweep_storage(
    factory: async_sessionmaker[AsyncSession],
    storage: Storage,
    *,
    older_than_s: int,
    now: float | None = None,
) -> StorageSweep:
    """Remove temp files and unreferenced stored files older than older_than_s seconds."""
    cutoff = (now if now is not None else time.time()) - older_than_s
    report = StorageSweep()
    async for entry in storage.temp_files():
        if entry.modified < cutoff:  # an upload still writing touches its file all the time
            await storage.remove_temp_file(entry.key)
            report.temp_files.append(entry.key)
            report.temp_bytes += entry.size
    batch: list[StoredEntry] = []
    async for entry in storage.content_files():
        if entry.modified < cutoff:
            batch.append(entry)
        if len(batch) >= LOCK_BATCH:
            await _decide(factory, storage, batch, report)
            batch = []
    if batch:
        await _decide(factory, storage, batch, report)
    if report.temp_files or report.unreferenced:
        log.info(
            "storage sweep removed %d temp files (%d bytes) and %d unreferenced files (%d bytes)",
            len(report.temp_files),
            report.temp_bytes,
            len(report.unreferenced),
            report.unreferenced_bytes,
        )
    return report


async def _decide(
    factory: async_sessionmaker[AsyncSession],
    storage: Storage,
    batch: list[StoredEntry],
    report: StorageSweep,
) -> None:
    async with factory() as session, session.begin():
        for entry in batch:
            if await remove_if_unreferenced(session, storage, entry.key, wait=False):
                report.unreferenced.append(entry.key)
                report.unreferenced_bytes += entry.size
            else:
                report.kept += 1


async def sweep_storage_job(ctx: dict[str, Any]) -> dict[str, Any]:
    """Cron entry point of sweep_storage."""
    age = ctx["settings"].storage_sweep_age_s
    return (await sweep_storage(ctx["sessionmaker"], ctx["storage"], older_than_s=age)).as_dict()


job("storage.sweep")(sweep_storage_job)
CRON_JOBS.append(cron(sweep_storage_job, minute={40}, second={0}, unique=True, timeout=3600))
