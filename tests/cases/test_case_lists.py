"""Listing and searching cases: every filter, keyset pages, sync, and privacy on lists."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import make_case, make_org, make_person


async def ids(client: httpx.AsyncClient, headers: dict[str, str], **params: object) -> list[str]:
    response = await client.get("/api/v1/cases", params={"limit": 500, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


@pytest.mark.committed  # time must pass between requests: now() stands still in one transaction
async def test_every_filter_narrows_the_list(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    org = await make_org(db, country="SL")
    paralegal = await make_person(db, settings, "paralegal", org)
    mine = await make_case(
        client,
        paralegal,
        title="Diamond tailings in the Sewa river",
        country="SL",
        issue_types=["mining", "water_pollution"],
        sensitivity="sensitive",
        geometry={"type": "LineString", "coordinates": [[-11.0, 8.6], [-10.9, 8.7]]},
        respondents=[{"name": "Koidu Holdings S.A.", "kind": "company"}],
        place_name="Koidu",
        summary="Tailings dam overflow after heavy rain",
    )
    other = await make_case(
        client,
        paralegal,
        title="Palm oil estate fence",
        country="LR",
        issue_types=["land_grab"],
        geometry={"type": "Point", "coordinates": [-11.2, 7.1]},
    )
    h = paralegal.headers
    assert await ids(client, h, bbox="-11.05,8.55,-10.85,8.75") == [mine["id"]]
    assert await ids(client, h, bbox="-11.3,7.0,-11.1,7.2") == [other["id"]]
    assert await ids(client, h, issue_type="water_pollution") == [mine["id"]]
    assert await ids(client, h, country="lr") == [other["id"]]
    assert await ids(client, h, sensitivity="sensitive") == [mine["id"]]
    assert await ids(client, h, status="intake") == [other["id"], mine["id"]]
    assert await ids(client, h, status="action") == []
    assert await ids(client, h, organization_id=str(org.id)) == [other["id"], mine["id"]]
    assert await ids(client, h, q="koidu holdings") == [mine["id"]]
    assert await ids(client, h, q="tailings overflow") == [mine["id"]]
    assert await ids(client, h, q="fence") == [other["id"]]


async def test_search_works_in_non_latin_scripts(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal", await make_org(db, country="MM"))
    burmese = await make_case(
        client,
        paralegal,
        country="MM",
        title="ကျောက်စိမ်းမိုင်း မြေပြိုမှု",
        summary="ဖားကန့် ကျေးရွာ",
        geometry={"type": "Point", "coordinates": [96.3, 25.6]},
    )
    hindi = await make_case(
        client,
        paralegal,
        country="IN",
        title="बॉक्साइट खनन से जंगल कटाई",
        geometry={"type": "Point", "coordinates": [83.0, 19.7]},
    )
    h = paralegal.headers
    assert await ids(client, h, q="ဖားကန့်") == [burmese["id"]]
    assert await ids(client, h, q="खनन") == [hindi["id"]]


@pytest.mark.committed  # time must pass between requests: now() stands still in one transaction
async def test_pages_do_not_repeat_or_skip_when_cases_are_added_between_pages(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    first_batch = [
        (await make_case(client, paralegal, title=f"Early case {n}"))["id"] for n in range(7)
    ]
    seen: list[str] = []
    cursor = None
    added = 0
    while True:
        params: dict[str, object] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/cases", params=params, headers=paralegal.headers)).json()
        seen += [c["id"] for c in page["items"]]
        if added < 2:  # someone records a case while we page
            await make_case(client, paralegal, title=f"Late case {added}")
            added += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(first_batch)
    assert len(seen) == len(set(seen))


@pytest.mark.committed  # time must pass between requests: now() stands still in one transaction
async def test_updated_after_returns_changes_oldest_first_for_sync(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    old = await make_case(client, paralegal, title="Unchanged case")
    mark = datetime.now(UTC).isoformat()
    changed = await make_case(client, paralegal, title="New case")
    await client.patch(
        f"/api/v1/cases/{old['id']}", json={"summary": "new facts"}, headers=paralegal.headers
    )
    synced = await ids(client, paralegal.headers, updated_after=mark)
    assert synced == [changed["id"], old["id"]]


async def test_limit_and_bbox_are_validated(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    for params in [
        {"limit": 501},
        {"limit": 0},
        {"bbox": "1,2,3"},
        {"bbox": "0,95,1,96"},
        {"status": "open"},
        {"cursor": "bm90LWEtY3Vyc29y"},
    ]:
        response = await client.get("/api/v1/cases", params=params, headers=paralegal.headers)
        assert response.status_code == 422, params


async def test_a_coordinator_sees_other_organizations_high_risk_cases_generalized(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    exact = {"type": "Point", "coordinates": [36.8123, -1.2987]}
    risky = await make_case(
        client,
        paralegal,
        sensitivity="high_risk",
        geometry=exact,
        place_name="Behind the chief's camp",
    )
    normal = await make_case(client, paralegal, geometry=exact)
    seen = (await client.get(f"/api/v1/cases/{risky['id']}", headers=coordinator.headers)).json()
    assert seen["generalized"] is True
    assert seen["place_name"] is None and seen["area_m2"] is None
    assert seen["geometry"]["type"] == "Polygon"
    ring = seen["geometry"]["coordinates"][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    assert min(xs) <= 36.8123 <= max(xs) and min(ys) <= -1.2987 <= max(ys)
    assert round(max(xs) - min(xs), 9) == 0.05
    assert seen["centroid"]["coordinates"] != exact["coordinates"]
    again = (await client.get(f"/api/v1/cases/{risky['id']}", headers=coordinator.headers)).json()
    assert again["geometry"] == seen["geometry"]
    listed = {
        c["id"]: c
        for c in (
            await client.get(
                "/api/v1/cases",
                params={"organization_id": str(paralegal.organization_id)},
                headers=coordinator.headers,
            )
        ).json()["items"]
    }
    assert listed[risky["id"]]["geometry"] == seen["geometry"]
    assert listed[normal["id"]]["geometry"] == exact
    own = (await client.get(f"/api/v1/cases/{risky['id']}", headers=paralegal.headers)).json()
    assert own["geometry"] == exact and own["generalized"] is False


async def test_filters_cannot_locate_a_case_whose_location_is_hidden(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    lon, lat = 36.8123, -1.2987
    risky = await make_case(
        client,
        paralegal,
        sensitivity="high_risk",
        place_name="Mukuru kwa Njenga",
        geometry={"type": "Point", "coordinates": [lon, lat]},
    )
    h = coordinator.headers
    # A tiny box around the true point and one elsewhere in the same cell answer alike.
    around_truth = f"{lon - 0.001},{lat - 0.001},{lon + 0.001},{lat + 0.001}"
    elsewhere_in_cell = "36.8460,-1.2540,36.8480,-1.2520"
    assert risky["id"] in await ids(client, h, bbox=around_truth)
    assert risky["id"] in await ids(client, h, bbox=elsewhere_in_cell)
    assert risky["id"] not in await ids(client, h, q="Mukuru")
    assert risky["id"] in await ids(client, paralegal.headers, q="Mukuru")
