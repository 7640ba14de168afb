"""ej_search_ids reads the search indexes as the schema owner: it must answer only what the
viewer could select from the view of a case itself."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from corps.settings import Settings
from corps.viewer import Viewer
from testing.factories import make_case, make_person, viewer_of
from tests.privacy.conftest import name_viewer

# A second connection (the service's role) must read what the test made: committed.
pytestmark = pytest.mark.committed

SEARCH = text("SELECT ej_search_ids('internal', websearch_to_tsquery('simple', :q), 1000)")


async def _ids(engine: AsyncEngine, viewer: Viewer | None, q: str) -> list[uuid.UUID] | None:
    async with engine.connect() as conn:
        await name_viewer(conn, viewer)
        found = await conn.scalar(SEARCH, {"q": q})
        return None if found is None else [uuid.UUID(str(i)) for i in found]


async def test_search_ids_find_only_what_the_viewer_may_read_as_it_is_shown(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, service_engine: AsyncEngine
) -> None:
    owner = await make_person(db, settings, "paralegal")
    stranger = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    word = f"Quxpalm{uuid.uuid4().hex[:8]}"
    case = await make_case(
        client, owner, sensitivity="high_risk", title=f"Fence at {word}", place_name=word
    )
    mine = uuid.UUID(str(case["id"]))
    assert await _ids(service_engine, viewer_of(owner), word) == [mine]
    # another organization's paralegal reads none of it; a coordinator is shown the case
    # generalized, without the title and place that hold the word; no viewer sees nothing
    assert await _ids(service_engine, viewer_of(stranger), word) == []
    assert await _ids(service_engine, viewer_of(coordinator), word) == []
    assert await _ids(service_engine, None, word) == []
