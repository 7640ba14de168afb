"""Evidence and custody response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cases.vocabularies import EvidenceKind


class EvidenceFields(BaseModel):
    """The form fields sent beside the file."""

    model_config = ConfigDict(extra="forbid")

    kind: EvidenceKind
    description: str | None = Field(default=None, max_length=5000)
    captured_at: datetime | None = None
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")


class EvidenceRead(BaseModel):
    """An evidence item as the viewer may see it."""

    id: uuid.UUID
    case_id: uuid.UUID
    sha256: str
    size: int
    media_type: str
    kind: EvidenceKind
    original_filename: str | None
    description: str | None
    captured_at: datetime | None
    received_at: datetime
    received_by: uuid.UUID | None
    metadata: dict[str, Any]
    processed: bool


class CustodyRead(BaseModel):
    """One link of the chain of custody."""

    seq: int
    event: str
    at: datetime
    actor_id: uuid.UUID | None
    details: dict[str, Any]
    prev_hash: str
    hash: str
    withheld: list[str] = Field(
        default_factory=list,
        description="What of the details this viewer may not see (capture location, dossier): "
        "the hash covers the stored details, so check such a link with POST .../verify.",
    )


class VerifyResult(BaseModel):
    """What re-hashing the stored bytes and walking the chain found."""

    ok: bool
    sha256: str
    stored_sha256: str | None
    chain_ok: bool
    problems: list[str]
