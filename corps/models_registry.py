"""Imports every ORM model so Alembic and the worker see the whole schema."""

from cases.evidence.models import CustodyEvent, Evidence
from cases.models import (
    Case,
    CaseEvent,
    CaseRespondent,
    IssueType,
    ReferenceCounter,
    ResponsibleActor,
)
from corps.audit import AuditEntry
from corps.db import Base
from corps.members.models import User
from corps.organizations.models import Organization
from geo.models import HotspotResult, LayerFeature, LayerFeaturePart, ReferenceLayer

metadata = Base.metadata
__all__ = [
    "AuditEntry",
    "Case",
    "CaseEvent",
    "CaseRespondent",
    "CustodyEvent",
    "Evidence",
    "HotspotResult",
    "IssueType",
    "LayerFeature",
    "LayerFeaturePart",
    "Organization",
    "ReferenceCounter",
    "ReferenceLayer",
    "ResponsibleActor",
    "User",
    "metadata",
]
