"""User logic: who may manage whom, creation, listing, updates and sign-in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy import Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from corps.audit import append_audit
from corps.auth.actor import Actor, Role
from corps.auth.passwords import (
    hash_password,
    hash_password_off_loop,
    verify_password_off_loop,
)
from corps.auth.policy import ORG_ADMIN_GRANTS
from corps.auth.throttle import SignInThrottle
from corps.auth.tokens import issue_token
from corps.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable
from corps.members.models import User
from corps.members.schemas import TokenResponse, UserCreate, UserUpdate
from corps.organizations.models import Organization
from corps.pagination import Page, PageParams, keyset_page
from corps.settings import Settings
from corps.viewer import Viewer, set_viewer


def visible_users(actor: Actor) -> Select[User]:
    """Users the actor may manage: every user for admins, their organization's for org_admins."""
    stmt = select(User)
    if actor.role == Role.admin:
        return stmt
    if actor.role == Role.org_admin:
        return stmt.where(User.organization_id == actor.organization_id)
    raise Forbidden("Managing users needs the admin or org_admin role.")


def _check_grant(actor: Actor, role: Role) -> None:
    if actor.role == Role.org_admin and role not in ORG_ADMIN_GRANTS:
        raise Forbidden("An org_admin may only give the paralegal or org_admin role.")


async def create(session: AsyncSession, actor: Actor, body: UserCreate) -> User:
    """Create a user in the actor's organization (admins may choose any)."""
    visible_users(actor)
    _check_grant(actor, body.role)
    organization_id = body.organization_id or actor.organization_id
    if actor.role != Role.admin and organization_id != actor.organization_id:
        raise NotFound("No such organization.")
    if await session.get(Organization, organization_id) is None:
        raise NotFound("No such organization.")
    email = str(body.email).strip()
    taken = await organization_of_email(session, email)
    if taken is not None:
        if actor.role == Role.admin or taken == actor.organization_id:
            raise Conflict("A user with this email already exists.")
        # Not confirmed to someone who cannot see the other organization's people.
        msg = "this email cannot be registered by your organization; a corps admin can help"
        raise Unprocessable(
            f"email: {msg}.", extra={"errors": [{"loc": ["body", "email"], "msg": msg}]}
        )
    user = User(
        email=email,
        name=body.name,
        password_hash=await hash_password_off_loop(body.password),
        role=body.role.value,
        organization_id=organization_id,
    )
    session.add(user)
    await session.flush()
    await append_audit(
        session,
        actor,
        "user.created",
        object_type="user",
        object_id=user.id,
        details={"role": user.role, "organization_id": str(organization_id)},
    )
    return user


async def get_visible(session: AsyncSession, actor: Actor, user_id: uuid.UUID) -> User:
    """Read one user the actor may manage, or 404."""
    user = await session.scalar(visible_users(actor).where(User.id == user_id))
    if user is None:
        raise NotFound("No such user.")
    return user


async def list_page(session: AsyncSession, actor: Actor, page: PageParams) -> Page[User]:
    """One page of the users the actor may manage."""
    return await keyset_page(
        session,
        visible_users(actor),
        page,
        key=(User.created_at, User.id),
        parsers=(datetime.fromisoformat, uuid.UUID),
    )


async def update(session: AsyncSession, actor: Actor, user_id: uuid.UUID, body: UserUpdate) -> User:
    """Change a user's name, role, password or active flag."""
    user = await get_visible(session, actor, user_id)
    if actor.role == Role.org_admin and Role(user.role) not in ORG_ADMIN_GRANTS:
        raise Forbidden("An org_admin may not change a corps-level user.")
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    revokes = False
    if "role" in changes:
        _check_grant(actor, body.role or Role(user.role))
        revokes = user.role != Role(changes["role"]).value
        user.role = Role(changes["role"]).value
    if "name" in changes:
        user.name = changes["name"]
    if "active" in changes:
        if user.id == actor.user_id and not changes["active"]:
            raise Conflict("You cannot deactivate yourself.")
        revokes = revokes or (user.active and not changes["active"])
        user.active = changes["active"]
    if "password" in changes:
        user.password_hash = await hash_password_off_loop(changes["password"])
        revokes = True
    if revokes:  # every token and session issued before now stops working
        user.credentials_changed_at = datetime.now(UTC)
    await session.flush()
    await append_audit(
        session,
        actor,
        "user.updated",
        object_type="user",
        object_id=user.id,
        details={"fields": sorted(changes)},
    )
    return user


