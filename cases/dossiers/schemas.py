"""Dossier request and status bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cases.vocabularies import DossierFormat, DossierStatus
from geo.privacy import Level

MAX_CASES = 2000  # bounds one build; a larger set is several dossiers


class DossierCreate(BaseModel):
    """Which cases (a campaign or a list), at which privacy level, in which formats."""

    model_config = ConfigDict(extra="forbid")

    campaign_id: uuid.UUID | None = None
    case_ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=MAX_CASES)
    level: Level
    formats: list[DossierFormat] = Field(default_factory=lambda: list(DossierFormat), min_length=1)

    @field_validator("formats", "case_ids")
    @classmethod
    def _unique(cls, values: list[Any] | None) -> list[Any] | None:
        """Repeated entries mean the same thing once."""
        return list(dict.fromkeys(values)) if values is not None else None

    @model_validator(mode="after")
    def _one_source(self) -> DossierCreate:
        """Exactly one of campaign_id and case_ids."""
        if (self.campaign_id is None) == (self.case_ids is None):
            raise ValueError("send either campaign_id or case_ids, not both and not neither")
        return self


class DossierRead(BaseModel):
    """A dossier's state, and once done the bundle's hash and size."""

    id: uuid.UUID
    status: DossierStatus
    progress: float
    stage: str | None
    sha256: str | None
    size: int | None
    error: str | None
    level: Level
    formats: list[DossierFormat]
    case_count: int
    campaign_id: uuid.UUID | None
    requested_by: uuid.UUID
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None = None
    withheld_count: int = 0
    download_url: str | None
