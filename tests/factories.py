"""Small factories that build real rows, and signed-in people to make requests as."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncSession

from corps.auth.passwords import hash_password
from corps.auth.tokens import issue_token
from corps.members.models import User
from corps.organizations.models import Organization
from corps.settings import Settings

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


@lru_cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


def unique(prefix: str) -> str:
    """A short name unique within the test run."""
    return f"{prefix}{next(_counter)}{uuid.uuid4().hex[:6]}"


@dataclass
class Person:
    """A user of a role with a valid bearer token."""

    id: uuid.UUID
    email: str
    role: str
    organization_id: uuid.UUID
    headers: dict[str, str]


async def make_org(
    db: AsyncSession, *, country: str = "KE", slug: str | None = None
) -> Organization:
    """Create and commit an organization."""
    org = Organization(
        name=f"Org {unique('')}", slug=slug or unique("org-"), country=country, region="Test"
    )
    db.add(org)
    await db.commit()
    return org


async def make_person(
    db: AsyncSession,
    settings: Settings,
    role: str,
    org: Organization | None = None,
    *,
    active: bool = True,
) -> Person:
    """Create a user of `role` (in a new organization unless given) with a token."""
    org = org or await make_org(db)
    email = f"{unique(role)}@example.org"
    user = User(
        email=email,
        name=role.title(),
        password_hash=_password_hash(),
        role=role,
        organization_id=org.id,
        active=active,
    )
    db.add(user)
    await db.commit()
    token, _ = issue_token(settings, user.id)
    return Person(user.id, email, role, org.id, {"Authorization": f"Bearer {token}"})
