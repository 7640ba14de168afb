"""Anchors: the audit log's head and each evidence item's custody head, written down elsewhere.

A hash chain shows an edited or removed row in its middle, but not a removed tail: cut the
last rows and what is left is a shorter, valid chain. An anchor is a copy of the head taken at
a moment and kept outside the table: in each dossier's manifest (the audit head and the custody
head of every item it includes) and, every night, in an append-only file in the storage backend
(`anchors/audit-heads.jsonl`). `corps verify-audit` then checks that every anchored row is still
there with the same hash, so a truncated tail is detected.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from arq import cron
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from cases.evidence.models import CustodyEvent
from corps.audit import AuditEntry, verify_audit_chain
from corps.jobs import CRON_JOBS, job
from corps.storage import Storage

ANCHOR_FILE = "anchors/audit-heads.jsonl"


async def audit_head(session: AsyncSession) -> dict[str, Any] | None:
    """The newest audit row's id and hash (None while the log is empty)."""
    # through a definer function: every requester's dossier anchors the head of the one chain
    row = (await session.execute(text("SELECT id, hash FROM ej_audit_head()"))).first()
    return {"id": row.id, "hash": row.hash} if row else None


async def custody_heads(
    session: AsyncSession, evidence_ids: list[uuid.UUID]
) -> dict[str, dict[str, Any]]:
    """For each evidence item, the seq and hash of the last event of its chain."""
    if not evidence_ids:
        return {}
    rows = await session.execute(
        select(CustodyEvent.evidence_id, CustodyEvent.seq, CustodyEvent.hash)
        .where(CustodyEvent.evidence_id.in_(evidence_ids))
        .ext(distinct_on(CustodyEvent.evidence_id))
        .order_by(CustodyEvent.evidence_id, CustodyEvent.seq.desc())
    )
    return {str(r.evidence_id): {"seq": r.seq, "hash": r.hash} for r in rows}


async def read_anchors(storage: Storage) -> list[dict[str, Any]]:
    """Every audit head written to the anchor file, oldest first."""
    if not await storage.exists(ANCHOR_FILE):
        return []
    raw = b"".join([chunk async for chunk in storage.open(ANCHOR_FILE)])
    return [orjson.loads(line) for line in raw.splitlines() if line.strip()]


async def write_audit_anchor(session: AsyncSession, storage: Storage) -> dict[str, Any] | None:
    """Append the current audit head to the anchor file; nothing when it did not move."""
    head = await audit_head(session)
    if head is None:
        return None
    anchors = await read_anchors(storage)
    if anchors and anchors[-1].get("id") == head["id"]:
        return anchors[-1]
    anchor = {**head, "at": datetime.now(UTC).isoformat()}
    # The storage interface has no append: the file is rewritten whole with one more line,
    # through put_file's atomic replace. It grows by one short line a night.
    body = b"".join(orjson.dumps(a) + b"\n" for a in [*anchors, anchor])
    with tempfile.TemporaryDirectory(prefix="ejcorps-anchor-") as tmp:
        path = Path(tmp) / "audit-heads.jsonl"
        await asyncio.to_thread(path.write_bytes, body)
        await storage.put_file(ANCHOR_FILE, path)
    return anchor


async def audit_problems(session: AsyncSession, anchors: list[dict[str, Any]]) -> list[str]:
    """The chain's own problems, and every anchored head that is gone or changed."""
    problems = await verify_audit_chain(session)
    if not anchors:
        return problems
    wanted = {int(a["id"]): a for a in anchors}
    rows = await session.execute(
        select(AuditEntry.id, AuditEntry.hash).where(AuditEntry.id.in_(list(wanted)))
    )
    found = {r.id: r.hash for r in rows}
    for row_id, anchor in sorted(wanted.items()):
        if row_id not in found:
            problems.append(
                f"audit row {row_id}, anchored at {anchor.get('at')}, is missing: "
                "the log was truncated"
            )
        elif found[row_id] != anchor["hash"]:
            problems.append(
                f"audit row {row_id} no longer has the hash anchored at {anchor.get('at')}"
            )
    return problems


async def anchor_audit_nightly(ctx: dict[str, Any]) -> dict[str, Any]:
    """Cron entry point: write the audit head to the storage backend's anchor file."""
    async with ctx["sessionmaker"]() as session:
        anchor = await write_audit_anchor(session, ctx["storage"])
    return {"anchor": anchor}


job("audit.anchor")(anchor_audit_nightly)
CRON_JOBS.append(cron(anchor_audit_nightly, hour={2}, minute={17}, unique=True, timeout=300))
