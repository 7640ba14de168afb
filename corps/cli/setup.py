"""What `corps init` and `corps migrate` do to a database: extensions, schema, first people."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from corps.cli.base import CliError
from corps.cli.database import (
    current_revision,
    ensure_extensions,
    head_revision,
    migration_url,
    owner_connection,
    run_migrations,
    superuser_paragraph,
)
from corps.demo_data import SECRETARIAT
from corps.settings import Settings

SECRETARIAT_SLUG = SECRETARIAT["slug"]


@dataclass
class SchemaReport:
    """What preparing the schema changed."""

    extensions_created: list[str] = field(default_factory=list)
    revision_before: str | None = None
    revision_after: str | None = None

    @property
    def changed(self) -> bool:
        """True when an extension was created or a migration ran."""
        return bool(self.extensions_created) or self.revision_before != self.revision_after


async def _extensions_and_revision(settings: Settings) -> tuple[list[str], str | None]:
    async with owner_connection(settings) as conn:
        extensions = await ensure_extensions(conn)
        if extensions.missing or extensions.unavailable:
            raise CliError(superuser_paragraph(settings, extensions))
        return extensions.created, await current_revision(conn)


def prepare_schema(settings: Settings) -> SchemaReport:
    """Create the extensions the owner may create, refuse with the SQL for the rest, migrate."""
    created, before = asyncio.run(_extensions_and_revision(settings))
    head = head_revision()
    if before != head:
        run_migrations(migration_url(settings))
    return SchemaReport(extensions_created=created, revision_before=before, revision_after=head)


def organization_body(*, name: str, slug: str, country: str, region: str | None) -> Any:
    """A checked OrganizationCreate; a refused field is one line naming it."""
    from corps.organizations.schemas import OrganizationCreate

    try:
        return OrganizationCreate(name=name, slug=slug, country=country, region=region)
    except ValidationError as exc:
        error = exc.errors()[0]
        field_name = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        raise CliError(f"the organization {field_name}: {message}") from exc


async def create_organization(
    session: AsyncSession, *, name: str, slug: str, country: str, region: str | None = None
) -> uuid.UUID:
    """Create an organization from the command line (audited); a taken slug is a CliError."""
    from corps.audit import append_audit
    from corps.organizations.models import Organization

    body = organization_body(name=name, slug=slug, country=country, region=region)
    if await session.scalar(select(Organization.id).where(Organization.slug == body.slug)):
        raise CliError(f"an organization with slug {body.slug!r} already exists")
    organization = Organization(**body.model_dump())
    session.add(organization)
    await session.flush()
    await append_audit(
        session,
        None,
        "organization.created",
        object_type="organization",
        object_id=organization.id,
        details={"slug": organization.slug, "via": "cli"},
    )
    return organization.id


async def ensure_secretariat(session: AsyncSession, *, name: str, country: str) -> bool:
    """Create the corps secretariat organization unless it exists; True when created."""
    from corps.organizations.models import Organization

    exists = await session.scalar(
        select(Organization.id).where(Organization.slug == SECRETARIAT_SLUG)
    )
    if exists:
        return False
    await create_organization(session, name=name, slug=SECRETARIAT_SLUG, country=country)
    return True


async def existing_admin(session: AsyncSession) -> str | None:
    """The email of an active admin, if there is one."""
    from corps.members.models import User

    return await session.scalar(
        select(User.email)
        .where(User.role == "admin", User.active.is_(True))
        .order_by(User.created_at)
        .limit(1)
    )


async def count_people(session: AsyncSession) -> tuple[int, int]:
    """How many organizations and users there are (to say what init changed)."""
    from corps.members.models import User
    from corps.organizations.models import Organization

    organizations = await session.scalar(select(func.count()).select_from(Organization))
    users = await session.scalar(select(func.count()).select_from(User))
    return int(organizations or 0), int(users or 0)
