"""Append-only, hash-chained audit log: who did what to which object, and when."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger, Identity, String, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from corps.db import Base
from corps.viewer import ActorLike, viewer_of

GENESIS_HASH = "0" * 64
AUDIT_LOCK_KEY = 7_301_001  # pg_advisory_xact_lock key that serializes appends


class AuditEntry(Base):
    """One audit row; UPDATE and DELETE are refused by a trigger."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    at: Mapped[datetime]
    actor_id: Mapped[uuid.UUID | None]
    organization_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(80), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


APPEND = text(
    "SELECT ej_audit_append(:at, :actor_id, :organization_id, :action, :object_type, "
    ":object_id, CAST(:details AS jsonb), :prev_hash, :hash)"
)


def canonical_json(payload: dict[str, Any]) -> bytes:
    """Deterministic JSON bytes: sorted keys, no whitespace, UTC ISO timestamps."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)


def chain_hash(prev_hash: str, payload: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the canonical payload."""
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical_json(payload)).hexdigest()


def _payload(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at.astimezone(UTC).isoformat(),
        "actor_id": str(entry.actor_id) if entry.actor_id else None,
        "organization_id": str(entry.organization_id) if entry.organization_id else None,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "details": entry.details,
    }


async def append_audit(
    session: AsyncSession,
    actor: ActorLike | None,
    action: str,
    *,
    object_type: str | None = None,
    object_id: object | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the chain; serialized so the chain never forks."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
    # Through definer functions: every viewer appends, but only admins read the log back.
    prev = await session.scalar(text("SELECT hash FROM ej_audit_head()"))
    viewer = viewer_of(session)
    if viewer is not None and viewer.is_system:
        details = {**(details or {}), "system_viewer": viewer.label()}
    entry = AuditEntry(
        at=datetime.now(UTC),
        actor_id=actor.user_id if actor else None,
        organization_id=actor.organization_id if actor else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        details=orjson.loads(canonical_json(details or {})),
        prev_hash=prev or GENESIS_HASH,
        hash="",
    )
    entry.hash = chain_hash(entry.prev_hash, _payload(entry))
    entry.id = await session.scalar(
        APPEND,
        {
            "at": entry.at,
            "actor_id": entry.actor_id,
            "organization_id": entry.organization_id,
            "action": entry.action,
            "object_type": entry.object_type,
            "object_id": entry.object_id,
            "details": orjson.dumps(entry.details).decode(),
            "prev_hash": entry.prev_hash,
            "hash": entry.hash,
        },
    )
    return entry


async def verify_audit_chain(session: AsyncSession, *, batch: int = 5000) -> list[str]:
    """Walk the whole chain and describe every broken link or edited row."""
    problems: list[str] = []
    expected_prev = GENESIS_HASH
    last_id = 0
    while True:
        rows = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.id > last_id)
                .order_by(AuditEntry.id)
                .limit(batch)
                .execution_options(populate_existing=True)
            )
        ).all()
        if not rows:
            return problems
        for entry in rows:
            if entry.prev_hash != expected_prev:
                problems.append(f"audit row {entry.id}: previous hash does not match row before")
            if chain_hash(entry.prev_hash, _payload(entry)) != entry.hash:
                problems.append(f"audit row {entry.id}: content does not match its hash")
            expected_prev = entry.hash
            last_id = entry.id
