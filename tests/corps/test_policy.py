"""Capabilities are named once; routes and services ask them, and a 403 names who may."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from corps.auth.actor import Role
from corps.auth.policy import (
    can_manage_layers,
    manages_campaigns,
    manages_taxonomy,
    reads_corps_wide,
    records_cases,
)
from corps.settings import Settings
from testing.factories import make_person


@pytest.mark.parametrize("role", list(Role))
def test_the_capabilities_follow_the_roles_table(role: Role) -> None:
    corps_wide = role in (Role.coordinator, Role.admin)
    assert reads_corps_wide(role) is corps_wide
    assert can_manage_layers(role) is corps_wide
    assert manages_campaigns(role) is corps_wide
    assert manages_taxonomy(role) is corps_wide
    assert records_cases(role) is (role in (Role.paralegal, Role.org_admin, Role.admin))


async def test_a_route_refuses_a_role_without_the_capability_and_names_who_may(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    campaigner = await make_person(db, settings, "campaigner")
    body = {"code": "policy_probe", "label": "Policy probe"}
    refused = await client.post("/api/v1/issue-types", json=body, headers=campaigner.headers)
    assert refused.status_code == 403
    assert (
        refused.json()["detail"] == "Managing the issue types needs the admin or coordinator role."
    )
