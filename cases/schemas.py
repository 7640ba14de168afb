"""Case, respondent and timeline request and response bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from cases.vocabularies import (
    ISSUE_CODE_PATTERN,
    RECORDED_EVENT_KINDS,
    CaseStatus,
    EventKind,
    LocationPrecision,
    Outcome,
    Remedy,
    RespondentKind,
    Sensitivity,
)
from corps.organizations.schemas import CountryCode

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)]
IssueCode = Annotated[str, StringConstraints(pattern=ISSUE_CODE_PATTERN)]


class RespondentIn(BaseModel):
    """A party the case is against, as the paralegal names it."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=300)]
    kind: RespondentKind = RespondentKind.company


class RespondentOut(BaseModel):
    """A respondent with the shared actor it resolved to."""

    name: str
    kind: RespondentKind
    actor_id: uuid.UUID
    actor_name: str


PublicTitle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)]
PUBLIC_NOTE = (
    "A note safe to publish: at the public level a timeline event shows only its kind, month, "
    "remedy and outcome codes and this note (never the description)."
)


class _CaseFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_title: PublicTitle | None = Field(
        default=None,
        description="A title safe to publish: shown instead of the title wherever the case is "
        "shown generalized, and at the public level for every case. Without one, a neutral title "
        "is made from the issue types, country and year (e.g. 'Mining and water pollution case, "
        "Sierra Leone, 2026'), because titles often name places.",
    )

    summary: str = Field(default="", max_length=20_000)
    status: CaseStatus = CaseStatus.intake
    sensitivity: Sensitivity = Sensitivity.normal
    location_precision: LocationPrecision = LocationPrecision.exact
    place_name: str | None = Field(default=None, max_length=300)
    people_affected: int | None = Field(default=None, ge=0, le=2_000_000_000)
    respondents: list[RespondentIn] = Field(default_factory=list, max_length=50)
    opened_on: date | None = None

    @field_validator("opened_on")
    @classmethod
    def _not_in_future(cls, value: date | None) -> date | None:
        if value and value > date.today() + timedelta(days=366):
            raise ValueError("opened_on is more than a year in the future")
        return value


class CaseCreate(_CaseFields):
    """A new case; `id` lets an offline client make the id itself."""

    id: uuid.UUID | None = None
    title: Title
    issue_types: list[IssueCode] = Field(min_length=1, max_length=10)
    geometry: dict[str, Any]
    country: CountryCode
    organization_id: uuid.UUID | None = None


class CaseUpdate(BaseModel):
    """Changes to a case; only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    public_title: PublicTitle | None = Field(
        default=None,
        description="A title safe to publish: shown instead of the title wherever the case is "
        "shown generalized, and at the public level for every case. Without one, a neutral title "
        "is made from the issue types, country and year (e.g. 'Mining and water pollution case, "
        "Sierra Leone, 2026'), because titles often name places.",
    )
    summary: str | None = Field(default=None, max_length=20_000)
    issue_types: list[IssueCode] | None = Field(default=None, min_length=1, max_length=10)
    status: CaseStatus | None = None
    sensitivity: Sensitivity | None = None
    geometry: dict[str, Any] | None = None
    location_precision: LocationPrecision | None = None
    place_name: str | None = Field(default=None, max_length=300)
    country: CountryCode | None = None
    people_affected: int | None = Field(default=None, ge=0, le=2_000_000_000)
    respondents: list[RespondentIn] | None = Field(default=None, max_length=50)
    opened_on: date | None = None
    status_note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _something_to_change(self) -> CaseUpdate:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        for name in (
            "title",
            "issue_types",
            "status",
            "sensitivity",
            "geometry",
            "location_precision",
            "country",
        ):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class CaseRead(BaseModel):
    """A case as the viewer may see it."""

    id: uuid.UUID
    reference: str
    organization_id: uuid.UUID
    organization_name: str | None = None
    organization_slug: str | None = None
    title: str = Field(
        description="The title, or where the case is shown generalized the public title (or a "
        "neutral one from its issue types, country and year)."
    )
    public_title: str | None = None
    summary: str = Field(description="Empty where the case is shown generalized.")
    issue_types: list[str]
    status: CaseStatus
    sensitivity: Sensitivity
    geometry: dict[str, Any]
    generalized: bool
    geometry_repaired: bool
    area_m2: float | None
    centroid: dict[str, Any]
    location_precision: LocationPrecision
    place_name: str | None
    country: str
    people_affected: int | None
    respondents: list[RespondentOut]
    opened_on: date | None
    version: int
    created_at: datetime
    updated_at: datetime


def _recorded(kind: EventKind) -> EventKind:
    if kind not in RECORDED_EVENT_KINDS:
        raise ValueError("status changes are made with PATCH of the case")
    return kind


RecordedEventKind = Annotated[
    EventKind,
    AfterValidator(_recorded),
    WithJsonSchema({"type": "string", "enum": [k.value for k in RECORDED_EVENT_KINDS]}),
]


class EventCreate(BaseModel):
    """A timeline entry; status changes are made with PATCH, not here."""

    model_config = ConfigDict(extra="forbid")

    kind: RecordedEventKind
    occurred_on: date
    description: str = Field(default="", max_length=20_000)
    remedy: Remedy | None = None
    outcome: Outcome | None = None
    due_on: date | None = None
    public_note: str | None = Field(default=None, max_length=2000, description=PUBLIC_NOTE)

    @model_validator(mode="after")
    def _kind_needs(self) -> EventCreate:
        if self.kind == "deadline" and self.due_on is None:
            raise ValueError("a deadline needs due_on")
        if self.kind == "outcome" and self.outcome is None:
            raise ValueError("an outcome needs outcome")
        if self.kind == "remedy" and self.remedy is None:
            raise ValueError("a remedy needs remedy")
        return self


class EventRead(BaseModel):
    """A timeline entry as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    kind: EventKind
    occurred_on: date
    description: str
    remedy: Remedy | None
    outcome: Outcome | None
    due_on: date | None
    public_note: str | None = Field(default=None, description=PUBLIC_NOTE)
    details: dict[str, Any]
    created_by: uuid.UUID | None
    created_at: datetime


FAMILY_NOTE = (
    "Cases of issue types of one family (water, land, extractives…) that lie near each other "
    "are suggested together for collective advocacy."
)


class IssueTypeRead(BaseModel):
    """An issue type of the vocabulary."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    label: str
    active: bool
    family: str = Field(description=FAMILY_NOTE)


class IssueTypeCreate(BaseModel):
    """A new issue type (coordinator, admin)."""

    model_config = ConfigDict(extra="forbid")

    code: IssueCode
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=120)]
    family: IssueCode | None = Field(default=None, description=FAMILY_NOTE + " Default: the code.")
