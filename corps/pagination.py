"""Keyset pagination: opaque cursors, limits and the list envelope."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Row, Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from corps.errors import Unprocessable

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# Offsets past this are refused (422): beyond it a number stops being a page and starts being
# an attack on the integer types (6685236466050759917568 does not fit in a bigint).
MAX_OFFSET = 10_000_000


class Page(BaseModel, Generic[T]):
    """A page of a list: its items and the cursor for the next page, if any."""

    items: list[T]
    next_cursor: str | None = None


class PageParams(BaseModel):
    """The limit and the decoded cursor of a list request."""

    limit: int
    after: list[Any] | None


def encode_cursor(values: list[Any]) -> str:
    """Encode a sort key as an opaque URL-safe cursor."""
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """Decode a cursor made by encode_cursor, or raise 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise Unprocessable("The cursor is not one this server made.") from exc
    if not isinstance(values, list):
        raise Unprocessable("The cursor is not one this server made.")
    return values


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> PageParams:
    """Read `limit` and `cursor` from the query string."""
    return PageParams(limit=limit, after=decode_cursor(cursor) if cursor else None)


# A list route's `limit` (1..500, default 50) and `cursor` (422 when not one we made).
PageDep = Annotated[PageParams, Depends(page_params)]


def read_cursor(after: list[Any], *parsers: Callable[[Any], Any]) -> tuple[Any, ...]:
    """Parse a decoded cursor's values with one parser each, or raise 422."""
    if len(after) != len(parsers):
        raise Unprocessable("The cursor does not belong to this list.")
    try:
        values = tuple(parse(value) for parse, value in zip(parsers, after, strict=True))
        return tuple(in_utc(v) if isinstance(v, datetime) else v for v in values)
    except (TypeError, ValueError, OverflowError) as exc:
        raise Unprocessable("The cursor does not belong to this list.") from exc


def in_utc(moment: datetime) -> datetime:
    """The instant in UTC (naive means UTC); ValueError when that falls off the calendar.

    9999-12-31T23:59:59-14:00 is a valid RFC 3339 date-time whose UTC instant is in year
    10000, which neither Python nor the database driver can represent.
    """
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        return aware.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"{moment.isoformat()} is outside the calendar in UTC") from exc


async def keyset_page(
    session: AsyncSession,
    stmt: Select[*tuple[Any, ...]],
    page: PageParams,
    *,
    key: tuple[Any, ...],
    parsers: tuple[Callable[[Any], Any], ...],
    descending: bool = False,
    item: Callable[[Any], T] | None = None,
) -> Page[T]:
    """One page of `stmt` ordered by `key` (a unique tuple), resuming after the page's cursor.

    `stmt` selects one entity (its objects are the rows) or several columns (its rows are
    Row tuples); `item` turns each row into what the page lists. limit + 1 rows tell whether
    there is a next page, so no list ever counts its rows.
    """
    if page.after:
        after = read_cursor(page.after, *parsers)
        stmt = stmt.where(tuple_(*key) < after if descending else tuple_(*key) > after)
    stmt = stmt.order_by(*(k.desc() if descending else k.asc() for k in key)).limit(page.limit + 1)
    rows: list[Any]
    if len(stmt.column_descriptions) == 1:
        rows = list((await session.scalars(stmt)).all())
    else:
        rows = list((await session.execute(stmt)).all())
    cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        cursor = encode_cursor([_cursor_value(rows[-1], column) for column in key])
    items = [item(row) for row in rows] if item else rows
    return Page(items=items, next_cursor=cursor)


def _cursor_value(row: Any, column: Any) -> Any:
    """The row's value of a key column, as the cursor stores it."""
    name = column.key
    if isinstance(row, Row):
        mapping = row._mapping
        if name in mapping:
            value = mapping[name]
        else:  # a column of an entity in the row, such as (Evidence, generalized)
            value = next(getattr(part, name) for part in row if hasattr(part, name))
    else:
        value = getattr(row, name)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
