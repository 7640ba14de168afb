"""Hotspots: DBSCAN in metres, equal-area hexagons, Gi* checked by hand, privacy and caching."""

from __future__ import annotations

import json
import math
import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from corps.settings import Settings
from maps import hotspot_cache
from testing.factories import make_case, make_org, make_person


def destination(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    """A point east_m and north_m from (lon, lat) on the sphere (small offsets)."""
    r = 6_371_008.8
    return (
        lon + math.degrees(east_m / (r * math.cos(math.radians(lat)))),
        lat + math.degrees(north_m / r),
    )


async def add_points(
    client: httpx.AsyncClient, person: object, where: list[tuple[float, float]], **overrides: object
) -> None:
    for lon, lat in where:
        await make_case(
            client, person, geometry={"type": "Point", "coordinates": [lon, lat]}, **overrides
        )  # type: ignore[arg-type]


async def hotspots(
    client: httpx.AsyncClient, headers: dict[str, str], **params: object
) -> httpx.Response:
    response = await client.get("/api/v1/hotspots", params=params, headers=headers)
    assert response.status_code in (200, 202), response.text
    return response


async def test_dbscan_distance_is_in_metres_even_far_from_the_equator(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_person(db, settings, "admin")
    # At 60 degrees north a degree of longitude is half as long: 12 km steps cluster at 15 km,
    # 20 km steps do not, though in degrees or Web Mercator they would look the same or closer.
    near = [destination(10.0, 60.0, 12_000 * k, 0) for k in range(3)]
    far = [destination(20.0, 60.0, 20_000 * k, 0) for k in range(3)]
    await add_points(client, admin, near + far, country="NO")
    body = (
        await hotspots(
            client, admin.headers, method="dbscan", distance_km=15, min_cases=3, bbox="9,59,22,61"
        )
    ).json()
    assert [f["properties"]["case_count"] for f in body["features"]] == [3]
    ring = body["features"][0]["geometry"]["coordinates"][0]
    assert min(p[0] for p in ring) < 10.1  # the cluster is the near group


async def test_a_cluster_spanning_organizations_and_a_border_is_found(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    coordinator = await make_person(db, settings, "coordinator")
    a = await make_person(db, settings, "paralegal", await make_org(db, country="KE"))
    b = await make_person(db, settings, "paralegal", await make_org(db, country="TZ"))
    base = (37.6, -3.0)
    await add_points(
        client,
        a,
        [destination(*base, 3000 * k, 0) for k in range(4)],
        country="KE",
        issue_types=["water_pollution"],
    )
    await add_points(
        client,
        b,
        [destination(*base, 3000 * k, -8000) for k in range(3)],
        country="TZ",
        issue_types=["water_pollution", "mining"],
    )
    body = (
        await hotspots(
            client, coordinator.headers, distance_km=20, min_cases=3, bbox="37.4,-3.3,37.9,-2.8"
        )
    ).json()
    (cluster,) = body["features"]
    assert cluster["properties"] == {
        "case_count": 7,
        "organization_count": 2,
        "issue_types": ["mining", "water_pollution"],
        "countries": ["KE", "TZ"],
    }
    assert cluster["geometry"]["type"] == "Polygon"
    mine = (
        await hotspots(client, a.headers, distance_km=20, min_cases=3, bbox="37.4,-3.3,37.9,-2.8")
    ).json()
    assert mine["features"][0]["properties"].keys() == {
        "case_count",
        "organization_count",
    }


async def test_getis_ord_gi_star_matches_a_hand_computation(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_person(db, settings, "admin")
    cell_km = 50
    size = cell_km * 1000 / math.sqrt(3)
    # Put 5 cases in one hexagon and 1 in another hexagon far away, at the cells' centres.
    centres = (
        await db.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_SetSRID(ST_Centroid("
                "ST_Hexagon(:size, i, j)), 6933), 4326) AS p "
                "FROM (VALUES (300, 40), (310, 40)) v(i, j)) q"
            ),
            {"size": size},
        )
    ).all()
    (ax, ay), (bx, by) = centres
    await add_points(
        client, admin, [destination(ax, ay, 500 * k, 0) for k in range(5)], country="KE"
    )
    await add_points(client, admin, [(bx, by)], country="KE")
    pad = 2
    bbox = f"{min(ax, bx) - pad},{min(ay, by) - pad},{max(ax, bx) + pad},{max(ay, by) + pad}"
    body = (
        await hotspots(client, admin.headers, method="hexagons", cell_km=cell_km, bbox=bbox)
    ).json()
    cells = {f["properties"]["case_count"]: f["properties"] for f in body["features"]}
    # By hand: the study area is the 2 occupied cells and their 6 neighbours each: n = 14,
    # values 5, 1 and twelve 0s. Binary weights with the cell itself (Gi*): w = 7 per cell.
    n, w = 14, 7
    xbar = 6 / n
    s = math.sqrt((5**2 + 1**2) / n - xbar**2)
    denominator = s * math.sqrt((n * w - w * w) / (n - 1))
    z5, z1 = (5 - xbar * w) / denominator, (1 - xbar * w) / denominator
    assert cells[5]["z_score"] == pytest.approx(z5, rel=1e-9)
    assert cells[1]["z_score"] == pytest.approx(z1, rel=1e-9)
    assert cells[5]["p_value"] == pytest.approx(math.erfc(abs(z5) / math.sqrt(2)), rel=1e-9)
    assert cells[5]["hot"] is (cells[5]["p_value"] < 0.05)


async def test_hexagons_are_equal_area(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_person(db, settings, "admin")
    await add_points(client, admin, [(-70.0, -52.0), (-70.0, -1.0)], country="CL")
    body = (
        await hotspots(
            client, admin.headers, method="hexagons", cell_km=20, bbox="-70.5,-52.5,-69.5,-0.5"
        )
    ).json()
    areas = (
        (
            await db.execute(
                text(
                    "SELECT ST_Area(ST_GeomFromGeoJSON(g)::geography) "
                    "FROM unnest(CAST(:g AS text[])) g"
                ),
                {"g": [json.dumps(f["geometry"]) for f in body["features"]]},
            )
        )
        .scalars()
        .all()
    )
    expected = 3 * math.sqrt(3) / 2 * (20_000 / math.sqrt(3)) ** 2
    assert len(areas) == 2 and all(a == pytest.approx(expected, rel=0.01) for a in areas)


async def test_results_are_cached_until_cases_change(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_person(db, settings, "admin")
    await add_points(
        client, admin, [destination(-60.0, -10.0, 1000 * k, 0) for k in range(3)], country="BR"
    )
    params = {"distance_km": 5, "min_cases": 3, "bbox": "-60.5,-10.5,-59.5,-9.5"}
    first = await hotspots(client, admin.headers, **params)
    again = await hotspots(client, admin.headers, **params)
    assert first.headers["x-hotspots-state"] == "computed"
    assert again.headers["x-hotspots-state"] == "fresh" and again.json() == first.json()
    await add_points(client, admin, [destination(-60.0, -10.0, 3000, 0)], country="BR")
    changed = await hotspots(client, admin.headers, **params)
    assert changed.headers["x-hotspots-state"] == "computed"
    assert changed.json()["features"][0]["properties"]["case_count"] == 4


async def test_large_analyses_go_to_the_worker_and_never_run_in_the_request(
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = await make_person(db, settings, "admin")
    await add_points(
        client, admin, [destination(-50.0, -20.0, 1000 * k, 0) for k in range(3)], country="BR"
    )
    monkeypatch.setattr(hotspot_cache, "INLINE_MAX_CASES", 2)
    params = {"distance_km": 5, "min_cases": 3, "bbox": "-50.5,-20.5,-49.5,-19.5"}
    queued = await hotspots(client, admin.headers, **params)
    assert queued.status_code == 202 and queued.headers["retry-after"] == "5"
    key = await db.scalar(
        text(
            "SELECT cache_key FROM hotspot_results WHERE status = 'queued' "
            "AND params -> 'filters' -> 'bbox' = '[-50.5, -20.5, -49.5, -19.5]'::jsonb"
        )
    )
    assert key is not None
    assert await hotspot_cache.recompute(async_sessionmaker(db.bind), key) == "done"
    ready = await hotspots(client, admin.headers, **params)
    assert ready.status_code == 200 and ready.headers["x-hotspots-state"] == "fresh"
    assert ready.json()["features"][0]["properties"]["case_count"] == 3


async def test_a_case_between_two_clusters_joins_the_one_whose_nearest_case_has_the_lower_id(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    admin = await make_person(db, settings, "admin")
    # Two chains of 4 cases, 900 m either side of a middle case that sees only their first
    # cases (3 cases within 1 km: not core at min_cases=4). The middle is a border point of
    # both clusters; like ST_ClusterDBSCAN ordered by id, it joins the earlier core by case id.
    for lon, winner in ((30.0, "east"), (31.0, "west")):
        low, high = sorted(str(uuid.uuid4()) for _ in range(2))
        ids = {winner: low, ("west" if winner == "east" else "east"): high}
        await add_points(client, admin, [(lon, -20.0)], country="ZW")
        for side, sign in (("east", 1), ("west", -1)):
            first, *rest = [destination(lon, -20.0, sign * d, 0) for d in (900, 1150, 1400, 1650)]
            geometry = {"type": "Point", "coordinates": list(first)}
            await make_case(client, admin, id=ids[side], geometry=geometry, country="ZW")
            await add_points(client, admin, rest, country="ZW")
        bbox = f"{lon - 0.1},-20.1,{lon + 0.1},-19.9"
        body = (await hotspots(client, admin.headers, distance_km=1, min_cases=4, bbox=bbox)).json()
        counts = {}
        for feature in body["features"]:
            ring = feature["geometry"]["coordinates"][0]
            side = "east" if sum(p[0] for p in ring) / len(ring) > lon else "west"
            counts[side] = feature["properties"]["case_count"]
        assert counts == {
            "east": 5 if winner == "east" else 4,
            "west": 5 if winner == "west" else 4,
        }
