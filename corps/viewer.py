"""The viewer of a transaction: whom PostgreSQL's row-level security shows rows to.

Every transaction names its viewer in three transaction-local settings before its first
query (`ej.viewer_user`, `ej.viewer_org`, `ej.viewer_role`); the policies of migration 0010
read them. A session carries its viewer in `session.info["viewer"]`, set by the auth
dependency for a request, by the worker for a job (the requester's, or a named system
viewer) and by the command line (a system viewer). A session without one sees no row.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

SYSTEM = "system"
SIGN_IN = "sign_in"
SET_VIEWER = text(
    "SELECT set_config('ej.viewer_user', :user, true), "
    "set_config('ej.viewer_org', :org, true), "
    "set_config('ej.viewer_role', :role, true)"
)


class ActorLike(Protocol):
    """Anything with a user, an organization and a role: a signed-in actor."""

    @property
    def user_id(self) -> uuid.UUID: ...

    @property
    def organization_id(self) -> uuid.UUID: ...

    @property
    def role(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who a transaction reads for: a user of a role and organization, or a named system job."""

    role: str
    user_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    name: str | None = None

    @classmethod
    def of(cls, actor: ActorLike) -> Viewer:
        """The viewer of a signed-in actor."""
        return cls(
            role=str(getattr(actor.role, "value", actor.role)),
            user_id=actor.user_id,
            organization_id=actor.organization_id,
        )

    @classmethod
    def system(cls, name: str) -> Viewer:
        """A corps-wide viewer for work no user asked for (sweeps, recomputations, the CLI)."""
        return cls(role=SYSTEM, name=name)

    @classmethod
    def signing_in(cls, user_id: uuid.UUID | None) -> Viewer:
        """Before a user is known: sees that user's own row and nothing else."""
        return cls(role=SIGN_IN, user_id=user_id)

    @property
    def is_system(self) -> bool:
        """Whether this is a system viewer."""
        return self.role == SYSTEM

    def label(self) -> str:
        """How the audit log names the viewer."""
        return f"system:{self.name}" if self.is_system else f"{self.role}:{self.user_id}"

    def to_json(self) -> dict[str, str | None]:
        """A JSON form, to travel with a queued job."""
        return {
            "role": self.role,
            "user_id": str(self.user_id) if self.user_id else None,
            "organization_id": str(self.organization_id) if self.organization_id else None,
            "name": self.name,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Viewer:
        """The viewer a job was queued with."""
        return cls(
            role=str(data["role"]),
            user_id=uuid.UUID(data["user_id"]) if data.get("user_id") else None,
            organization_id=(
                uuid.UUID(data["organization_id"]) if data.get("organization_id") else None
            ),
            name=data.get("name"),
        )


# The viewer of the running job or script, for sessions that were not given their own.
_ambient: ContextVar[Viewer | None] = ContextVar("ej_viewer", default=None)


def viewer_of(session: AsyncSession | Session) -> Viewer | None:
    """The viewer a session's transactions run as, if any."""
    return session.info.get("viewer") or _ambient.get()


def _params(viewer: Viewer | None) -> dict[str, str]:
    if viewer is None:
        return {"user": "", "org": "", "role": ""}
    return {
        "user": str(viewer.user_id) if viewer.user_id else "",
        "org": str(viewer.organization_id) if viewer.organization_id else "",
        "role": viewer.role,
    }


@event.listens_for(Session, "after_begin")
def _name_viewer(session: Session, _tx: SessionTransaction, connection: Connection) -> None:
    viewer = viewer_of(session)
    if viewer is not None:
        connection.execute(SET_VIEWER, _params(viewer))


async def set_viewer(session: AsyncSession, viewer: Viewer | None) -> None:
    """Make `viewer` the session's viewer, from now on and for its later transactions."""
    if viewer is None:
        session.info.pop("viewer", None)
    else:
        session.info["viewer"] = viewer
    if session.in_transaction():
        await session.execute(SET_VIEWER, _params(viewer))


async def name_viewer(conn: AsyncConnection, viewer: Viewer | None = None) -> None:
    """Name the viewer (or the ambient one) on a bare connection outside any session."""
    await conn.execute(SET_VIEWER, _params(viewer or _ambient.get()))


def adopt_viewer(session: AsyncSession, viewer: Viewer) -> None:
    """Record a viewer the database has already named in the current transaction
    (`ej_sign_in_as`), so the session's later transactions name it too."""
    session.info["viewer"] = viewer


@asynccontextmanager
async def as_system(session: AsyncSession, name: str) -> AsyncIterator[Viewer]:
    """Run a block corps-wide under a named system viewer, then restore the session's own."""
    before = session.info.get("viewer")
    system = Viewer.system(name)
    await set_viewer(session, system)
    try:
        yield system
    finally:
        await set_viewer(session, before or _ambient.get())


@contextmanager
def acting_as(viewer: Viewer | None) -> Iterator[None]:
    """The viewer of sessions opened in this block (and tasks it starts) without their own."""
    token = _ambient.set(viewer)
    try:
        yield
    finally:
        _ambient.reset(token)
