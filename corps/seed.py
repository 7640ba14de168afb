"""Idempotent demo data: the secretariat, fifty organizations and one user per role."""

from __future__ import annotations

from typing import TypedDict

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cases.seed import seed_cases
from corps.auth.passwords import hash_password
from corps.db import standalone_session
from corps.demo_data import DEMO_PASSWORD, DEMO_USERS, SECRETARIAT, demo_organizations
from corps.members.models import User
from corps.organizations.models import Organization


class SeedSummary(TypedDict):
    """What seed-demo left in the database."""

    organizations: int
    users: list[tuple[str, str]]
    cases: int


async def seed_organizations(session: AsyncSession) -> dict[str, Organization]:
    """Insert the demo organizations that are missing; return all of them by slug."""
    rows = [SECRETARIAT, *demo_organizations()]
    await session.execute(insert(Organization).values(rows).on_conflict_do_nothing())
    orgs = await session.scalars(
        select(Organization).where(Organization.slug.in_([r["slug"] for r in rows]))
    )
    return {org.slug: org for org in orgs}


async def seed_users(session: AsyncSession, orgs: dict[str, Organization]) -> list[tuple[str, str]]:
    """Insert one demo user per role where missing; return (role, email) pairs."""
    password_hash = hash_password(DEMO_PASSWORD)
    created = []
    for role, email, name, slug in DEMO_USERS:
        exists = await session.scalar(select(User.id).where(func.lower(User.email) == email))
        if not exists:
            session.add(
                User(
                    email=email,
                    name=name,
                    password_hash=password_hash,
                    role=role,
                    organization_id=orgs[slug].id,
                )
            )
        created.append((role, email))
    await session.flush()
    return created


async def run_seed(*, cases: int) -> SeedSummary:
    """Seed everything the demo needs; safe to run again."""
    async with standalone_session() as session:
        orgs = await seed_organizations(session)
        users = await seed_users(session, orgs)
    async with standalone_session() as session:
        case_count = await seed_cases(session, orgs, total=cases)
    return SeedSummary(organizations=len(orgs), users=users, cases=case_count)
