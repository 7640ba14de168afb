"""What a dossier says about its cases, read once per build with the level's privacy applied.

Public level, beyond what the shared export already does (locations in 0.2 degree cells, no
high-risk case, no place name, dates to the month): no case summary, timeline descriptions
redacted (cases.dossiers.redact), no evidence descriptions or file names, no capture place,
and no respondent of kind "other" (often a person). Wherever a case is shown generalized, its
summary and its evidence's capture places are withheld and its descriptions redacted too.
Companies and agencies stay named: naming them is the point of public advocacy. Titles stay,
as in every export; writing them without people's names is the paralegal's part.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.advocacy.models import Campaign
from cases.dossiers.redact import redact_public
from cases.evidence.models import Evidence
from cases.export_rows import export_select
from cases.models import Case, CaseEvent, CaseRespondent, Respondent
from cases.view import case_view
from corps.auth.actor import Actor, view_as
from corps.members.models import User
from geo.formats import iso_date
from geo.privacy import Level


class CasesChanged(Exception):
    """Cases of the request are no longer readable by the requester."""


@dataclass
class EvidenceItem:
    """One evidence record of a case in the dossier."""

    id: uuid.UUID
    case_reference: str
    sha256: str
    size: int
    media_type: str
    kind: str
    original_filename: str | None
    description: str | None
    storage_key: str
    received_at: datetime
    captured_at: str | None = None  # as the level allows: the day, or the month at public
    capture_place: dict[str, float] | None = None  # the photo's GPS, only where exact
    device: str | None = None
    thumbnail_key: str | None = None
    received_by_role: str | None = None


@dataclass
class CaseSection:
    """One case as the dossier shows it."""

    id: uuid.UUID
    number: int
    reference: str
    title: str
    status: str
    issue_types: list[str]
    sensitivity: str
    generalized: bool
    country: str
    place_name: str | None
    people_affected: int | None
    opened_on: str | None
    summary: str | None
    respondents: list[dict[str, Any]]
    geometry: dict[str, Any]
    organization_id: str = ""
    # Only to redact descriptions with: never shown where the case is generalized.
    private_names: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[EvidenceItem] = field(default_factory=list)


@dataclass
class DossierContent:
    """Every case of the dossier, in order, and the campaign they belong to, if any."""

    level: Level
    cases: list[CaseSection]
    campaign: dict[str, Any] | None


def case_statement(level: Level, ids: list[uuid.UUID], *, full: bool = False) -> Any:
    """The shared export's rows (the case view at the level) for exactly these cases."""
    view = case_view(level)
    stmt = export_select(view, level).where(view.c.id.in_(ids))
    if not full:
        return stmt
    # The true place name and the individuals named are read only to redact them from
    # timeline text; they are never shown.
    individuals = (
        select(func.array_agg(CaseRespondent.name_as_given))
        .join(Respondent, Respondent.id == CaseRespondent.actor_id)
        .where(CaseRespondent.case_id == Case.id, Respondent.kind == "other")
        .correlate(Case)
        .scalar_subquery()
    )
    return stmt.join(Case, Case.id == view.c.id).add_columns(
        view.c.summary,
        view.c.respondents,
        Case.place_name.label("true_place_name"),
        individuals.label("individuals"),
    )


def _day(value: date | None, level: Level) -> str | None:
    if value is None:
        return None
    return value.strftime("%Y-%m") if level == Level.public else value.isoformat()


def _respondents(raw: Any, level: Level) -> list[dict[str, Any]]:
    items = raw if isinstance(raw, list) else orjson.loads(raw or "[]")
    if level == Level.public:
        items = [r for r in items if r.get("kind") != "other"]
    return [
        {"name": r["name"], "kind": r["kind"], "actor_name": r.get("actor_name")} for r in items
    ]


def _private_names(row: Any) -> list[str]:
    """The place name and the names of respondents who are individuals."""
    return [n for n in [row.true_place_name, *(row.individuals or [])] if n]


