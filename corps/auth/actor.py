"""The Actor behind a request and the role dependencies routes declare."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from corps.auth.session import session_token
from corps.auth.tokens import check_not_revoked, read_claims
from corps.db import SessionDep, set_viewer
from corps.errors import Unauthorized
from corps.viewer import Viewer, adopt_viewer


class Role(StrEnum):
    """The roles of the contract's section 3."""

    paralegal = "paralegal"
    org_admin = "org_admin"
    coordinator = "coordinator"
    campaigner = "campaigner"
    admin = "admin"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: user, role and organization."""

    user_id: uuid.UUID
    email: str
    role: Role
    organization_id: uuid.UUID


SIGN_IN_AS = text("SELECT * FROM ej_sign_in_as(:user_id)")
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def current_actor(
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Actor:
    """Resolve the bearer token (or the web app's session cookie) to an active user, or 401."""
    token = token or session_token(request)
    if not token:
        raise Unauthorized("Send a bearer token.", headers={"WWW-Authenticate": "Bearer"})
    claims = read_claims(request.app.state.settings, token)
    user = await _sign_in(session, claims.user_id)
    if user is None:
        raise Unauthorized(
            "The access token's user is unknown or deactivated.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.user_id = str(user.id)  # for the request's log line (corps/logs.py)
    check_not_revoked(claims.issued_ms, user.credentials_changed_at)
    actor = Actor(
        user_id=user.id,
        email=user.email,
        role=Role(user.role),
        organization_id=user.organization_id,
    )
    adopt_viewer(session, Viewer.of(actor))  # and every later transaction of the request
    return actor


async def _sign_in(session: AsyncSession, user_id: uuid.UUID) -> Any:
    """The active user's row, named the transaction's viewer by the database in one round trip.

    It is the request's first statement: a pooled connection found dead here (PostgreSQL
    restarted since it was last used) has cost nothing yet, so it is tried once more on a
    fresh one; a second failure is the outage it looks like (503). Its row, not the members'
    model: auth sits below the members package that imports it.
    """
    first = not session.in_transaction()
    try:
        return (await session.execute(SIGN_IN_AS, {"user_id": user_id})).first()
    except DBAPIError as exc:
        if not (first and exc.connection_invalidated):
            raise
    await session.rollback()
    return (await session.execute(SIGN_IN_AS, {"user_id": user_id})).first()


async def view_as(session: AsyncSession | AsyncConnection, actor: Actor) -> None:
    """Make `actor` the viewer of the current transaction (requests, and jobs acting for one)."""
    await set_viewer(
        session, user_id=actor.user_id, organization_id=actor.organization_id, role=actor.role
    )


CurrentActor = Annotated[Actor, Depends(current_actor)]
