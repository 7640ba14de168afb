"""Imports every ORM model so Alembic and the worker see the whole schema."""

from cases.advocacy.models import (
    Campaign,
    CampaignCase,
    CaseFlag,
    MergeCandidate,
    RespondentAlias,
    Suggestion,
)
from cases.dossiers.models import Dossier
from cases.evidence.models import CustodyEvent, Evidence
from cases.models import (
    Case,
    CaseEvent,
    CaseRespondent,
    IssueType,
    ReferenceCounter,
    Respondent,
)
from corps.audit import AuditEntry, AuditSeal
from corps.db import Base
from corps.members.models import User
from corps.organizations.models import Organization
from maps.models import HotspotResult, LayerFeature, LayerFeaturePart, ReferenceLayer

metadata = Base.metadata
__all__ = [
    "AuditEntry",
    "AuditSeal",
    "Campaign",
    "CampaignCase",
    "Case",
    "CaseEvent",
    "CaseFlag",
    "CaseRespondent",
    "CustodyEvent",
    "Dossier",
    "Evidence",
    "HotspotResult",
    "IssueType",
    "LayerFeature",
    "LayerFeaturePart",
    "MergeCandidate",
    "Organization",
    "ReferenceCounter",
    "ReferenceLayer",
    "Respondent",
    "RespondentAlias",
    "Suggestion",
    "User",
    "metadata",
]
