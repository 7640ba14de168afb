"""Dossier jobs: the build, and a sweep that requeues builds whose worker died.

Why a sweep: arq gives a job whose worker was killed to another worker only once the job's
"in progress" key expires, which is the job timeout (an hour) plus ten seconds. A build holds a
15-second lease instead (cases.dossiers.lease), and this sweep, run when a worker starts and
every 15 seconds after, queues again every dossier that is "running" without a lease, or that
has been "queued" for minutes without a worker taking it (a job lost with Redis). A resumed
build starts over; duplicates are harmless, since only the lease holder builds and a finished
dossier is never built again.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import cron
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.dossiers import anchors  # noqa: F401 (registers the nightly audit anchor job)
from cases.dossiers.build import Deps, build_dossier
from cases.dossiers.lease import lease_key
from cases.dossiers.models import Dossier
from cases.dossiers.service import BUILD_JOB, IN_PROGRESS
from corps.jobs import CRON_JOBS, QUEUE_NAME, job

QUEUED_GRACE = timedelta(minutes=10)  # a queued dossier older than this lost its job
REQUEUE_SPACING_S = 300  # at most one requeue per dossier in this time
SWEEP_BATCH = 500


@job(BUILD_JOB)
async def build_job(ctx: dict[str, Any], *, dossier_id: str) -> dict[str, Any]:
    """arq entry point: build one dossier (idempotent; see cases.dossiers.build)."""
    return await build_dossier(Deps.from_ctx(ctx), uuid.UUID(dossier_id))


def requeue_key(dossier_id: uuid.UUID | str) -> str:
    """The Redis marker that spaces out requeues of one dossier."""
    return f"ejcorps:dossier:{dossier_id}:requeued"


async def requeue_stalled(factory: async_sessionmaker[AsyncSession], redis: Any) -> list[str]:
    """Queue a new build for each dossier whose build died or whose job went missing."""
    async with factory() as session:
        rows = (
            await session.execute(
                select(Dossier.id, Dossier.status, Dossier.created_at)
                .where(Dossier.status.in_(IN_PROGRESS))
                .order_by(Dossier.created_at)
                .limit(SWEEP_BATCH)
            )
        ).all()
    now = datetime.now(UTC)
    requeued = []
    for row in rows:
        if row.status == "queued" and now - row.created_at < QUEUED_GRACE:
            continue  # waiting for its first job, as it should
        if await redis.exists(lease_key(row.id)):
            continue  # a live build holds it
        if not await redis.set(requeue_key(row.id), "1", nx=True, ex=REQUEUE_SPACING_S):
            continue
        await redis.enqueue_job(
            BUILD_JOB,
            dossier_id=str(row.id),
            _job_id=f"dossier:{row.id}:resume:{uuid.uuid4().hex[:8]}",
            _queue_name=QUEUE_NAME,
        )
        requeued.append(str(row.id))
    return requeued


async def sweep_dossiers(ctx: dict[str, Any]) -> dict[str, Any]:
    """Cron entry point of requeue_stalled."""
    return {"requeued": await requeue_stalled(ctx["sessionmaker"], ctx["redis"])}


job("dossiers.sweep")(sweep_dossiers)
CRON_JOBS.append(
    cron(
        sweep_dossiers,
        second={0, 15, 30, 45},
        run_at_startup=True,
        unique=True,
        timeout=60,
    )
)
