"""Keyset pagination: opaque cursors, limits and the list envelope."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, tuple_
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
    stmt: Select[Any],
    page: PageParams,
    *,
    key: tuple[Any, ...],
    parsers: tuple[Callable[[Any], Any], ...],
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """Run one page of `stmt` ordered by `key`, resuming after the page's cursor."""
    if page.after:
        after = read_cursor(page.after, *parsers)
        stmt = stmt.where(tuple_(*key) < after if descending else tuple_(*key) > after)
    order = [k.desc() if descending else k.asc() for k in key]
    rows = list((await session.scalars(stmt.order_by(*order).limit(page.limit + 1))).all())
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    last = rows[-1]
    values = [getattr(last, column.key) for column in key]
    return rows, encode_cursor(
        [v.isoformat() if hasattr(v, "isoformat") else str(v) for v in values]
    )
