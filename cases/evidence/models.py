"""Evidence item and custody-event ORM models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from cases.vocabularies import CustodyEventKind, EvidenceKind
from corps.db import Base, uuid_pk
from corps.vocabulary import check_in


class Evidence(Base):
    """A file attached to a case, stored content-addressed and never changed."""

    __tablename__ = "evidence"
    __table_args__ = (
        CheckConstraint(check_in("kind", EvidenceKind), name="kind_known"),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        Index("ix_evidence_case_received", "case_id", "received_at", "id"),
        # a stored file is removed only when no row names it (migration 0040)
        Index("ix_evidence_storage_key", "storage_key"),
        Index(
            "ix_evidence_thumbnail_key",
            "thumbnail_key",
            postgresql_where=text("thumbnail_key IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    original_filename: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(5000))
    captured_at: Mapped[datetime | None]
    storage_key: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    received_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, server_default=text("'{}'::jsonb")
    )
    thumbnail_key: Mapped[str | None] = mapped_column(String(200))
    processed_at: Mapped[datetime | None]


class CustodyEvent(Base):
    """One link of an evidence item's chain of custody; UPDATE and DELETE are refused."""

    __tablename__ = "custody_events"
    __table_args__ = (
        CheckConstraint(check_in("event", CustodyEventKind), name="event_known"),
        Index("uq_custody_events_evidence_seq", "evidence_id", "seq", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    evidence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence.id", ondelete="RESTRICT"))
    seq: Mapped[int]
    event: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime]
    actor_id: Mapped[uuid.UUID | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
