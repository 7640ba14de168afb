"""The suggestion job: recompute suggestions and look-alike respondents as cases change.

Reading suggestions never writes: a case write queues a recompute (suggest_soon), anyone
may ask for one (request_refresh, POST /advocacy/suggestions/refresh), and a cron sweeps.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal, cast

from arq import cron
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.advocacy import respondent_groups, suggestions
from cases.changes import cases_fingerprint
from cases.models import Case
from corps.jobs import CRON_JOBS, INLINE_MAX_CASES, enqueue_after_commit, job
from corps.viewer import as_system

FINGERPRINT_KEY = "ejcorps:suggestions:fingerprint"
SOON_S = 10  # case writes within one window share one recompute, run after the window
Freshness = Literal["fresh", "stale"]
RefreshState = Literal["fresh", "computed", "queued"]


async def refresh(session: AsyncSession, redis: Redis) -> int:
    """Recompute suggestions and merge candidates, and remember which cases they saw.

    Suggestions span organizations by design, so they are computed corps-wide as the system
    viewer "advocacy.suggest"; each viewer then reads only the cases of them it may read.
    """
    async with as_system(session, "advocacy.suggest"):
        return await _refresh(session, redis)


async def _refresh(session: AsyncSession, redis: Redis) -> int:
    fingerprint = await cases_fingerprint(session)
    count = await suggestions.compute(session)
    await respondent_groups.find_candidates(session)
    await redis.set(FINGERPRINT_KEY, fingerprint)
    return count


async def freshness(session: AsyncSession, redis: Redis) -> Freshness:
    """Whether the stored suggestions saw the cases as they are now; reads only."""
    async with as_system(session, "advocacy.suggest"):
        fresh, _ = await _seen(session, redis)
    return "fresh" if fresh else "stale"


async def _seen(session: AsyncSession, redis: Redis) -> tuple[bool | None, str]:
    """Whether the last recompute saw today's cases (None: Redis cannot say), and today's."""
    fingerprint = await cases_fingerprint(session)
    try:
        seen = await redis.get(FINGERPRINT_KEY)
    except RedisError:  # Redis is down: serve what is stored; the next run recomputes
        return None, fingerprint
    return seen is not None and seen.decode() == fingerprint, fingerprint


async def request_refresh(session: AsyncSession, redis: Redis) -> RefreshState:
    """Recompute now for a small corps, else queue the job; say which happened."""
    async with as_system(session, "advocacy.suggest"):
        fresh, fingerprint = await _seen(session, redis)
        if fresh:
            return "fresh"
        live = await session.scalar(
            select(func.count()).select_from(Case).where(Case.archived_at.is_(None))
        )
        if fresh is not None and (live or 0) <= INLINE_MAX_CASES:
            await _refresh(session, redis)
            return "computed"
        # One job per state of the cases: arq keeps a finished job's id for an hour, so a
        # fixed id would refuse every later recompute until then.
        enqueue_after_commit(session, "advocacy.suggest", _job_id=f"advocacy-suggest:{fingerprint}")
        return "queued"


def suggest_soon(session: AsyncSession) -> None:
    """Once this transaction commits, have the suggestions recomputed within seconds.

    Writes in one window share one job id and the job runs after the window ends, so it sees
    every write of the window; the cron catches a write whose commit came later still.
    """
    window = int(time.time() // SOON_S)
    enqueue_after_commit(
        session,
        "advocacy.suggest",
        only_if_stale=True,
        _job_id=f"advocacy-suggest:soon:{window}",
        _defer_until=datetime.fromtimestamp((window + 1) * SOON_S + 1, UTC),
    )


@job("advocacy.suggest")
async def suggest_job(ctx: dict[str, Any], *, only_if_stale: bool = False) -> int:
    """arq entry point: recompute in one transaction (skipped when fresh, if asked)."""
    factory: async_sessionmaker[AsyncSession] = ctx["sessionmaker"]
    async with factory() as session, session.begin():
        if only_if_stale and await freshness(session, ctx["redis"]) == "fresh":
            return 0
        return await refresh(session, ctx["redis"])


CRON_JOBS.append(cron(cast(Any, suggest_job), minute={0, 15, 30, 45}, unique=True))
