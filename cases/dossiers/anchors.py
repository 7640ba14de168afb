"""Anchors: the audit log's head and each evidence item's custody head, written down elsewhere.

A hash chain shows an edited or removed row in its middle, but not a removed tail: cut the
last rows and what is left is a shorter, valid chain. An anchor is a copy of the head taken at
a moment and kept outside the table: in each dossier's manifest (the audit head and the custody
head of every item it includes) and, every night, in an append-only file in the storage backend
(`anchors/audit-heads.jsonl`). `corps verify-audit` then checks that every anchored row is still
there with the same hash, so a truncated tail is detected.

The head is the sealed chain's (corps.audit_seal): entries appended after the last batch are
pending, counted beside the head, and anchored by the next one. Anchoring seals first.
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
from corps.audit import AuditSeal
from corps.audit_seal import pending_count, seal_pending
from corps.audit_verify import AuditReport, audit_report
from corps.jobs import CRON_JOBS, job
from corps.storage import Storage

ANCHOR_FILE = "anchors/audit-heads.jsonl"


async def audit_head(session: AsyncSession) -> dict[str, Any] | None:
    """The sealed chain's head (entry id, position, hash) and how many entries are pending."""
    # through definer functions: every requester's dossier anchors the head of the one chain
    row = (await session.execute(text("SELECT id, hash, seq FROM ej_audit_head()"))).first()
    if row is None:
        return None
    return {"id": row.id, "seq": row.seq, "hash": row.hash, "pending": await pending_count(session)}


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
    anchor = {"id": head["id"], "seq": head["seq"], "hash": head["hash"]}
    anchor["at"] = datetime.now(UTC).isoformat()
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
    return (await audit_check(session, anchors)).problems


async def audit_check(session: AsyncSession, anchors: list[dict[str, Any]]) -> AuditReport:
    """The whole report: the chain, the pending entries, and every anchored head."""
    report = await audit_report(session)
    problems = report.problems
    if not anchors:
        return report
    # An anchor names the entry id its head sealed (older anchors too: their rows were
    # moved into the chain with the same hashes).
    wanted = {int(a["id"]): a for a in anchors}
    rows = await session.execute(
        select(AuditSeal.entry_id, AuditSeal.hash).where(AuditSeal.entry_id.in_(list(wanted)))
    )
    found = {r.entry_id: r.hash for r in rows}
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
    return report


async def anchor_audit_nightly(ctx: dict[str, Any]) -> dict[str, Any]:
    """Cron entry point: seal what is pending, then write the head to the anchor file."""
    await seal_pending(ctx["sessionmaker"])
    async with ctx["sessionmaker"]() as session:
        anchor = await write_audit_anchor(session, ctx["storage"])
    return {"anchor": anchor}


job("audit.anchor")(anchor_audit_nightly)
CRON_JOBS.append(cron(anchor_audit_nightly, hour={2}, minute={17}, unique=True, timeout=300))
