"""Dossier export requests and their results."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from cases.vocabularies import DossierStatus
from corps.db import Base, created_at_column, uuid_pk
from corps.vocabulary import check_in
from geo.privacy import Level


class Dossier(Base):
    """A requested export: which cases, at which privacy level, in which formats, and how far."""

    __tablename__ = "dossiers"
    __table_args__ = (
        CheckConstraint(check_in("level", Level), name="level_known"),
        CheckConstraint(check_in("status", DossierStatus), name="status_known"),
        Index("ix_dossiers_org_status", "organization_id", "status"),
        Index("ix_dossiers_org_created", "organization_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    requester_role: Mapped[str] = mapped_column(String(20))
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("campaigns.id"))
    case_ids: Mapped[list[str]] = mapped_column(ARRAY(Text))
    level: Mapped[str] = mapped_column(String(20))
    formats: Mapped[list[str]] = mapped_column(ARRAY(Text))
    status: Mapped[str] = mapped_column(String(20))
    progress: Mapped[float] = mapped_column(default=0.0)
    stage: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    storage_key: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    # Cases asked for but left out at this level: [{"id", "reference", "reason"}].
    withheld_cases: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default="[]"
    )
    # The audit log's head and each included item's custody head when the bundle was sealed.
    anchors: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at_column()
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
