"""The coordinator-managed vocabulary of issue types."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import IssueType
from cases.schemas import IssueTypeCreate
from corps.audit import append_audit
from corps.auth.actor import Actor
from corps.errors import Conflict


async def list_all(session: AsyncSession) -> list[IssueType]:
    """Every issue type, active ones first."""
    return list(
        await session.scalars(select(IssueType).order_by(IssueType.active.desc(), IssueType.code))
    )


async def create(session: AsyncSession, actor: Actor, body: IssueTypeCreate) -> IssueType:
    """Add an issue type; an existing code is a 409."""
    if await session.get(IssueType, body.code):
        raise Conflict(f"The issue type {body.code!r} exists.")
    family = body.family or body.code  # alone, it still groups its own cases
    issue_type = IssueType(code=body.code, label=body.label, active=True, family=family)
    session.add(issue_type)
    await session.flush()
    await append_audit(
        session, actor, "issue_type.created", object_type="issue_type", object_id=body.code
    )
    return issue_type
