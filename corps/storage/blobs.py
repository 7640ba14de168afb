"""Who may remove a stored file: only the database, under the file's lock, when no row needs it.

Content-addressed files are shared: two uploads of the same bytes, to two cases of two
organizations, store one file. So a request that fails must not delete "its" file, since
another request may have found it stored and be about to commit a row naming it. Every
writer holds the key's lock shared from before it claims the file until its transaction
ends; whoever removes a file holds it exclusively, and removes the file only if no
committed row names it (`evidence_blob_in_use`, migration 0040). A writer that comes after
a removal finds no file and stores its own bytes again.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from corps.storage.base import Storage

log = logging.getLogger("corps.storage")
_LOCK_ID = "hashtextextended('blob:' || :key, 0)"
HOLD_SHARED = text(f"SELECT pg_advisory_xact_lock_shared({_LOCK_ID})")
HOLD_EXCLUSIVE = text(f"SELECT pg_advisory_xact_lock({_LOCK_ID})")
TRY_EXCLUSIVE = text(f"SELECT pg_try_advisory_xact_lock({_LOCK_ID})")
IN_USE = text("SELECT evidence_blob_in_use(:key)")


async def hold_blob(session: AsyncSession, key: str) -> None:
    """Keep `key` from being removed until the session's transaction ends (call before claiming)."""
    await session.execute(HOLD_SHARED, {"key": key})


async def blob_in_use(session: AsyncSession, key: str) -> bool:
    """Whether a committed row (of any organization) names `key`."""
    return bool(await session.scalar(IN_USE, {"key": key}))


async def remove_if_unreferenced(
    session: AsyncSession, storage: Storage, key: str, *, wait: bool = True
) -> bool:
    """Remove the file under `key` if no committed row names it; True if it was removed.

    Runs in the session's current transaction, whose end releases the lock; with wait=False a
    key some writer holds is left alone (a sweep comes back later).
    """
    if wait:
        await session.execute(HOLD_EXCLUSIVE, {"key": key})
    elif not await session.scalar(TRY_EXCLUSIVE, {"key": key}):
        return False
    if await blob_in_use(session, key):
        return False
    await storage.delete(key)
    return True


async def forget_after_rollback(session: AsyncSession, storage: Storage, key: str) -> None:
    """After a failed upload: remove the file it stored unless a committed row needs it."""
    async with session.begin():
        if await remove_if_unreferenced(session, storage, key):
            log.info("removed %s: the upload that stored it did not commit", key)
