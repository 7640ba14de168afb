"""Request and response bodies for flags, campaigns, actors and suggestions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cases.vocabularies import MergeStatus, RespondentKind, SuggestionReason

Text300 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)]


class FlagCreate(BaseModel):
    """Why a case belongs in collective advocacy."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=5000)]


class FlagRead(BaseModel):
    """A flag on a case."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    reason: str
    flagged_by: uuid.UUID
    created_at: datetime


class CampaignCreate(BaseModel):
    """A new campaign and the cases it starts with."""

    model_config = ConfigDict(extra="forbid")

    title: Text300
    rationale: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=20_000)
    ]
    target: Text300 | None = None
    case_ids: list[uuid.UUID] = Field(default_factory=list, max_length=5000)


class CampaignCase(BaseModel):
    """A case in a campaign, as the viewer may see it."""

    id: uuid.UUID
    reference: str
    title: str
    organization_id: uuid.UUID
    country: str
    status: str
    issue_types: list[str]


class CampaignRead(BaseModel):
    """A campaign with its cases."""

    id: uuid.UUID
    title: str
    rationale: str
    target: str | None
    created_by: uuid.UUID
    created_at: datetime
    case_count: int
    organization_count: int
    cases: list[CampaignCase]


class CampaignSummary(BaseModel):
    """A campaign in a list."""

    id: uuid.UUID
    title: str
    target: str | None
    created_at: datetime
    case_count: int


class RespondentRead(BaseModel):
    """A responsible actor with its group and the spellings it was named by."""

    id: uuid.UUID
    name: str
    kind: RespondentKind
    parent_id: uuid.UUID | None
    merged_into: uuid.UUID | None
    case_count: int = Field(description="Cases naming the actor that the viewer may read.")
    corps_case_count: int = Field(
        default=0,
        description="Live cases of the whole corps naming the actor, high-risk ones never "
        "counted: a number only, linked to no case.",
    )
    spellings: list[str] = Field(description="How it was named in cases the viewer may read.")


class RespondentUpdate(BaseModel):
    """Put an actor in a group (its parent company), or take it out with null."""

    model_config = ConfigDict(extra="forbid")

    parent_id: uuid.UUID | None


class MergeCandidateRead(BaseModel):
    """Two actors that may be one, and how alike their names are."""

    id: uuid.UUID
    similarity: float
    status: MergeStatus
    actor_a: dict[str, Any]
    actor_b: dict[str, Any]


class SuggestionRead(BaseModel):
    """A group of cases across organizations that may belong in one campaign."""

    reason: SuggestionReason
    case_ids: list[uuid.UUID]
    organization_ids: list[uuid.UUID]
    respondent: dict[str, Any] | None = None
    score: float
    explanation: str


class SuggestionsRefresh(BaseModel):
    """What a refresh did: nothing to do, recomputed now, or queued for the worker."""

    state: Literal["fresh", "computed", "queued"]
