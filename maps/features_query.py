"""Query parameters of OGC API - Features: bbox, datetime, limit and offset, parsed per the spec."""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from cases.filters import CaseFilters, attribute_filters
from cases.view import BBox
from corps.errors import AppError
from corps.pagination import MAX_OFFSET, in_utc

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class BadRequest(AppError):
    """A query parameter the server cannot process (OGC API - Features answers 400)."""

    status, slug, title = 400, "bad-request", "Bad request"


class OgcRoute(APIRoute):
    """A route whose invalid parameters answer 400 problem+json, as the OGC standard requires."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler so request validation errors become BadRequest."""
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = [
                    {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
                    for e in exc.errors()
                ]
                detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors)
                raise BadRequest(detail or "Invalid parameter.", extra={"errors": errors}) from exc

        return route


def _parse_bbox(raw: str) -> BBox:
    """Read 4 (or 6, height ignored) CRS84 numbers; minx > maxx crosses the antimeridian."""
    try:
        numbers = [float(part) for part in raw.split(",")]
    except ValueError as exc:
        raise BadRequest("bbox must be 4 or 6 comma-separated numbers.") from exc
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise BadRequest("bbox must be 4 or 6 comma-separated numbers.")
    minx, miny, maxx, maxy = numbers
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise BadRequest("bbox is outside CRS84 (longitude, latitude) bounds or has miny > maxy.")
    return minx, miny, maxx, maxy


def _parse_instant(raw: str, *, end: bool) -> datetime:
    """An RFC 3339 date-time (no offset means UTC); a bare date covers that whole day."""
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            if end:
                return datetime.combine(day + timedelta(days=1), time(), UTC) - timedelta.resolution
            return datetime.combine(day, time(), UTC)
        return in_utc(datetime.fromisoformat(raw))
    except ValueError as exc:
        raise BadRequest(f"datetime {raw!r} is not an RFC 3339 date-time in range.") from exc
    except OverflowError as exc:  # a bare date at the calendar's end: 9999-12-31
        raise BadRequest(f"datetime {raw!r} is outside the calendar.") from exc


def _parse_datetime(raw: str) -> tuple[datetime | None, datetime | None]:
    """Read an instant, `a/b`, `../b` or `a/..` (an empty end is open too) into bounds."""
    if "/" not in raw:
        return _parse_instant(raw, end=False), _parse_instant(raw, end=True)
    first, _, second = raw.partition("/")
    start = None if first in ("", "..") else _parse_instant(first, end=False)
    stop = None if second in ("", "..") else _parse_instant(second, end=True)
    if start and stop and start > stop:
        raise BadRequest("datetime interval ends before it starts.")
    return start, stop


@dataclass(frozen=True)
class ItemsQuery:
    """What an items request asks for: paging, bbox, datetime and the case-list filters."""

    limit: int
    offset: int
    bbox: BBox | None
    updated_from: datetime | None
    updated_to: datetime | None
    filters: CaseFilters


async def items_query(
    filters: Annotated[CaseFilters, Depends(attribute_filters)],
    limit: Annotated[
        int,
        Query(
            ge=1,
            description=f"Page size; values above {MAX_LIMIT} are treated as {MAX_LIMIT}.",
            json_schema_extra={"maximum": MAX_LIMIT},
        ),
    ] = DEFAULT_LIMIT,
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description="Features to skip (the next link sets it).")
    ] = 0,
    bbox: Annotated[
        str | None,
        Query(description="minx,miny,maxx,maxy in CRS84 (6 numbers: heights are ignored)."),
    ] = None,
    datetime_: Annotated[
        str | None,
        Query(
            alias="datetime",
            description="RFC 3339 instant or interval (a/b, ../b, a/..), matched against "
            "each case's updated_at (its last change). A bare date means that whole day (UTC).",
        ),
    ] = None,
) -> ItemsQuery:
    """Read the items parameters; limit is clamped to the maximum, not refused."""
    updated_from, updated_to = _parse_datetime(datetime_) if datetime_ else (None, None)
    return ItemsQuery(
        limit=min(limit, MAX_LIMIT),
        offset=offset,
        bbox=_parse_bbox(bbox) if bbox else None,
        updated_from=updated_from,
        updated_to=updated_to,
        filters=filters,
    )
