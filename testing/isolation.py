"""One transaction per test, rolled back at its end: nothing a test makes outlives it.

A test opens one connection, as the schema owner, and begins a transaction on it. Every
session of the test joins that transaction as a savepoint (SQLAlchemy's
`join_transaction_mode="create_savepoint"`), the app's and the factories' alike, so a
`commit()` releases a savepoint and the final rollback undoes it all.

Row-level security must still mean what it means: each session of the app, on beginning,
becomes the service role (`SET LOCAL ROLE ejcorps_app`) and each factory session the owner,
and both start with no viewer; the app's own `after_begin` listener (corps.viewer) names
its viewer right after. A released savepoint keeps its SET LOCALs until the transaction
ends, so when a session's transaction ends the role and viewer of before are put back: a
factory session around a request goes on as the owner, not as whoever looked last.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

ROLE_KEY = "ej_test_role"  # session.info: the role a joined session acts as
BEFORE_KEY = "ej_test_before"  # session.info: who was looking when its transaction began
OWNER = "NONE"  # SET ROLE NONE: back to the role the connection logged in as, the owner
FORGET_VIEWER = text(
    "SELECT set_config('ej.viewer_user', '', true), set_config('ej.viewer_org', '', true), "
    "set_config('ej.viewer_role', '', true)"
)
WHO = text(
    "SELECT current_user, coalesce(current_setting('ej.viewer_user', true), ''), "
    "coalesce(current_setting('ej.viewer_org', true), ''), "
    "coalesce(current_setting('ej.viewer_role', true), '')"
)
RESTORE_VIEWER = text(
    "SELECT set_config('ej.viewer_user', :user, true), set_config('ej.viewer_org', :org, true), "
    "set_config('ej.viewer_role', :role, true)"
)


def _set_role(connection: Connection | AsyncConnection, role: str) -> Any:
    quoted = role if role == OWNER else '"' + role.replace('"', '""') + '"'
    return connection.execute(text(f"SET LOCAL ROLE {quoted}"))


@event.listens_for(Session, "after_begin", insert=True)
def _become(session: Session, tx: SessionTransaction, connection: Connection) -> None:
    role = session.info.get(ROLE_KEY)
    if role is None:
        return
    # A released savepoint keeps its SET LOCALs: remember what to put back when this ends.
    session.info[BEFORE_KEY] = (tx, connection, tuple(connection.execute(WHO).one()))
    _set_role(connection, role)
    connection.execute(FORGET_VIEWER)


@event.listens_for(Session, "after_transaction_end")
def _restore(session: Session, tx: SessionTransaction) -> None:
    before = session.info.get(BEFORE_KEY)
    if before is None or before[0] is not tx:
        return
    del session.info[BEFORE_KEY]
    _, connection, (user, *viewer) = before
    if connection.closed or not connection.in_transaction():
        return
    _set_role(connection, user)
    connection.execute(RESTORE_VIEWER, dict(zip(("user", "org", "role"), viewer, strict=True)))


def joined_sessionmaker(conn: AsyncConnection, role: str) -> async_sessionmaker[AsyncSession]:
    """Sessions that join the test's transaction as savepoints and act as `role`."""
    return async_sessionmaker(
        bind=conn,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        autoflush=False,
        info={ROLE_KEY: role},
    )


class JoinedEngine:
    """Stands in for an AsyncEngine: `connect()` is the test's connection, in a savepoint.

    Code that streams from a connection of its own (exports) then reads the test's rows; the
    savepoint is rolled back after, so what it set (role, viewer) does not outlive it.
    """

    def __init__(self, conn: AsyncConnection, role: str) -> None:
        self.conn = conn
        self.role = role

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """The test's connection, as this engine's role, until the block ends."""
        savepoint = await self.conn.begin_nested()
        try:
            await _set_role(self.conn, self.role)
            await self.conn.execute(FORGET_VIEWER)
            yield self.conn
        finally:
            if savepoint.is_active:
                await savepoint.rollback()

    async def dispose(self) -> None:
        """Nothing to close: the test's fixture owns the connection."""