async def user_for_email(session: AsyncSession, email: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The id and organization of the user an email names, in any organization.

    Through a definer function: sign-in and taken emails must look across organizations,
    which row-level security hides.
    """
    row = (
        await session.execute(
            text("SELECT id, organization_id FROM ej_user_for_email(:email)"), {"email": email}
        )
    ).first()
    return (row.id, row.organization_id) if row else None


async def organization_of_email(session: AsyncSession, email: str) -> uuid.UUID | None:
    """The organization of the user an email names, if any."""
    found = await user_for_email(session, email)
    return found[1] if found else None


async def authenticate(
    session: AsyncSession,
    redis: Redis,
    settings: Settings,
    *,
    email: str,
    password: str,
    client: str,
) -> TokenResponse:
    """Exchange email and password for a token; the same 401 for unknown email and bad password.

    Sign-in is the one service that commits: it holds no connection while Argon2 runs, and a
    failure's audit entry is committed on the request's own connection, not a second one.
    """
    throttle = SignInThrottle(redis, settings, email=email, client=client)
    await throttle.admit()
    found = await user_for_email(session, email.strip())
    await set_viewer(session, Viewer.signing_in(found[0] if found else None))
    user = await session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    await session.commit()  # give the connection back while the password is checked
    ok = await verify_password_off_loop(password, user.password_hash if user else None)
    if not ok or user is None or not user.active:
        await throttle.failed()
        await append_audit(
            session,
            None,
            "auth.login_failed",
            object_type="user",
            object_id=user.id if user else None,
            details={"known_user": user is not None, "attempt": throttle.attempt},
        )
        await session.commit()
        raise Unauthorized("Wrong email or password.", headers={"WWW-Authenticate": "Bearer"})
    await throttle.succeeded()
    token, lifetime = issue_token(settings, user.id)
    return TokenResponse(access_token=token, expires_in=lifetime)


async def create_from_cli(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    role: Role,
    organization_slug: str,
    name: str,
) -> uuid.UUID:
    """Create a user from the command line (no actor); raise ValueError on bad input."""
    org = await session.scalar(select(Organization).where(Organization.slug == organization_slug))
    if org is None:
        raise ValueError(
            f"no organization with slug {organization_slug!r} "
            "(corps init makes 'corps'; corps create-organization makes others)"
        )
    try:
        body = UserCreate(
            email=email, name=name, password=password, role=role, organization_id=org.id
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        raise ValueError(f"{field}: {error['msg']}") from exc
    if await session.scalar(select(User.id).where(func.lower(User.email) == email.lower())):
        raise ValueError(f"a user with email {email!r} already exists")
    user = User(
        email=str(body.email),
        name=body.name,
        password_hash=hash_password(password),
        role=role.value,
        organization_id=org.id,
    )
    session.add(user)
    await session.flush()
    await append_audit(
        session,
        None,
        "user.created",
        object_type="user",
        object_id=user.id,
        details={"role": user.role, "via": "cli"},
    )
    return user.id


async def change_own_password(
    session: AsyncSession, actor: Actor, *, current_password: str, new_password: str
) -> User:
    """Change the actor's own password after checking the current one (403 when wrong)."""
    user = await session.get(User, actor.user_id)
    if user is None or not await verify_password_off_loop(current_password, user.password_hash):
        raise Forbidden("The current password is wrong.")
    if current_password == new_password:
        raise Conflict("The new password must differ from the current one.")
    user.password_hash = await hash_password_off_loop(new_password)
    user.credentials_changed_at = datetime.now(UTC)  # other sessions and tokens end
    await session.flush()
    await append_audit(
        session,
        actor,
        "user.updated",
        object_type="user",
        object_id=user.id,
        details={"fields": ["password"], "by": "self"},
    )
    return user
