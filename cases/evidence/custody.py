"""The chain of custody: every receipt, view, download, export and check, hash-linked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cases.evidence.models import CustodyEvent
from corps.audit import GENESIS_HASH, canonical_json, chain_hash


def custody_payload(
    *,
    evidence_id: str,
    seq: int,
    event: str,
    at: datetime,
    actor_id: str | None,
    details: dict[str, Any],
) -> dict[str, Any]:
    """The canonical content a custody event's hash covers (also used offline by verifiers)."""
    return {
        "evidence_id": evidence_id,
        "seq": seq,
        "event": event,
        "at": at.astimezone(UTC).isoformat(),
        "actor_id": actor_id,
        "details": details,
    }


def _payload(row: CustodyEvent) -> dict[str, Any]:
    return custody_payload(
        evidence_id=str(row.evidence_id),
        seq=row.seq,
        event=row.event,
        at=row.at,
        actor_id=str(row.actor_id) if row.actor_id else None,
        details=row.details,
    )


async def append_custody_event(
    session: AsyncSession,
    evidence_id: uuid.UUID,
    event: str,
    *,
    actor_id: uuid.UUID | None,
    details: dict[str, Any] | None = None,
) -> CustodyEvent:
    """Add the next link to an item's chain; appends to one item are serialized."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
        {"k": f"custody:{evidence_id}"},
    )
    last = (
        await session.execute(
            select(CustodyEvent.seq, CustodyEvent.hash)
            .where(CustodyEvent.evidence_id == evidence_id)
            .order_by(CustodyEvent.seq.desc())
            .limit(1)
        )
    ).one_or_none()
    row = CustodyEvent(
        evidence_id=evidence_id,
        seq=(last.seq + 1) if last else 1,
        event=event,
        at=datetime.now(UTC),
        actor_id=actor_id,
        details=orjson.loads(canonical_json(details or {})),
        prev_hash=last.hash if last else GENESIS_HASH,
        hash="",
    )
    row.hash = chain_hash(row.prev_hash, _payload(row))
    session.add(row)
    await session.flush()
    return row


async def custody_chain(session: AsyncSession, evidence_id: uuid.UUID) -> list[CustodyEvent]:
    """The whole chain of an item, oldest first, as stored now."""
    rows = await session.scalars(
        select(CustodyEvent)
        .where(CustodyEvent.evidence_id == evidence_id)
        .order_by(CustodyEvent.seq)
        .execution_options(populate_existing=True)
    )
    return list(rows)


def chain_problems(rows: list[dict[str, Any]]) -> list[str]:
    """Describe every broken link in a chain given as plain dicts (database or dossier)."""
    problems: list[str] = []
    expected_prev, expected_seq = GENESIS_HASH, 1
    for row in rows:
        seq = row["seq"]
        if seq != expected_seq:
            problems.append(f"custody event {expected_seq} is missing (found {seq} next)")
        if row["prev_hash"] != expected_prev:
            problems.append(f"custody event {seq}: previous hash does not match the event before")
        payload = custody_payload(
            evidence_id=row["evidence_id"],
            seq=seq,
            event=row["event"],
            at=row["at"] if isinstance(row["at"], datetime) else datetime.fromisoformat(row["at"]),
            actor_id=row["actor_id"],
            details=row["details"],
        )
        if chain_hash(row["prev_hash"], payload) != row["hash"]:
            problems.append(f"custody event {seq}: content does not match its hash")
        expected_prev, expected_seq = row["hash"], seq + 1
    if not rows:
        problems.append("the chain of custody is empty")
    elif rows[0]["event"] != "received":
        problems.append("the chain of custody does not start with the receipt")
    return problems


def as_plain(row: CustodyEvent) -> dict[str, Any]:
    """A custody event as the JSON clients and dossiers carry."""
    return {
        "seq": row.seq,
        "event": row.event,
        "at": row.at.astimezone(UTC).isoformat(),
        "actor_id": str(row.actor_id) if row.actor_id else None,
        "details": row.details,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
        "evidence_id": str(row.evidence_id),
    }
