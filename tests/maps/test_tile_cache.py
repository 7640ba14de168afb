"""The tile cache: hits come from Redis, and no cached tile outlives a commit that changes it."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import Text, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from cases.filters import CaseFilters
from corps.auth.actor import Actor, Role
from corps.settings import Settings
from maps.driver_sql import driver_scalar
from maps.tile_cache import PREFIX, TOTAL, TileCache, tile_key
from testing.factories import make_case, make_person
from tests.maps.test_tiles import get_tile, tile_of

LON, LAT, Z = 36.81, -1.29, 13


def ids(decoded: dict) -> set[str]:
    """Case ids in a decoded tile's `cases` layer."""
    return {f["properties"]["id"] for f in decoded.get("cases", {}).get("features", [])}


async def test_a_cached_tile_is_served_from_redis_until_a_case_changes(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, app: FastAPI
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    first = await make_case(
        client, paralegal, geometry={"type": "Point", "coordinates": [LON, LAT]}
    )
    assert ids(await get_tile(client, coordinator.headers, Z, LON, LAT)) >= {first["id"]}

    actor = Actor(coordinator.id, coordinator.email, Role.coordinator, coordinator.organization_id)
    x, y = tile_of(LON, LAT, Z)
    key = await tile_key(db, actor, CaseFilters(), z=Z, x=x, y=y)
    assert key is not None and await app.state.arq.exists(key)
    # A hit is the stored bytes, whatever the database holds.
    await app.state.arq.set(key, b"")
    assert await get_tile(client, coordinator.headers, Z, LON, LAT) == {}

    second = await make_case(
        client, paralegal, geometry={"type": "Point", "coordinates": [LON + 0.001, LAT]}
    )
    after_insert = await get_tile(client, coordinator.headers, Z, LON, LAT)
    assert ids(after_insert) >= {first["id"], second["id"]}

    patched = await client.patch(
        f"/api/v1/cases/{second['id']}",
        json={"status": "investigation"},
        headers={**paralegal.headers, "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    statuses = {
        f["properties"]["id"]: f["properties"]["status"]
        for f in (await get_tile(client, coordinator.headers, Z, LON, LAT))["cases"]["features"]
    }
    assert statuses[second["id"]] == "investigation"


async def test_viewers_of_different_scopes_never_share_a_tile(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    mine = await make_person(db, settings, "paralegal")
    other = await make_person(db, settings, "paralegal")
    case = await make_case(
        client, mine, geometry={"type": "Point", "coordinates": [LON, LAT + 0.01]}
    )
    assert case["id"] in ids(await get_tile(client, mine.headers, Z, LON, LAT + 0.01))
    assert case["id"] not in ids(await get_tile(client, other.headers, Z, LON, LAT + 0.01))
    filtered = await get_tile(client, mine.headers, Z, LON, LAT + 0.01, issue_type="fisheries")
    assert case["id"] not in ids(filtered)


async def test_the_cache_keeps_under_its_byte_cap_by_dropping_the_oldest(app: FastAPI) -> None:
    cache = TileCache(app.state.arq, ttl_s=60, cap_bytes=10_000)
    keys = [f"{PREFIX}cap-test-{n}" for n in range(30)]
    for key in keys:
        await cache.put(key, b"x" * 900)  # 30 x 900 bytes against a 10,000-byte cap
    total = int(await app.state.arq.get(TOTAL))
    kept = [key for key in keys if await app.state.arq.exists(key)]
    assert total <= 10_000
    assert kept == keys[-len(kept) :] and len(kept) >= 5  # the newest stay
    assert await cache.get(keys[0]) is None and await cache.get(keys[-1]) == b"x" * 900


async def test_driver_statements_run_in_the_sessions_transaction_as_its_viewer(
    db: AsyncSession,
) -> None:
    await db.execute(text("SELECT set_config('ej.viewer_role', 'coordinator', true)"))
    seen = await driver_scalar(
        db,
        "test-driver-viewer",
        lambda: text("SELECT current_setting('ej.viewer_role', true) || :suffix").bindparams(
            bindparam("suffix", type_=Text, required=True)
        ),
        {"suffix": "!"},
    )
    assert seen == "coordinator!"  # another transaction would not know the viewer
