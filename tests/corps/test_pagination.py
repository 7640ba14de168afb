"""The one keyset helper and PageDep: bounds, crafted cursors, row and entity selects, inserts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import DateTime, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from corps.errors import Unprocessable, install_problem_handlers
from corps.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    PageDep,
    PageParams,
    decode_cursor,
    encode_cursor,
    keyset_page,
)

START = datetime(2026, 1, 1, tzinfo=UTC)


class _Base(DeclarativeBase):
    pass


class Probe(_Base):
    """A row of a temporary table that lives only inside one test's transaction."""

    __tablename__ = "pagination_probe"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


KEY = (Probe.created_at, Probe.id)
PARSERS = (datetime.fromisoformat, uuid.UUID)


@pytest.fixture
async def probes(db: AsyncSession) -> AsyncIterator[AsyncSession]:
    """A session with an empty probe table, all of it rolled back at the end."""
    await db.execute(
        text(
            "CREATE TEMPORARY TABLE pagination_probe "
            "(id uuid PRIMARY KEY, created_at timestamptz NOT NULL) ON COMMIT DROP"
        )
    )
    yield db
    await db.rollback()


async def _add(session: AsyncSession, *minutes: int) -> list[Probe]:
    rows = [Probe(created_at=START + timedelta(minutes=m)) for m in minutes]
    session.add_all(rows)
    await session.flush()
    return rows


async def _walk(session: AsyncSession, stmt: Any, limit: int, **kw: Any) -> list[list[Any]]:
    pages, after = [], None
    while True:
        page = await keyset_page(
            session, stmt, PageParams(limit=limit, after=after), key=KEY, parsers=PARSERS, **kw
        )
        pages.append(page.items)
        if page.next_cursor is None:
            return pages
        after = decode_cursor(page.next_cursor)


async def test_an_entity_select_pages_its_objects_in_key_order(probes: AsyncSession) -> None:
    rows = await _add(probes, 5, 1, 3, 2, 4, 7, 6)
    pages = await _walk(probes, select(Probe), 3)
    assert [len(p) for p in pages] == [3, 3, 1]
    by_time = sorted(rows, key=lambda r: (r.created_at, r.id))
    assert [r.id for p in pages for r in p] == [r.id for r in by_time]


async def test_a_row_select_pages_rows_and_maps_each_with_item(probes: AsyncSession) -> None:
    rows = await _add(probes, 1, 2, 3, 4, 5)
    stmt = select(Probe.id, Probe.created_at, literal("x").label("tag"))
    pages = await _walk(probes, stmt, 2, descending=True, item=lambda row: (row.id, row.tag))
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i, _ in p] == [r.id for r in reversed(rows)]
    assert {tag for p in pages for _, tag in p} == {"x"}


async def test_a_key_inside_an_entity_of_a_row_makes_the_cursor(probes: AsyncSession) -> None:
    rows = await _add(probes, 1, 2, 3)
    stmt = select(Probe, literal(True).label("generalized"))
    pages = await _walk(probes, stmt, 2, item=lambda row: (row[0].id, row[1]))
    assert [i for p in pages for i, _ in p] == [r.id for r in rows]
    assert all(flag is True for p in pages for _, flag in p)


async def test_a_list_is_stable_while_rows_arrive(probes: AsyncSession) -> None:
    rows = await _add(probes, 10, 20, 30, 40)
    first = await keyset_page(
        probes,
        select(Probe),
        PageParams(limit=2, after=None),
        key=KEY,
        parsers=PARSERS,
        descending=True,
    )
    assert [r.id for r in first.items] == [rows[3].id, rows[2].id]
    newest, oldest = await _add(probes, 50, 0)  # one before the cursor, one after it
    assert first.next_cursor is not None
    rest = await keyset_page(
        probes,
        select(Probe),
        PageParams(limit=10, after=decode_cursor(first.next_cursor)),
        key=KEY,
        parsers=PARSERS,
        descending=True,
    )
    assert [r.id for r in rest.items] == [rows[1].id, rows[0].id, oldest.id]
    assert newest.id not in {r.id for r in rest.items}
    assert rest.next_cursor is None


async def test_an_exact_last_page_has_no_next_cursor(probes: AsyncSession) -> None:
    await _add(probes, 1, 2)
    page = await keyset_page(
        probes, select(Probe), PageParams(limit=2, after=None), key=KEY, parsers=PARSERS
    )
    assert len(page.items) == 2 and page.next_cursor is None


@pytest.mark.parametrize(
    "after",
    [
        ["2026-01-01T00:00:00+00:00"],  # too short for the key
        ["2026-01-01T00:00:00+00:00", "not-a-uuid"],
        ["yesterday", str(uuid.uuid4())],
        [{"a": 1}, [1]],
    ],
)
async def test_a_crafted_cursor_is_refused(probes: AsyncSession, after: list[Any]) -> None:
    with pytest.raises(Unprocessable):
        await keyset_page(
            probes, select(Probe), PageParams(limit=5, after=after), key=KEY, parsers=PARSERS
        )


def _page_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/things", response_model=Page[int])
    async def things(page: PageDep) -> Page[int]:
        return Page(items=[page.limit], next_cursor=encode_cursor(page.after or []))

    return app


@pytest.fixture
async def page_client() -> AsyncIterator[httpx.AsyncClient]:
    """A client for a one-route app that only reads PageDep."""
    transport = httpx.ASGITransport(app=_page_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_page_dep_defaults_to_fifty(page_client: httpx.AsyncClient) -> None:
    answer = await page_client.get("/things")
    assert answer.status_code == 200
    assert answer.json()["items"] == [DEFAULT_LIMIT] == [50]


@pytest.mark.parametrize(("limit", "status"), [(1, 200), (MAX_LIMIT, 200), (0, 422), (501, 422)])
async def test_page_dep_bounds_the_limit(
    page_client: httpx.AsyncClient, limit: int, status: int
) -> None:
    answer = await page_client.get("/things", params={"limit": limit})
    assert answer.status_code == status
    if status == 422:
        assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGEgbGlzdA", "x" * 513])
async def test_page_dep_refuses_a_cursor_it_did_not_make(
    page_client: httpx.AsyncClient, cursor: str
) -> None:
    answer = await page_client.get("/things", params={"cursor": cursor})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"


async def test_page_dep_hands_the_decoded_cursor_on(page_client: httpx.AsyncClient) -> None:
    cursor = encode_cursor(["2026-01-01", "abc"])
    answer = await page_client.get("/things", params={"cursor": cursor})
    assert answer.status_code == 200
    assert decode_cursor(answer.json()["next_cursor"]) == ["2026-01-01", "abc"]
