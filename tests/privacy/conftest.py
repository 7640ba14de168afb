"""What the privacy tests share: the service's own connection (name viewers with corps.viewer)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from corps.settings import Settings


@pytest.fixture
async def service_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine of the service's own role (ejcorps_app), as `corps serve` connects."""
    engine = create_async_engine(settings.database_url)
    yield engine
    await engine.dispose()
