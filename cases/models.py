"""Case, timeline event, respondent link and responsible-actor ORM models."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from cases.vocabularies import (
    ISSUE_CODE_PATTERN,
    CaseStatus,
    EventKind,
    LocationPrecision,
    Outcome,
    Remedy,
    RespondentKind,
    Sensitivity,
)
from corps.db import Base, created_at_column, uuid_pk
from corps.vocabulary import check_in

SEARCH_DOCUMENT = (
    "setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(respondent_names, '')), 'B') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(place_name, '')), 'B') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(summary, '')), 'C')"
)

# Web Mercator ends at about 85.05 degrees; clip so polar geometries still get a tile copy.
WEB_MERCATOR_COPY = (
    "ST_Transform(ST_ClipByBox2D(geometry, "
    "ST_MakeEnvelope(-180, -85.0511, 180, 85.0511, 4326)), 3857)"
)


class IssueType(Base):
    """An entry of the coordinator-managed issue-type vocabulary."""

    __tablename__ = "issue_types"
    __table_args__ = (CheckConstraint(f"family ~ '{ISSUE_CODE_PATTERN}'", name="family_format"),)

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    # Issue types of one family are suggested together when their cases lie near each other.
    family: Mapped[str] = mapped_column(String(40))


class CountryName(Base):
    """An ISO 3166-1 country's name, for the neutral titles of generalized cases."""

    __tablename__ = "country_names"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))


class Case(Base):
    """A community case: the harm, the place, the people and the responsible parties."""

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(check_in("status", CaseStatus), name="status_known"),
        CheckConstraint(check_in("sensitivity", Sensitivity), name="sensitivity_known"),
        CheckConstraint(check_in("location_precision", LocationPrecision), name="precision_known"),
        CheckConstraint("ST_SRID(geometry) = 4326", name="geometry_srid"),
        Index("ix_cases_geometry", "geometry", postgresql_using="gist"),
        Index("ix_cases_geom_3857", "geom_3857", postgresql_using="gist"),
        Index("ix_cases_issue_types", "issue_types", postgresql_using="gin"),
        Index("ix_cases_search", "search", postgresql_using="gin"),
        Index("ix_cases_org_created", "organization_id", "created_at", "id"),
        Index("ix_cases_created", "created_at", "id"),
        Index("ix_cases_updated", "updated_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    public_title: Mapped[str | None] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, server_default="")
    issue_types: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    status: Mapped[str] = mapped_column(String(20))
    sensitivity: Mapped[str] = mapped_column(String(20))
    geometry: Mapped[Any] = mapped_column(Geometry(srid=4326, spatial_index=False))
    geometry_repaired: Mapped[bool] = mapped_column(server_default=text("false"))
    area_m2: Mapped[float] = mapped_column(Computed("ST_Area(geometry::geography)", persisted=True))
    geom_3857: Mapped[Any] = mapped_column(
        Geometry(srid=3857, spatial_index=False),
        Computed(WEB_MERCATOR_COPY, persisted=True),
    )
    centroid: Mapped[Any] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False),
        Computed("ST_Centroid(geometry)", persisted=True),
    )
    location_precision: Mapped[str] = mapped_column(String(20))
    place_name: Mapped[str | None] = mapped_column(String(300))
    country: Mapped[str] = mapped_column(String(2), index=True)
    people_affected: Mapped[int | None]
    opened_on: Mapped[date | None]
    respondent_names: Mapped[str] = mapped_column(Text, server_default="")
    search: Mapped[Any] = mapped_column(TSVECTOR, Computed(SEARCH_DOCUMENT, persisted=True))
    client_body_sha256: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(server_default=text("1"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    archived_at: Mapped[datetime | None]


class ReferenceCounter(Base):
    """The last reference number used per organization and year."""

    __tablename__ = "case_reference_counters"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(primary_key=True)
    last_number: Mapped[int]


class Respondent(Base):
    """A company, agency or other party named as respondent, shared across organizations."""

    __tablename__ = "actors"
    __table_args__ = (
        CheckConstraint(check_in("kind", RespondentKind), name="kind_known"),
        Index(
            "ix_actors_normalized_name_trgm",
            "normalized_name",
            postgresql_using="gin",
            postgresql_ops={"normalized_name": "gin_trgm_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(300))
    normalized_name: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("actors.id"), index=True)
    merged_into: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("actors.id"))
    created_at: Mapped[datetime] = created_at_column()


class CaseRespondent(Base):
    """A respondent named on a case, as the paralegal wrote it, linked to its actor."""

    __tablename__ = "case_respondents"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    actor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("actors.id"), primary_key=True, index=True
    )
    name_as_given: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(server_default=text("0"))


class CaseEvent(Base):
    """One step on a case's timeline."""

    __tablename__ = "case_events"
    __table_args__ = (
        CheckConstraint(check_in("kind", EventKind), name="kind_known"),
        CheckConstraint(check_in("remedy", Remedy, nullable=True), name="remedy_known"),
        CheckConstraint(check_in("outcome", Outcome, nullable=True), name="outcome_known"),
        Index("ix_case_events_case_order", "case_id", "occurred_on", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    occurred_on: Mapped[date]
    description: Mapped[str] = mapped_column(Text, server_default="")
    public_note: Mapped[str | None] = mapped_column(Text)
    remedy: Mapped[str | None] = mapped_column(String(40))
    outcome: Mapped[str | None] = mapped_column(String(20))
    due_on: Mapped[date | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()
