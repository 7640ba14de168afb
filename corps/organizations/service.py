"""Organization logic: create, list, read and update."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from corps.audit import append_audit
from corps.auth.actor import Actor
from corps.errors import Conflict, NotFound
from corps.organizations.models import Organization
from corps.organizations.schemas import OrganizationCreate, OrganizationUpdate
from corps.pagination import Page, PageParams, keyset_page


async def create(session: AsyncSession, actor: Actor, body: OrganizationCreate) -> Organization:
    """Create an organization; a taken slug is a 409."""
    if await session.scalar(select(Organization.id).where(Organization.slug == body.slug)):
        raise Conflict(f"The slug {body.slug!r} is already taken.")
    org = Organization(**body.model_dump())
    session.add(org)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"The slug {body.slug!r} is already taken.") from exc
    await append_audit(
        session,
        actor,
        "organization.created",
        object_type="organization",
        object_id=org.id,
        details={"slug": org.slug},
    )
    return org


async def get(session: AsyncSession, organization_id: uuid.UUID) -> Organization:
    """Read one organization or raise 404."""
    org = await session.get(Organization, organization_id)
    if org is None:
        raise NotFound("No such organization.")
    return org


async def list_page(
    session: AsyncSession, page: PageParams, *, country: str | None = None
) -> Page[Organization]:
    """One page of organizations, oldest first."""
    stmt = select(Organization)
    if country:
        stmt = stmt.where(Organization.country == country.upper())
    return await keyset_page(
        session,
        stmt,
        page,
        key=(Organization.created_at, Organization.id),
        parsers=(datetime.fromisoformat, uuid.UUID),
    )


async def update(
    session: AsyncSession, actor: Actor, organization_id: uuid.UUID, body: OrganizationUpdate
) -> Organization:
    """Change an organization's name, country or region."""
    org = await get(session, organization_id)
    changes = body.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if field in ("name", "country") and value is None:
            continue
        setattr(org, field, value)
    await session.flush()
    await append_audit(
        session,
        actor,
        "organization.updated",
        object_type="organization",
        object_id=org.id,
        details={"fields": sorted(changes)},
    )
    return org
