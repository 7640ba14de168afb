"""What the privacy tests share: the service's own connection, and naming a viewer on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from corps.settings import Settings
from corps.viewer import Viewer

NAME_VIEWER = text(
    "SELECT set_config('ej.viewer_user', :u, true), "
    "set_config('ej.viewer_org', :o, true), set_config('ej.viewer_role', :r, true)"
)


@pytest.fixture
async def service_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine of the service's own role (ejcorps_app), as `corps serve` connects."""
    engine = create_async_engine(settings.database_url)
    yield engine
    await engine.dispose()


async def name_viewer(conn: AsyncConnection, viewer: Viewer | None) -> None:
    """Name the viewer of the connection's transaction, as the service does (None: no one)."""
    if viewer is not None:
        await conn.execute(
            NAME_VIEWER,
            {
                "u": str(viewer.user_id or ""),
                "o": str(viewer.organization_id or ""),
                "r": viewer.role,
            },
        )
