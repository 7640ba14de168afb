"""The coordinator at a desk: the map of every case, hotspots, a suggestion made a campaign."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import case_body, make_org, make_person, unique
from tests.web.conftest import DESK, OpenSession

# Committed rows: a live server or worker process reads them.
pytestmark = pytest.mark.committed

# A quiet corner of the map (Patagonia) that no other test uses.
HOME = (-69.60, -46.40)
SECRET = [[-69.512, -46.333], [-69.508, -46.333], [-69.508, -46.329], [-69.512, -46.333]]

TILES_READY = "() => window.ejMap && window.ejMap.loaded() && window.ejMap.areTilesLoaded()"
CASE_FEATURES = """() => window.ejMap.querySourceFeatures('cases', {sourceLayer: 'cases'})
  .map(f => ({
    id: f.properties.id, generalized: f.properties.generalized,
    coordinates: JSON.stringify(f.geometry.coordinates)}))"""


def square(lon: float, lat: float, size: float = 0.004) -> dict[str, object]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def coordinates_of(text: str) -> list[tuple[float, float]]:
    import json

    out: list[tuple[float, float]] = []

    def walk(c: object) -> None:
        if isinstance(c, list) and c and isinstance(c[0], int | float):
            out.append((float(c[0]), float(c[1])))
        elif isinstance(c, list):
            for x in c:
                walk(x)

    walk(json.loads(text))
    return out


async def test_the_map_shows_cases_and_hotspots_and_never_a_high_risk_place(
    open_session: OpenSession, api: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    coordinator = await make_person(db, settings, "coordinator")
    own = await make_person(db, settings, "paralegal", await make_org(db, country="AR"))
    other = await make_person(db, settings, "paralegal", await make_org(db, country="AR"))
    visible = []
    for i in range(5):
        body = case_body(
            title=f"Patagonia water case {i}",
            geometry=square(HOME[0] + i * 0.03, HOME[1] + (i % 2) * 0.02),
            country="AR",
            issue_types=["water_pollution"],
        )
        response = await api.post("/api/v1/cases", json=body, headers=own.headers)
        visible.append(response.json())
    secret = await api.post(
        "/api/v1/cases",
        json=case_body(
            title="Threatened defender's land",
            sensitivity="high_risk",
            geometry={"type": "Polygon", "coordinates": [SECRET]},
            country="AR",
        ),
        headers=other.headers,
    )
    secret_id = secret.json()["id"]

    s = await open_session(viewport=DESK)
    await s.sign_in(coordinator.email)
    await s.page.get_by_role("link", name="Map").click()
    await s.page.wait_for_function(TILES_READY)
    await s.page.evaluate(
        "([lon, lat]) => window.ejMap.jumpTo({center: [lon, lat], zoom: 10})",
        [HOME[0] + 0.06, HOME[1]],
    )
    await s.page.wait_for_function(TILES_READY)
    await s.page.wait_for_function(
        "(id) => window.ejMap.querySourceFeatures('cases', {sourceLayer: 'cases'})"
        ".some(f => f.properties.id === id)",
        arg=visible[0]["id"],
    )
    features = {f["id"]: f for f in await s.page.evaluate(CASE_FEATURES)}
    for case in visible:
        assert case["id"] in features
        assert features[case["id"]]["generalized"] is False
    # another organization's high-risk case: only its cell, never a vertex of the true place
    assert secret_id in features and features[secret_id]["generalized"] is True
    for x, y in coordinates_of(features[secret_id]["coordinates"]):
        assert all(abs(x - sx) > 1e-3 or abs(y - sy) > 1e-3 for sx, sy in SECRET), (x, y)
    # a click on a case opens its summary in the side panel
    point = await s.page.evaluate(
        "([lon, lat]) => window.ejMap.project([lon, lat])", [HOME[0] + 0.002, HOME[1] + 0.002]
    )
    box = await s.page.get_by_test_id("coordinator-map").bounding_box()
    assert box is not None
    await s.page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    panel = s.page.get_by_test_id("side-panel")
    await expect(panel).to_contain_text(visible[0]["reference"])
    await s.check_page("map")  # after the click: the screenshots resize the map

    # hotspots: DBSCAN clusters and Gi* hexagons with a legend
    await s.page.get_by_role("button", name="Close").click()
    await s.page.get_by_label("Clusters (DBSCAN, 25 km)").check()
    await expect(s.page.get_by_test_id("hotspot-state")).to_contain_text(
        "clusters", timeout=180_000
    )
    await s.page.wait_for_function(
        "() => window.ejMap.querySourceFeatures('dbscan').length > 0", timeout=30_000
    )
    clusters = await s.page.evaluate(
        "() => window.ejMap.querySourceFeatures('dbscan').map(f => f.properties.case_count)"
    )
    assert max(clusters) >= 5
    await s.page.get_by_label("Hot and cold areas").check()
    await expect(s.page.get_by_test_id("legend")).to_be_visible()
    await expect(s.page.get_by_test_id("hotspot-state")).to_contain_text(
        "hexagons", timeout=180_000
    )
    hexagons = await s.page.evaluate(
        "() => window.ejMap.querySourceFeatures('hex').map(f => f.properties)"
    )
    assert hexagons and all("z_score" in h for h in hexagons)
    await s.check_page("map-hotspots")


async def test_a_suggestion_becomes_a_campaign(
    open_session: OpenSession, api: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    coordinator = await make_person(db, settings, "coordinator")
    respondent = f"Zephyr Lithium {unique('')}"
    ids = []
    # Six organizations: the page lists the 1,000 strongest suggestions, and the rest of the
    # suite leaves hundreds behind in the shared database.
    for _ in range(6):
        paralegal = await make_person(db, settings, "paralegal")
        body = case_body(respondents=[{"name": respondent, "kind": "company"}])
        ids.append(
            (await api.post("/api/v1/cases", json=body, headers=paralegal.headers)).json()["id"]
        )

    s = await open_session(viewport=DESK)
    await s.sign_in(coordinator.email)
    await s.page.get_by_role("link", name="Suggestions").click()
    card = s.page.get_by_test_id("suggestions").locator("li").filter(has_text=respondent)
    await expect(card).to_have_count(1, timeout=60_000)
    await s.check_page("suggestions")
    await card.get_by_role("button", name="Make a campaign").click()
    await expect(s.page.get_by_role("heading", name=f"Campaign on {respondent}")).to_be_visible()
    await expect(s.page.get_by_test_id("campaign-cases").locator("li")).to_have_count(6)
    campaign_id = s.page.url.rsplit("/", 1)[1]
    campaign = (
        await api.get(f"/api/v1/campaigns/{campaign_id}", headers=coordinator.headers)
    ).json()
    assert sorted(c["id"] for c in campaign["cases"]) == sorted(ids)
    await s.check_page("campaign")
