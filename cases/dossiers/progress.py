"""Progress of a build, committed in short transactions of its own so GET shows it live."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.dossiers.lease import Lease
from cases.dossiers.models import Dossier

WRITE_EVERY_S = 0.5  # often enough to watch, rare enough to cost nothing


class Progress:
    """Where a build is: a stage name and a fraction, with byte-weighted spans for evidence."""

    def __init__(
        self, factory: async_sessionmaker[AsyncSession], dossier_id: uuid.UUID, lease: Lease
    ) -> None:
        self.factory = factory
        self.dossier_id = dossier_id
        self.lease = lease
        self.stage_name = "collecting the cases"
        self.fraction = 0.0
        self._span = (0.0, 0.0, 1)
        self._bytes = 0
        self._written_at = 0.0

    async def stage(self, name: str, fraction: float) -> None:
        """Enter a stage at a fraction of the whole, and show it now."""
        self.stage_name, self.fraction = name, fraction
        await self._write()

    def span(self, start: float, end: float, total_bytes: int) -> None:
        """Let the next `total_bytes` bytes move progress from start to end."""
        self._span, self._bytes = (start, end, max(total_bytes, 1)), 0

    async def advance(self, nbytes: int) -> None:
        """Count bytes of the current span; write at most every WRITE_EVERY_S seconds."""
        self._bytes += nbytes
        start, end, total = self._span
        self.fraction = min(end, start + (end - start) * self._bytes / total)
        if time.monotonic() - self._written_at >= WRITE_EVERY_S:
            await self._write()

    async def _write(self) -> None:
        self.lease.check()  # a build that lost its lease stops at the next step
        async with self.factory() as session, session.begin():
            await session.execute(
                update(Dossier)
                .where(Dossier.id == self.dossier_id, Dossier.status == "running")
                .values(progress=round(self.fraction, 4), stage=self.stage_name)
            )
        self._written_at = time.monotonic()