async def _events(session: AsyncSession, cases: dict[uuid.UUID, CaseSection], level: Level) -> None:
    rows = await session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id.in_(list(cases)))
        .order_by(CaseEvent.case_id, CaseEvent.occurred_on, CaseEvent.created_at, CaseEvent.id)
    )
    for event in rows:
        case = cases[event.case_id]
        description: str | None = event.description
        if level == Level.public:
            # The privacy rule at the public level: kind, month, codes and the public note only.
            description = event.public_note
        elif case.generalized:
            description = redact_public(
                description,
                withheld=case.private_names,
                kept=[r["name"] for r in case.respondents if r["kind"] != "other"],
            )
        case.events.append(
            {
                "kind": event.kind,
                "occurred_on": _day(event.occurred_on, level),
                "description": description,
                "public_note": event.public_note,
                "remedy": event.remedy,
                "outcome": event.outcome,
                "due_on": _day(event.due_on, level),
            }
        )


async def _evidence(
    session: AsyncSession, cases: dict[uuid.UUID, CaseSection], level: Level
) -> None:
    rows = await session.execute(
        select(Evidence, User.role)
        .outerjoin(User, User.id == Evidence.received_by)
        .where(Evidence.case_id.in_(list(cases)))
        .order_by(Evidence.case_id, Evidence.received_at, Evidence.id)
    )
    public = level == Level.public
    for item, role in rows:
        section = cases[item.case_id]
        facts = item.metadata_ or {}
        taken = facts.get("taken_at") or (item.captured_at and item.captured_at.isoformat())
        gps = facts.get("gps") if not (public or section.generalized) else None
        section.evidence.append(
            EvidenceItem(
                id=item.id,
                case_reference=section.reference,
                sha256=item.sha256,
                size=item.size,
                media_type=item.media_type,
                kind=item.kind,
                original_filename=None if public else item.original_filename,
                description=None if public else item.description,
                storage_key=item.storage_key,
                received_at=item.received_at,
                captured_at=(str(taken)[:7] if public else str(taken)[:19]) if taken else None,
                capture_place=gps,
                device=None if public else facts.get("device"),
                thumbnail_key=item.thumbnail_key,
                received_by_role=role,
            )
        )


async def _campaign(session: AsyncSession, campaign_id: uuid.UUID | None, level: Level) -> Any:
    if campaign_id is None:
        return None
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None:
        return None
    rationale = None if level == Level.public else campaign.rationale
    return {"title": campaign.title, "target": campaign.target, "rationale": rationale}


async def load_content(
    session: AsyncSession,
    actor: Actor,
    level: Level,
    ids: list[uuid.UUID],
    campaign_id: uuid.UUID | None,
) -> DossierContent:
    """Read the cases, their timelines and evidence records as the level allows."""
    await view_as(session, actor)
    seen = case_view()
    still_seen = set(await session.scalars(select(seen.c.id).where(seen.c.id.in_(ids))))
    if len(still_seen) != len(set(ids)):
        raise CasesChanged(
            f"{len(set(ids)) - len(still_seen)} of the cases are no longer readable by the "
            "requester (archived, or access changed); ask for the dossier again."
        )
    stmt = case_statement(level, ids, full=True)
    sections: dict[uuid.UUID, CaseSection] = {}
    for number, row in enumerate((await session.execute(stmt)).all(), start=1):
        case_id = uuid.UUID(row.id)
        sections[case_id] = CaseSection(
            id=case_id,
            number=number,
            reference=row.reference,
            title=row.title,
            status=row.status,
            issue_types=list(row.issue_types or []),
            sensitivity=row.sensitivity,
            generalized=bool(row.generalized),
            country=row.country,
            place_name=row.place_name,
            people_affected=row.people_affected,
            opened_on=iso_date(row.opened_on, row.date_precision),
            summary=None if level == Level.public or row.generalized else row.summary,
            respondents=_respondents(row.respondents, level),
            geometry=orjson.loads(row.geometry_json),
            organization_id=row.organization_id,
            private_names=_private_names(row),
        )
    if sections:
        await _events(session, sections, level)
        await _evidence(session, sections, level)
    return DossierContent(
        level=level,
        cases=list(sections.values()),
        campaign=await _campaign(session, campaign_id, level),
    )
