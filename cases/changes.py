"""When the case set last changed: caches of corps-wide analyses compare against it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import Case


async def cases_fingerprint(session: AsyncSession) -> str:
    """Changes whenever any case is created, changed or archived."""
    latest, count = (
        await session.execute(select(func.max(Case.updated_at), func.count()).select_from(Case))
    ).one()
    return f"{latest.isoformat() if latest else '-'}|{count}"
