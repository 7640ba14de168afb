"""Evidence sweeps: processing that a Redis outage lost is queued again.

An upload commits its row and then queues `evidence.process`; when Redis is down at that
moment (or loses its queue later) the job is gone and the item would stay unprocessed. This
sweep runs when a worker starts or reconnects and every minute after, and queues the job
again for every item still unprocessed after a grace period (the job is idempotent).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from arq import cron
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from corps.jobs import CRON_JOBS, job, requeue

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
