"""Actor aliases and merge candidates, case flags, campaigns and suggestion results."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from cases.vocabularies import MergeStatus
from corps.db import Base, created_at_column, uuid_pk
from corps.vocabulary import check_in


class RespondentAlias(Base):
    """A name folded into another actor by a confirmed merge; new cases resolve through it."""

    __tablename__ = "actor_aliases"

    normalized_name: Mapped[str] = mapped_column(String(300), primary_key=True)
    actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("actors.id"), index=True)
    merged_from: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = created_at_column()


class MergeCandidate(Base):
    """Two actors whose names look alike, for a coordinator to confirm or reject."""

    __tablename__ = "actor_merge_candidates"
    __table_args__ = (
        UniqueConstraint("actor_a", "actor_b", name="uq_actor_merge_candidates_pair"),
        CheckConstraint("actor_a < actor_b", name="ordered_pair"),
        CheckConstraint(check_in("status", MergeStatus), name="status_known"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    actor_a: Mapped[uuid.UUID] = mapped_column(ForeignKey("actors.id"))
    actor_b: Mapped[uuid.UUID] = mapped_column(ForeignKey("actors.id"))
    similarity: Mapped[float]
    status: Mapped[str] = mapped_column(String(20))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()


class CaseFlag(Base):
    """A paralegal's flag: this case belongs in collective advocacy."""

    __tablename__ = "case_flags"

    id: Mapped[uuid.UUID] = uuid_pk()
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    flagged_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()


class Campaign(Base):
    """Cases of several organizations grouped for collective advocacy."""

    __tablename__ = "campaigns"

    id: Mapped[uuid.UUID] = uuid_pk()
    title: Mapped[str] = mapped_column(String(300))
    rationale: Mapped[str] = mapped_column(Text)
    target: Mapped[str | None] = mapped_column(String(300))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()


class CampaignCase(Base):
    """A case's membership in a campaign."""

    __tablename__ = "campaign_cases"

    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), primary_key=True, index=True)
    added_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = created_at_column()


class Suggestion(Base):
    """One computed group of cases that belong together, across organizations."""

    __tablename__ = "advocacy_suggestions"
    __table_args__ = (Index("ix_advocacy_suggestions_score", "score"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    reason: Mapped[str] = mapped_column(String(40))
    case_ids: Mapped[list[str]] = mapped_column(ARRAY(Text))
    organization_ids: Mapped[list[str]] = mapped_column(ARRAY(Text))
    respondent: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    score: Mapped[float]
    explanation: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[datetime] = created_at_column()
