"""Searching the case list: keyset pages over matches, and search beside other filters."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import make_case, make_person


async def pages(
    client: httpx.AsyncClient, headers: dict[str, str], **params: object
) -> list[list[str]]:
    out: list[list[str]] = []
    cursor = None
    while True:
        query = params | ({"cursor": cursor} if cursor else {})
        response = await client.get("/api/v1/cases", params=query, headers=headers)
        assert response.status_code == 200, response.text
        out.append([c["id"] for c in response.json()["items"]])
        cursor = response.json()["next_cursor"]
        if not cursor:
            return out


async def test_search_pages_are_the_lists_matches_in_order_without_repeats_or_gaps(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    word = f"Quxseep{uuid.uuid4().hex[:8]}"
    for n in range(12):
        title = f"Seepage {word} {n}" if n % 3 else f"Unrelated case {n}"
        await make_case(client, paralegal, title=title)
    h = paralegal.headers
    listed = [i for page in await pages(client, h, limit=500) for i in page]
    matching = await pages(client, h, limit=500, q=word)
    assert len(matching) == 1 and len(matching[0]) == 8
    assert matching[0] == [i for i in listed if i in set(matching[0])]  # the list's order
    for limit in (1, 3, 8):
        paged = await pages(client, h, limit=limit, q=word)
        assert [i for page in paged for i in page] == matching[0]
        assert all(len(page) <= limit for page in paged)


async def test_search_with_other_filters_finds_matches_beyond_the_first_ones(
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Beside other filters the list asks for the first matches and filters them; when too few
    # pass, it must go on past them (here after one match, as if a word matched thousands).
    monkeypatch.setattr("cases.search.SEARCH_PREFIX", 1)
    older_org = await make_person(db, settings, "paralegal")
    newer_org = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    word = f"Quxslag{uuid.uuid4().hex[:8]}"
    wanted = [(await make_case(client, older_org, title=f"Slag {word}"))["id"] for _ in range(2)]
    for _ in range(3):
        await make_case(client, newer_org, title=f"Slag heap {word}")
    h = coordinator.headers
    by_org = {"q": word, "organization_id": str(older_org.organization_id)}
    found = await pages(client, h, limit=1, **by_org)
    assert sorted(i for page in found for i in page) == sorted(wanted)
    assert sorted(i for page in await pages(client, h, limit=5, **by_org) for i in page) == sorted(
        wanted
    )
