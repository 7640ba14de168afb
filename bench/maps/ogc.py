"""OGC API - Features benchmark: a page of 1,000 items against its own SQL replayed raw."""

from __future__ import annotations

import httpx
import orjson
from starlette.datastructures import URL

from bench.common import Table
from bench.maps.common import Bench, Spread, captured, fetch_ok, interleaved, verdict
from cases.filters import CaseFilters
from maps.features import GEOJSON, ItemsQuery, items_statement

OGC_LIMIT = 1000
ITEMS_TARGET = 1.3


def items_links(base_url: str) -> tuple[list[dict[str, str]], dict[str, str]]:
    """The self and next links the items endpoint builds for ?limit=OGC_LIMIT."""
    url = URL(f"{base_url}/ogc/collections/cases/items?limit={OGC_LIMIT}")
    self_link = {"href": str(url), "rel": "self", "type": GEOJSON, "title": "This page"}
    next_url = url.include_query_params(offset=OGC_LIMIT, limit=OGC_LIMIT)
    return [self_link], {
        "href": str(next_url),
        "rel": "next",
        "type": GEOJSON,
        "title": "Next page",
    }


async def ogc_items(bench: Bench, client: httpx.AsyncClient, table: Table, repeat: int) -> None:
    """OGC items at 1,000 features vs the identical FeatureCollection SQL via asyncpg."""
    links, next_link = items_links(str(client.base_url).rstrip("/"))
    query = ItemsQuery(OGC_LIMIT, 0, None, None, None, CaseFilters())
    raw = await captured(bench.engine, *items_statement(query, links, next_link))
    url = f"/ogc/collections/cases/items?limit={OGC_LIMIT}"
    api_body = orjson.loads(await fetch_ok(client, url))
    raw_body = orjson.loads(await bench.raw.fetchval(raw.sql, *raw.args))
    same = api_body["features"] == raw_body["features"] and api_body["links"] == raw_body["links"]
    api, base = await interleaved(
        lambda: fetch_ok(client, url), lambda: bench.raw.fetchval(raw.sql, *raw.args), repeat
    )
    ratio = Spread.of(api).p50 / Spread.of(base).p50
    table.add(
        f"OGC items, limit={OGC_LIMIT} ({len(api_body['features'])} features)",
        str(Spread.of(api)),
        f"identical SQL via asyncpg: {Spread.of(base)}",
        f"{ratio:.2f}x p50",
        f"<= {ITEMS_TARGET}x p50",
        f"{verdict(ratio, ITEMS_TARGET)}; {repeat} each; "
        f"features and links {'identical' if same else 'DIFFER'}",
    )
