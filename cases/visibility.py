"""Which cases an actor may read: the one place tenant rules for cases live."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, column, false, select, table, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from cases.models import Case
from corps.auth.actor import Actor, Role
from corps.auth.policy import reads_corps_wide, reads_own_organization, records_cases
from corps.errors import Forbidden, NotFound

# Campaign membership (cases/advocacy/models.py owns the table), named by SQL: advocacy builds
# on this module, so this module must not import advocacy.
CAMPAIGN_CASES = table("campaign_cases", column("case_id"))


def case_visibility(actor: Actor, case: Any = Case) -> ColumnElement[bool]:
    """The WHERE clause that limits `case` rows to what the actor may read (archived: none)."""
    live = case.archived_at.is_(None)
    if reads_corps_wide(actor):
        return live & true()
    if reads_own_organization(actor):
        return live & (case.organization_id == actor.organization_id)
    if actor.role == Role.campaigner:
        # An alias, so that inside a query joining campaign_cases (a campaign's own page)
        # the subquery keeps its FROM instead of correlating it away.
        member = CAMPAIGN_CASES.alias()
        in_a_campaign = select(member.c.case_id).where(member.c.case_id == case.id)
        return live & in_a_campaign.exists()
    return live & false()


def visible_cases(actor: Actor) -> Select[Case]:
    """Cases the actor may read."""
    return select(Case).where(case_visibility(actor))


def can_edit(actor: Actor, case: Case) -> bool:
    """Whether the actor may change a case it can already read."""
    if actor.role == Role.admin:
        return True
    return records_cases(actor) and case.organization_id == actor.organization_id


async def readable_case(session: AsyncSession, actor: Actor, case_id: uuid.UUID) -> Case:
    """A case the actor may read, or 404."""
    case = await session.scalar(visible_cases(actor).where(Case.id == case_id))
    if case is None:
        raise NotFound("No such case.")
    return case


async def editable_case(session: AsyncSession, actor: Actor, case_id: uuid.UUID) -> Case:
    """A case the actor may change, locked for the transaction; 404 if unseen, 403 if read-only."""
    case = await session.scalar(
        visible_cases(actor).where(Case.id == case_id).with_for_update(of=Case, key_share=True)
    )
    if case is None:
        raise NotFound("No such case.")
    if not can_edit(actor, case):
        raise Forbidden("Only the case's own organization can change it.")
    return case
