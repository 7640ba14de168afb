"""The audit sealer: chains appended audit entries, in small batches, one sealer at a time.

Appending (corps.audit) takes no lock, so entries commit in any order: a transaction may
draw id 10, another id 11 and commit first, and id 10 may also never commit (a rollback
leaves a gap for good). A sealer therefore never chains by id. It chains entries in the
order it *sees* them committed: each batch appends the visible, not yet sealed entries to
`audit_chain` after the head, at positions `seq` that have no gap. An entry that commits
after a batch is simply sealed by a later batch, after entries with higher ids. Nothing
visible is skipped and nothing is sealed twice (`entry_id` is unique, `seq` the key).

Finding the unsealed entries without scanning the whole log uses the inserting
transaction's id (`audit_log.txid`, 64-bit, no wraparound). Before reading, a batch takes
the oldest transaction still running anywhere (`pg_snapshot_xmin`): every transaction
older than that has ended, so every entry it wrote is visible to the batch's next
statement. When the batch seals all it saw, the next sealer may start from that xmin
(`audit_chain.xmin_floor`): what is still to come can only come from a younger
transaction. A transaction that has not yet written gets a younger id when it does.

Sealers hold one advisory lock for one short batch; appends never take it. The chain's
key and unique columns would refuse a fork even without the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from arq import cron
from sqlalchemy import exists, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from corps.audit import GENESIS_HASH, AuditEntry, AuditSeal, chain_hash, content_hash, payload
from corps.jobs import CRON_JOBS, job
from corps.viewer import Viewer

log = logging.getLogger("corps.audit")

SEAL_LOCK_KEY = 7_301_001  # held by a sealer for one batch; appends never take it
BATCH = 500
# A batch costs seven round trips and a committed write whether it chains one entry or five
# hundred. Under a steady stream of audited commits a sealer that started a batch at every wake
# chained one or two entries per batch and spent more on sealing than the reads on themselves;
# so after a batch it lets the commits of this interval gather before the next (measured at 16
# concurrent reads: 0.1 s still cost 0.6 ms more CPU per read than 0.5 s). A lone commit is
# sealed at once; an entry is durable from its own commit, and only its chaining waits.
SEAL_INTERVAL_S = 0.5

TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:k)")
LOCK = text("SELECT true FROM pg_advisory_xact_lock(:k)")
HEAD = text(
    "SELECT seq, hash, xmin_floor::text AS floor FROM audit_chain ORDER BY seq DESC LIMIT 1"
)
OLDEST_RUNNING = text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
SEAL = text(
    "INSERT INTO audit_chain (seq, entry_id, prev_hash, hash, xmin_floor) "
    "SELECT u.seq, u.entry_id, u.prev_hash, u.hash, CAST(CAST(:floor AS text) AS xid8) "
    "FROM unnest(CAST(:seqs AS bigint[]), CAST(:ids AS bigint[]), CAST(:prevs AS text[]), "
    "CAST(:hashes AS text[])) AS u(seq, entry_id, prev_hash, hash)"
)
PENDING_COUNT = text("SELECT ej_audit_pending()")


def _unsealed(floor: str, limit: int) -> Any:
    sealed = exists().where(AuditSeal.entry_id == AuditEntry.id)
    return (
        select(AuditEntry)
        .where(text("audit_log.txid >= CAST(CAST(:floor AS text) AS xid8)").bindparams(floor=floor))
        .where(~sealed)
        .order_by(AuditEntry.id)
        .limit(limit)
        .execution_options(populate_existing=True)
    )


async def seal_batch(session: AsyncSession, *, limit: int = BATCH, wait: bool = False) -> int:
    """Chain up to `limit` visible unsealed entries in the session's transaction.

    Returns how many were sealed, or -1 when another sealer holds the lock and `wait` is
    false. The caller commits.
    """
    if not await session.scalar(LOCK if wait else TRY_LOCK, {"k": SEAL_LOCK_KEY}):
        return -1
    head = (await session.execute(HEAD)).first()
    # Read before the entries, so that everything older than it is visible to the next
    # statement (read committed: each statement sees what committed before it began).
    oldest_running = await session.scalar(OLDEST_RUNNING)
    floor = head.floor if head else "0"
    entries = (await session.scalars(_unsealed(floor, limit))).all()
    if not entries:
        return 0
    prev, seq = (head.hash, head.seq) if head else (GENESIS_HASH, 0)
    seqs, ids, prevs, hashes = [], [], [], []
    for entry in entries:
        body = payload(entry)
        if entry.content_hash is not None and entry.content_hash != content_hash(body):
            # Sealed as it is, so the chain goes on; `corps verify-audit` reports the row.
            log.error("audit row %s does not match its content hash; sealing it as is", entry.id)
        seq += 1
        digest = chain_hash(prev, body)
        seqs.append(seq)
        ids.append(entry.id)
        prevs.append(prev)
        hashes.append(digest)
        prev = digest
    # A full batch may have left visible entries behind: keep the old floor for them.
    new_floor = oldest_running if len(entries) < limit else floor
    await session.execute(
        SEAL, {"seqs": seqs, "ids": ids, "prevs": prevs, "hashes": hashes, "floor": new_floor}
    )
    return len(entries)


async def seal_pending(
    factory: async_sessionmaker[AsyncSession],
    *,
    wait: bool = True,
    limit: int = BATCH,
    max_batches: int = 1000,
) -> int:
    """Seal everything visible now, one short transaction per batch; how many were sealed.

    With `wait` false it gives up at once when another sealer is at work (that one seals).
    """
    total = 0
    for _ in range(max_batches):
        async with factory() as session:
            session.info["viewer"] = Viewer.system("audit.seal")
            async with session.begin():
                sealed = await seal_batch(session, limit=limit, wait=wait)
        if sealed < 0:
            return total
        total += sealed
        if sealed < limit:
            return total
    return total


async def pending_count(session: AsyncSession) -> int:
    """How many committed entries wait for the sealer."""
    return int(await session.scalar(PENDING_COUNT) or 0)


class AuditSealer:
    """Seals soon after each audited commit, off the request's path: one task per process.

    Wakes are coalesced: any number of commits during a batch cause one more batch. The
    worker's cron job seals whatever a process left (a crash, a busy lock) within a minute.
    """

    def __init__(self, factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = factory
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._dirty = False  # woken since the last batch began

    def start(self) -> None:
        """Start the background task."""
        self._task = asyncio.create_task(self._run(), name="audit-sealer")

    def wake(self) -> None:
        """Say an audited transaction committed."""
        self._dirty = True
        self._wake.set()

    async def stop(self) -> None:
        """Stop the task, then seal what this process appended (best effort)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._dirty:  # only a process that appended since its last batch looks again
            with contextlib.suppress(Exception):  # and a time limit: never hold up a shutdown
                await asyncio.wait_for(seal_pending(self._factory, wait=False), 5)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._dirty = False
            started = loop.time()
            try:
                if await seal_pending(self._factory, wait=False) == 0:
                    # Another process's sealer may have read before our commit: look once
                    # more shortly, so a quiet corps is not left pending until the cron.
                    await asyncio.sleep(0.2)
                    await seal_pending(self._factory, wait=False)
            except Exception:
                # The entries are committed; only their sealing waits (cron, next wake).
                log.warning("audit sealing failed; it is retried", exc_info=True)
                await asyncio.sleep(1)
            await asyncio.sleep(max(0.0, started + SEAL_INTERVAL_S - loop.time()))


async def seal_audit(ctx: dict[str, Any]) -> dict[str, Any]:
    """Cron entry point: chain every audit entry committed and not yet sealed."""
    return {"sealed": await seal_pending(ctx["sessionmaker"])}


job("audit.seal")(seal_audit)
CRON_JOBS.append(cron(seal_audit, second={15}, unique=True, timeout=300))
