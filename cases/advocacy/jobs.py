"""The suggestion job: recompute suggestions and look-alike respondents as cases change."""

from __future__ import annotations

from typing import Any, cast

from arq import cron
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.advocacy import actors, suggestions
from cases.changes import cases_fingerprint
from cases.models import Case
from corps.jobs import CRON_JOBS, enqueue_after_commit, job
from corps.viewer import as_system

FINGERPRINT_KEY = "ejcorps:suggestions:fingerprint"
INLINE_MAX_CASES = 20_000


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
    await actors.find_candidates(session)
    await redis.set(FINGERPRINT_KEY, fingerprint)
    return count


async def ensure_fresh(session: AsyncSession, redis: Redis) -> str:
    """Recompute now for a small corps, else queue the job; say which happened."""
    async with as_system(session, "advocacy.suggest"):
        return await _ensure_fresh(session, redis)


async def _ensure_fresh(session: AsyncSession, redis: Redis) -> str:
    fingerprint = await cases_fingerprint(session)
    try:
        seen = await redis.get(FINGERPRINT_KEY)
    except RedisError:  # Redis is down: serve what is stored; the next run recomputes
        return "stale"
    if seen is not None and seen.decode() == fingerprint:
        return "fresh"
    live = (
        await session.scalar(
            select(func.count()).select_from(Case).where(Case.archived_at.is_(None))
        )
        or 0
    )
    if live <= INLINE_MAX_CASES:
        await _refresh(session, redis)
        return "computed"
    # One job per state of the cases: arq keeps a finished job's id for an hour, so a fixed
    # id would refuse every later recompute until then.
    enqueue_after_commit(session, "advocacy.suggest", _job_id=f"advocacy-suggest:{fingerprint}")
    return "stale"


@job("advocacy.suggest")
async def suggest_job(ctx: dict[str, Any]) -> int:
    """arq entry point: recompute in one transaction."""
    factory: async_sessionmaker[AsyncSession] = ctx["sessionmaker"]
    async with factory() as session, session.begin():
        return await refresh(session, ctx["redis"])


CRON_JOBS.append(cron(cast(Any, suggest_job), minute={0, 15, 30, 45}, unique=True))
