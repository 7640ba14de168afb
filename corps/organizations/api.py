"""Organization routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from corps.auth.actor import CurrentActor
from corps.auth.policy import OrgManager
from corps.db import SessionDep
from corps.organizations import service
from corps.organizations.schemas import OrganizationCreate, OrganizationRead, OrganizationUpdate
from corps.pagination import Page, PageDep

router = APIRouter(prefix="/api/v1/organizations", tags=["organizations"])


@router.post("", status_code=201)
async def create_organization(
    body: OrganizationCreate, session: SessionDep, actor: OrgManager
) -> OrganizationRead:
    """Create an organization (admin, coordinator)."""
    return OrganizationRead.model_validate(await service.create(session, actor, body))


@router.get("")
async def list_organizations(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
) -> Page[OrganizationRead]:
    """List the corps' organizations."""
    found = await service.list_page(session, page, country=country)
    return Page(
        items=[OrganizationRead.model_validate(o) for o in found.items],
        next_cursor=found.next_cursor,
    )


@router.get("/{organization_id}")
async def get_organization(
    organization_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> OrganizationRead:
    """Read one organization."""
    return OrganizationRead.model_validate(await service.get(session, organization_id))


@router.patch("/{organization_id}")
async def update_organization(
    organization_id: uuid.UUID, body: OrganizationUpdate, session: SessionDep, actor: OrgManager
) -> OrganizationRead:
    """Change an organization (admin, coordinator)."""
    organization = await service.update(session, actor, organization_id, body)
    return OrganizationRead.model_validate(organization)
