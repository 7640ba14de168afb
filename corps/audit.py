"""Append-only, hash-chained audit log: who did what to which object, and when.

Appending takes no lock: each row is inserted with its own content hash and chained later,
in order, by the sealer (corps.audit_seal). Audited transactions never wait for each other.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger, ForeignKey, Identity, String, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from corps.db import Base
from corps.viewer import ActorLike, viewer_of

GENESIS_HASH = "0" * 64


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
    # SHA-256 of the row's own content, written with it (no other row needed, so no lock);
    # NULL only on rows written before sealing existed, which were chained as they were.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    # The table also has `txid` (xid8, the inserting transaction), read only by the sealer.


class AuditSeal(Base):
    """One link of the chain: the entry sealed at position `seq`, after `prev_hash`."""

    __tablename__ = "audit_chain"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("audit_log.id"), unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    sealed_at: Mapped[datetime]
    # xmin_floor (xid8) is read only by the sealer, in SQL.


# The append as a column, for a statement that reads and leaves its trace in one round trip:
# PostgreSQL calls it once per row the statement returns, so a read that finds nothing appends
# nothing. Its values are bound as append_params gives them.
APPEND_COLUMN = func.ej_audit_append(
    *(bindparam(name) for name in ("at", "actor_id", "organization_id", "action")),
    *(bindparam(name) for name in ("object_type", "object_id")),
    cast(bindparam("details"), JSONB),
    bindparam("content_hash"),
    type_=BigInteger,
)
APPEND = select(APPEND_COLUMN)


def canonical_json(payload: dict[str, Any]) -> bytes:
    """Deterministic JSON bytes: sorted keys, no whitespace, UTC ISO timestamps."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)


def chain_hash(prev_hash: str, payload: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the canonical payload."""
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical_json(payload)).hexdigest()


def content_hash(payload: dict[str, Any]) -> str:
    """SHA-256 over one entry's canonical payload, alone."""
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def payload(entry: AuditEntry) -> dict[str, Any]:
    """What the hashes cover: every column of the entry but its id and hashes."""
    return {
        "at": entry.at.astimezone(UTC).isoformat(),
        "actor_id": str(entry.actor_id) if entry.actor_id else None,
        "organization_id": str(entry.organization_id) if entry.organization_id else None,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "details": entry.details,
    }


def new_entry(
    session: AsyncSession,
    actor: ActorLike | None,
    action: str,
    *,
    object_type: str | None = None,
    object_id: object | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """An entry as it will be appended, with its content hash (not yet in the database)."""
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
    )
    entry.content_hash = content_hash(payload(entry))
    return entry


def append_params(entry: AuditEntry) -> dict[str, Any]:
    """The bound values of APPEND (or of APPEND_COLUMN inside another statement) for an entry."""
    return {
        "at": entry.at,
        "actor_id": entry.actor_id,
        "organization_id": entry.organization_id,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "details": orjson.dumps(entry.details).decode(),
        "content_hash": entry.content_hash,
    }


def appended(session: AsyncSession, entry: AuditEntry, entry_id: int) -> AuditEntry:
    """Record that `entry` was appended as `entry_id` in the session's transaction."""
    entry.id = entry_id
    # After the session commits, corps.db wakes this process's sealer (corps.audit_seal).
    session.info["audited"] = True
    return entry


async def append_audit(
    session: AsyncSession,
    actor: ActorLike | None,
    action: str,
    *,
    object_type: str | None = None,
    object_id: object | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry, without a lock; the sealer chains it once its transaction commits."""
    entry = new_entry(
        session, actor, action, object_type=object_type, object_id=object_id, details=details
    )
    # Through a definer function: every viewer appends, but only admins read the log back.
    entry_id = await session.scalar(APPEND, append_params(entry))
    assert entry_id is not None  # ej_audit_append returns the new row's id or raises
    return appended(session, entry, entry_id)
