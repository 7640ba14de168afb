"""A short Redis lease that marks a dossier build as alive.

arq hands a job whose worker died to another worker only after the job's timeout (an hour),
so a killed build would sit "running" that long. Instead the build holds this lease, renewed
every few seconds: a running dossier without a lease was interrupted, and the sweep in
cases.dossiers.jobs queues it again within seconds. The lease also keeps two workers from
building the same dossier at once when arq does run a job twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

log = logging.getLogger("corps.dossiers")
TTL_MS = 15_000
RENEW_EVERY_S = 5.0
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
)
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
    "else return 0 end"
)


class LeaseLost(Exception):
    """Another worker may have taken the build over; this one must not finish it."""


def lease_key(dossier_id: uuid.UUID | str) -> str:
    """The Redis key of a dossier's build lease."""
    return f"ejcorps:dossier:{dossier_id}:lease"


class Lease:
    """One build attempt's claim on a dossier."""

    def __init__(self, redis: Any, dossier_id: uuid.UUID | str) -> None:
        self.redis = redis
        self.key = lease_key(dossier_id)
        self.token = uuid.uuid4().hex
        self.lost = False

    async def acquire(self) -> bool:
        """Take the lease unless a live build holds it."""
        return bool(await self.redis.set(self.key, self.token, nx=True, px=TTL_MS))

    def check(self) -> None:
        """Raise LeaseLost when renewing failed for longer than the lease lasts."""
        if self.lost:
            raise LeaseLost(self.key)

    async def _renew_forever(self) -> None:
        last_ok = time.monotonic()
        while True:
            await asyncio.sleep(RENEW_EVERY_S)
            try:
                if not await self.redis.eval(_RENEW, 1, self.key, self.token, TTL_MS):
                    self.lost = True
                    return
                last_ok = time.monotonic()
            except Exception:  # Redis blinked: keep trying until the lease would have run out
                log.warning("could not renew %s", self.key, exc_info=True)
                if (time.monotonic() - last_ok) * 1000 > TTL_MS:
                    self.lost = True
                    return

    @contextlib.asynccontextmanager
    async def kept(self) -> AsyncIterator[Lease]:
        """Renew the lease in the background until the block ends, then release it."""
        renewer = asyncio.create_task(self._renew_forever())
        try:
            yield self
        finally:
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self.redis.eval(_RELEASE, 1, self.key, self.token)
