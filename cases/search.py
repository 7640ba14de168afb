"""Full-text search of the case list through the search indexes, matching what the viewer is shown.

Row level security keeps the search indexes out of the case view's plan (`@@` is not leakproof;
migration 0083), so `ej_search_page` (migration 0095) reads the view as the schema owner for the
ids of the first matches in the list's order, and the list then reads those cases by id under
every policy. The view decides what matches either way; the function only picks the cheaper
way to find them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, Text, Uuid, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from cases.filters import CaseFilters

# With filters besides q, this many first matches are asked for and filtered by the page; when
# fewer than a page of them pass, the page walks the list with the view's own matching instead.
SEARCH_PREFIX = 1000
SEARCH_PAGE = (
    text(
        "SELECT ej_search_page(websearch_to_tsquery('simple', :q), :by_update, "
        ":after_at, :after_id, :want)"
    )
    .bindparams(
        bindparam("q", type_=Text),
        bindparam("by_update", type_=Boolean),
        bindparam("after_at", type_=DateTime(timezone=True)),
        bindparam("after_id", type_=Uuid),
        bindparam("want", type_=Integer),
    )
    .columns(ids=ARRAY(Uuid))
)


@dataclass(frozen=True)
class FirstMatches:
    """The ids of the first matches after the cursor, in the list's order."""

    ids: list[uuid.UUID]
    complete: bool  # the page's cases are all among ids; else they may lie beyond them


async def first_matches(
    session: AsyncSession,
    filters: CaseFilters,
    *,
    limit: int,
    syncing: bool,
    after: tuple[datetime, uuid.UUID] | None,
) -> FirstMatches:
    """The first matches of filters.q the viewer may read, as many as the page needs."""
    alone = filters == CaseFilters(q=filters.q)
    want = limit + 1 if alone else SEARCH_PREFIX + 1
    after_at, after_id = after if after is not None else (None, None)
    ids = await session.scalar(
        SEARCH_PAGE,
        {
            "q": filters.q,
            "by_update": syncing,
            "after_at": after_at,
            "after_id": after_id,
            "want": want,
        },
    )
    found = list(ids or [])
    # q alone: the first limit + 1 matches are the page. Otherwise fewer than asked for are all
    # the matches left, and a full prefix holds the page only if enough of it passes the filters.
    return FirstMatches(found, complete=alone or len(found) < want)
