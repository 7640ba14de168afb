"""Organization routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from corps.auth.actor import CurrentActor
from corps.auth.policy import OrgManager
from corps.db import SessionDep
from corps.organizations import service
from corps.organizations.schemas import OrganizationCreate, OrganizationRead, OrganizationUpdate
from corps.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/api/v1/organizations", tags=["organizations"])


@router.post("", status_code=201, response_model=OrganizationRead)
async def create_organization(
    body: OrganizationCreate, session: SessionDep, actor: OrgManager
) -> object:
    """Create an organization (admin, coordinator)."""
    return await service.create(session, actor, body)


@router.get("", response_model=Page[OrganizationRead])
async def list_organizations(
    session: SessionDep,
    actor: CurrentActor,
    page: Annotated[PageParams, Depends(page_params)],
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
) -> object:
    """List the corps' organizations."""
    items, next_cursor = await service.list_page(session, page, country=country)
    return {"items": items, "next_cursor": next_cursor}


@router.get("/{organization_id}", response_model=OrganizationRead)
async def get_organization(
    organization_id: uuid.UUID, session: SessionDep, actor: CurrentActor
) -> object:
    """Read one organization."""
    return await service.get(session, organization_id)


@router.patch("/{organization_id}", response_model=OrganizationRead)
async def update_organization(
    organization_id: uuid.UUID, body: OrganizationUpdate, session: SessionDep, actor: OrgManager
) -> object:
    """Change an organization (admin, coordinator)."""
    return await service.update(session, actor, organization_id, body)
