"""The closed vocabularies of cases, one StrEnum each, and the issue-type seed.

Models derive their check constraints from these (corps.vocabulary.check_in), schemas use
them as field types (so OpenAPI lists the codes), and query parameters their patterns.
Migrations are history and keep their own copies; tests/cases/test_vocabularies.py holds
the database to these.
"""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    """Where a case is in the legal-empowerment cycle."""

    intake = "intake"
    investigation = "investigation"
    action = "action"
    resolved = "resolved"
    closed = "closed"
    dormant = "dormant"


class Sensitivity(StrEnum):
    """How much harm a shown location could do: decides generalization."""

    normal = "normal"
    sensitive = "sensitive"
    high_risk = "high_risk"


class LocationPrecision(StrEnum):
    """How well the recorded geometry matches the place."""

    exact = "exact"
    approximate = "approximate"
    area = "area"


class RespondentKind(StrEnum):
    """What kind of party a respondent is."""

    company = "company"
    government_agency = "government_agency"
    other = "other"


class EventKind(StrEnum):
    """What a timeline entry records."""

    note = "note"
    action = "action"
    remedy = "remedy"
    outcome = "outcome"
    deadline = "deadline"
    status_change = "status_change"


# Status changes are written by PATCH of the case, never posted as events.
RECORDED_EVENT_KINDS = tuple(k for k in EventKind if k is not EventKind.status_change)


class Remedy(StrEnum):
    """The route a community took to use the law."""

    administrative_complaint = "administrative_complaint"
    negotiation = "negotiation"
    mediation = "mediation"
    litigation = "litigation"
    media = "media"
    protest = "protest"
    policy_advocacy = "policy_advocacy"


class Outcome(StrEnum):
    """What a remedy obtained."""

    obtained = "obtained"
    partial = "partial"
    denied = "denied"
    pending = "pending"


class EvidenceKind(StrEnum):
    """What a piece of evidence is, as the paralegal files it."""

    photo = "photo"
    document = "document"
    audio = "audio"
    video = "video"
    testimony = "testimony"
    data = "data"
    other = "other"


class CustodyEventKind(StrEnum):
    """The links of an evidence custody chain."""

    received = "received"
    metadata_extracted = "metadata_extracted"
    viewed = "viewed"
    downloaded = "downloaded"
    exported = "exported"
    verified = "verified"


class MergeStatus(StrEnum):
    """A coordinator's decision on two look-alike respondents."""

    pending = "pending"
    confirmed = "confirmed"
    rejected = "rejected"


class SuggestionReason(StrEnum):
    """Why cases of different organizations are suggested together."""

    shared_respondent = "shared_respondent"
    proximity = "proximity"
    shared_layer_feature = "shared_layer_feature"


class DossierFormat(StrEnum):
    """What a dossier bundle can hold besides its manifest."""

    pdf = "pdf"
    geojson = "geojson"
    kml = "kml"
    gpkg = "gpkg"
    csv = "csv"
    evidence = "evidence"


class DossierStatus(StrEnum):
    """Where a dossier build is."""

    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


# Issue-type and family codes: coordinators add both, so they are open sets of identifiers.
ISSUE_CODE_PATTERN = "^[a-z][a-z0-9_]{1,39}$"


class IssueFamily(StrEnum):
    """Families of the seeded issue types: issue types that share a fight (a dam and a dry
    well, a mine and a poisoned river) are suggested together when their cases are near."""

    water = "water"
    land = "land"
    extractives = "extractives"
    pollution = "pollution"
    infrastructure = "infrastructure"
    climate = "climate"
    other = "other"


# The issue types the corps starts with (code: label, family); coordinators add more.
SEEDED_ISSUE_TYPES: dict[str, tuple[str, IssueFamily]] = {
    "land_grab": ("Land grab", IssueFamily.land),
    "deforestation": ("Deforestation", IssueFamily.land),
    "mining": ("Mining", IssueFamily.extractives),
    "oil_gas": ("Oil and gas", IssueFamily.extractives),
    "water_pollution": ("Water pollution", IssueFamily.water),
    "air_pollution": ("Air pollution", IssueFamily.pollution),
    "soil_contamination": ("Soil contamination", IssueFamily.pollution),
    "waste_dumping": ("Waste dumping", IssueFamily.pollution),
    "water_access": ("Water access", IssueFamily.water),
    "fisheries": ("Fisheries", IssueFamily.water),
    "agribusiness": ("Agribusiness", IssueFamily.land),
    "infrastructure": ("Infrastructure", IssueFamily.infrastructure),
    "conservation_conflict": ("Conservation conflict", IssueFamily.land),
    "climate_displacement": ("Climate displacement", IssueFamily.climate),
    "other": ("Other", IssueFamily.other),
}
