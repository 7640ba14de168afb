"""Flags and campaigns: marking cases for collective advocacy and grouping them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cases.advocacy.models import Campaign, CampaignCase, CaseFlag
from cases.advocacy.schemas import CampaignCreate, CampaignRead, CampaignSummary
from cases.models import Case
from cases.view import case_view
from cases.visibility import case_visibility, readable_case
from corps.audit import append_audit
from corps.auth.actor import Actor
from corps.auth.policy import flags_cases, manages_campaigns, reads_every_campaign
from corps.errors import NotFound
from corps.pagination import Page, PageParams, keyset_page


async def flag(session: AsyncSession, actor: Actor, case_id: uuid.UUID, reason: str) -> CaseFlag:
    """Flag a case the actor can read for collective advocacy."""
    case = await readable_case(session, actor, case_id)
    flags_cases.require(actor)
    row = CaseFlag(case_id=case.id, reason=reason, flagged_by=actor.user_id)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await append_audit(session, actor, "case.flagged", object_type="case", object_id=case.id)
    return row


async def flags_of(session: AsyncSession, actor: Actor, case_id: uuid.UUID) -> list[CaseFlag]:
    """The flags on a case the actor can read; where they see it generalized, the reasons of
    others' flags are withheld (free text names places and people, as titles do)."""
    case = await readable_case(session, actor, case_id)
    flags = list(
        await session.scalars(
            select(CaseFlag).where(CaseFlag.case_id == case.id).order_by(CaseFlag.created_at)
        )
    )
    view = case_view()
    if await session.scalar(select(view.c.generalized).where(view.c.id == case.id)):
        for flag in flags:
            if flag.flagged_by != actor.user_id:
                session.expunge(flag)  # what is shown changes, never the record
                flag.reason = ""
    return flags


def _check_manager(actor: Actor) -> None:
    manages_campaigns.require(actor)


async def _readable_ids(
    session: AsyncSession, actor: Actor, ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    found = set(
        await session.scalars(select(Case.id).where(Case.id.in_(ids), case_visibility(actor)))
    )
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise NotFound(f"No such case: {', '.join(missing[:5])}.")
    return list(dict.fromkeys(ids))


async def create(session: AsyncSession, actor: Actor, body: CampaignCreate) -> CampaignRead:
    """Start a campaign with its cases (coordinator, admin)."""
    _check_manager(actor)
    ids = await _readable_ids(session, actor, body.case_ids)
    campaign = Campaign(
        title=body.title, rationale=body.rationale, target=body.target, created_by=actor.user_id
    )
    session.add(campaign)
    await session.flush()
    if ids:
        await session.execute(
            insert(CampaignCase).values(
                [{"campaign_id": campaign.id, "case_id": i, "added_by": actor.user_id} for i in ids]
            )
        )
    await append_audit(
        session,
        actor,
        "campaign.created",
        object_type="campaign",
        object_id=campaign.id,
        details={"case_count": len(ids)},
    )
    return await read(session, actor, campaign.id)


def _campaign_visibility(actor: Actor) -> Any:
    """Coordinators, admins and campaigners see every campaign; others those with their cases."""
    if reads_every_campaign(actor):
        return True
    own = (
        select(CampaignCase.campaign_id)
        .join(Case, Case.id == CampaignCase.case_id)
        .where(case_visibility(actor))
    )
    return Campaign.id.in_(own)


async def _campaign(session: AsyncSession, actor: Actor, campaign_id: uuid.UUID) -> Campaign:
    campaign = await session.scalar(
        select(Campaign).where(Campaign.id == campaign_id, _campaign_visibility(actor))
    )
    if campaign is None:
        raise NotFound("No such campaign.")
    return campaign


async def campaign_sizes(
    session: AsyncSession, campaign_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """Live cases and organizations of campaigns the viewer reads, counted corps-wide.

    A campaign spans organizations: its reader learns how many cases of how many
    organizations it holds (numbers only, through a database function), and row-level
    security shows them only the cases of it they may read.
    """
    rows = await session.execute(
        text("SELECT * FROM ej_campaign_sizes(CAST(:ids AS uuid[]))"), {"ids": campaign_ids}
    )
    return {r.campaign_id: (r.case_count, r.organization_count) for r in rows}


async def read(session: AsyncSession, actor: Actor, campaign_id: uuid.UUID) -> CampaignRead:
    """A campaign with the cases of it the actor may read."""
    campaign = await _campaign(session, actor, campaign_id)
    total, all_orgs = (await campaign_sizes(session, [campaign.id])).get(campaign.id, (0, 0))
    view = case_view()  # titles as the viewer may see them (public title where generalized)
    rows = (
        await session.execute(
            select(
                view.c.id,
                view.c.reference,
                view.c.title,
                view.c.organization_id,
                view.c.country,
                view.c.status,
                view.c.issue_types,
            )
            .join(CampaignCase, CampaignCase.case_id == view.c.id)
            .where(CampaignCase.campaign_id == campaign.id)
            .order_by(view.c.reference)
        )
    ).all()
    return CampaignRead(
        id=campaign.id,
        title=campaign.title,
        rationale=campaign.rationale,
        target=campaign.target,
        created_by=campaign.created_by,
        created_at=campaign.created_at,
        case_count=total,
        organization_count=all_orgs,
        cases=[dict(r._mapping) for r in rows],
    )


async def list_page(session: AsyncSession, actor: Actor, page: PageParams) -> Page[CampaignSummary]:
    """One page of the campaigns the actor may see, newest first."""
    campaigns: Page[Campaign] = await keyset_page(
        session,
        select(Campaign).where(_campaign_visibility(actor)),
        page,
        key=(Campaign.created_at, Campaign.id),
        parsers=(datetime.fromisoformat, uuid.UUID),
        descending=True,
    )
    sizes = await campaign_sizes(session, [c.id for c in campaigns.items])
    items = [
        CampaignSummary(
            id=c.id,
            title=c.title,
            target=c.target,
            created_at=c.created_at,
            case_count=sizes.get(c.id, (0, 0))[0],
        )
        for c in campaigns.items
    ]
    return Page(items=items, next_cursor=campaigns.next_cursor)


async def add_case(
    session: AsyncSession, actor: Actor, campaign_id: uuid.UUID, case_id: uuid.UUID
) -> CampaignRead:
    """Put a case in a campaign (idempotent)."""
    _check_manager(actor)
    campaign = await _campaign(session, actor, campaign_id)
    await _readable_ids(session, actor, [case_id])
    await session.execute(
        insert(CampaignCase)
        .values(campaign_id=campaign.id, case_id=case_id, added_by=actor.user_id)
        .on_conflict_do_nothing()
    )
    await append_audit(
        session,
        actor,
        "campaign.case_added",
        object_type="campaign",
        object_id=campaign.id,
        details={"case_id": str(case_id)},
    )
    return await read(session, actor, campaign.id)


async def remove_case(
    session: AsyncSession, actor: Actor, campaign_id: uuid.UUID, case_id: uuid.UUID
) -> None:
    """Take a case out of a campaign; 404 if it was not in it."""
    _check_manager(actor)
    campaign = await _campaign(session, actor, campaign_id)
    result = await session.execute(
        delete(CampaignCase).where(
            CampaignCase.campaign_id == campaign.id, CampaignCase.case_id == case_id
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("That case is not in this campaign.")
    await append_audit(
        session,
        actor,
        "campaign.case_removed",
        object_type="campaign",
        object_id=campaign.id,
        details={"case_id": str(case_id)},
    )
