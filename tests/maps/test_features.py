"""OGC API - Features for cases: documents, paging, filters, visibility and privacy."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import shapely
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cases.filters import CaseFilters
from corps.app import create_app
from corps.settings import Settings
from maps import features
from testing.factories import Person, make_case, make_person

# Committed rows: a live server or worker process reads them.
pytestmark = pytest.mark.committed

ITEMS = "/ogc/collections/cases/items"
GEOJSON = "application/geo+json"
PROPERTIES = {
    "reference",
    "title",
    "status",
    "issue_types",
    "sensitivity",
    "organization_id",
    "country",
    "people_affected",
    "opened_on",
    "updated_at",
    "generalized",
}


@pytest.fixture(scope="module")
async def app(settings: Settings, migrated: None) -> AsyncIterator[FastAPI]:
    """The application with the OGC router, whether or not corps/app.py mounts it yet."""
    application = create_app(settings)
    if not any(
        getattr(route, "original_router", None) is features.router  # FastAPI >= 0.16x
        or getattr(route, "path", "").startswith(features.PREFIX)
        for route in application.routes
    ):
        application.include_router(features.router)
    async with LifespanManager(application):
        yield application


# A case id fixed at collection time: pytest-xdist workers must collect the same test ids.
ANY_ID = uuid.UUID("5f0c6a3e-1d2b-4c8e-9a7f-3b6e2d1c0a9f")


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def rels(document: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {link["rel"]: link for link in document["links"]}


async def items(
    client: httpx.AsyncClient, person: Person, **params: str | int
) -> tuple[list[str], dict[str, Any]]:
    response = await client.get(ITEMS, params={"limit": 1000, **params}, headers=person.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == GEOJSON
    body = response.json()
    return [f["id"] for f in body["features"]], body


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + refs(list(node.values()))
    if isinstance(node, list):
        return [ref for item in node for ref in refs(item)]
    return []


def response_text(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False)


async def set_updated_at(db: AsyncSession, case: dict[str, Any], moment: str) -> None:
    await db.execute(
        text("UPDATE cases SET updated_at = :t WHERE id = :id"),
        {"t": datetime.fromisoformat(moment), "id": uuid.UUID(str(case["id"]))},
    )
    await db.commit()


async def test_landing_page_conformance_and_api_definition(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    landing = (await client.get("/ogc", headers=paralegal.headers)).json()
    links = rels(landing)
    assert landing["title"] and landing["description"]
    assert links["self"]["href"] == "http://test/ogc"
    assert links["conformance"]["href"] == "http://test/ogc/conformance"
    assert links["data"]["href"] == "http://test/ogc/collections"
    assert links["service-doc"]["href"] == "http://test/docs"
    assert all(link["type"] for link in landing["links"])
    descriptions = {
        link["type"]: link["href"] for link in landing["links"] if link["rel"] == "service-desc"
    }
    assert (
        descriptions["application/vnd.oai.openapi+json;version=3.1"] == "http://test/openapi.json"
    )
    oas30 = descriptions["application/vnd.oai.openapi+json;version=3.0"]

    api = await client.get(oas30)
    assert api.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
    document = api.json()
    assert document["openapi"].startswith("3.0.")
    assert {"/ogc", "/ogc/conformance", "/ogc/collections", ITEMS} <= set(document["paths"])
    assert '{"type": "null"}' not in json.dumps(document)  # 3.1-only spelling rewritten
    for ref in refs(document):  # every reference resolves inside the document
        target = document
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
    parameters = {p["name"]: p for p in document["paths"][ITEMS]["get"]["parameters"]}
    assert {"bbox", "datetime", "limit", "offset", "q", "status"} <= set(parameters)
    assert parameters["limit"]["schema"]["maximum"] == 1000
    assert parameters["bbox"]["schema"]["nullable"] is True
    assert document["paths"][ITEMS]["get"]["security"]
    assert "OAuth2PasswordBearer" in document["components"]["securitySchemes"]

    conformance = (await client.get("/ogc/conformance", headers=paralegal.headers)).json()
    base = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
    assert {base + c for c in ("core", "oas30", "geojson")} <= set(conformance["conformsTo"])


async def test_the_cases_collection_has_the_viewers_extent(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    first = await make_case(client, paralegal, geometry=point(-11.2, 7.1))
    await make_case(client, paralegal, geometry=point(-10.9, 8.7))
    listing = (await client.get("/ogc/collections", headers=paralegal.headers)).json()
    assert rels(listing)["self"]["href"] == "http://test/ogc/collections"
    [collection] = listing["collections"]
    single = (await client.get("/ogc/collections/cases", headers=paralegal.headers)).json()
    assert single == collection
    assert collection["id"] == "cases"
    assert collection["itemType"] == "feature"
    assert collection["crs"] == ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]
    links = rels(collection)
    assert links["self"]["href"] == "http://test/ogc/collections/cases"
    assert links["items"] == {
        "href": "http://test/ogc/collections/cases/items",
        "rel": "items",
        "type": GEOJSON,
        "title": "The cases as GeoJSON",
    }
    extent = collection["extent"]
    assert extent["spatial"]["bbox"] == [[-11.2, 7.1, -10.9, 8.7]]
    assert extent["spatial"]["crs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    [[start, end]] = extent["temporal"]["interval"]
    assert start == str(first["created_at"]).replace("+00:00", "Z")
    assert start <= end and end.endswith("Z")


async def test_items_page_with_next_and_prev_links(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    made = [
        (await make_case(client, paralegal, title=f"Fish kill {n}", place_name="Secret cove"))["id"]
        for n in range(5)
    ]
    seen: list[str] = []
    url: str | None = f"http://test{ITEMS}?limit=2&status=intake&unknown=ignored"
    pages = []
    while url:
        response = await client.get(url, headers=paralegal.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        seen += [f["id"] for f in page["features"]]
        assert all(link["type"] == GEOJSON for link in page["links"])
        url = rels(page).get("next", {}).get("href")
    assert seen == made  # oldest first, none repeated or skipped
    assert [p["numberReturned"] for p in pages] == [2, 2, 1]
    first, second, last = (rels(p) for p in pages)
    assert "prev" not in first and "next" not in last
    assert second["self"]["href"] == first["next"]["href"]
    assert "offset=2" in first["next"]["href"] and "status=intake" in first["next"]["href"]
    assert "unknown=ignored" in first["next"]["href"]
    assert "offset=0" in second["prev"]["href"] and "offset=2" in last["prev"]["href"]
    page = pages[0]
    assert page["type"] == "FeatureCollection" and "numberMatched" not in page
    assert datetime.fromisoformat(page["timeStamp"]) <= datetime.now(UTC)
    feature = page["features"][0]
    assert feature["type"] == "Feature"
    assert set(feature["properties"]) == PROPERTIES
    assert feature["properties"]["generalized"] is False
    assert feature["properties"]["issue_types"] == ["air_pollution", "mining"]
    assert "Secret cove" not in json.dumps(pages, ensure_ascii=False)

    exactly_five = (await items(client, paralegal, limit=5))[1]
    assert "next" not in rels(exactly_five) and exactly_five["numberReturned"] == 5
    _, past_the_end = await items(client, paralegal, offset=10)
    assert past_the_end["features"] == [] and past_the_end["numberReturned"] == 0
    _, clamped = await items(client, paralegal, limit=5000, offset=1)
    assert "limit=1000" in rels(clamped)["prev"]["href"]
    assert (await items(client, paralegal, limit=1000))[0] == made


async def test_bbox_and_datetime_filters(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    sewa = await make_case(
        client,
        paralegal,
        geometry={"type": "LineString", "coordinates": [[-11.0, 8.6], [-10.9, 8.7]]},
    )
    fiji = await make_case(client, paralegal, geometry=point(179.5, -17.0))
    samoa = await make_case(client, paralegal, geometry=point(-172.0, -13.8))
    await set_updated_at(db, sewa, "2026-01-10T08:00:00+00:00")
    await set_updated_at(db, fiji, "2026-02-10T08:00:00+00:00")
    await set_updated_at(db, samoa, "2026-03-10T08:00:00+00:00")

    async def ids(**params: str | int) -> list[str]:
        return (await items(client, paralegal, **params))[0]

    assert await ids(bbox="-11.05,8.55,-10.85,8.75") == [sewa["id"]]
    assert await ids(bbox="-11.05,8.55,-100,-10.85,8.75,100") == [sewa["id"]]
    assert await ids(bbox="179,-18,-171,-13") == [fiji["id"], samoa["id"]]  # across 180°
    assert await ids(bbox="0,0,1,1") == []
    assert await ids(datetime="2026-02-10T08:00:00Z") == [fiji["id"]]
    assert await ids(datetime="2026-02-10") == [fiji["id"]]
    assert await ids(datetime="2026-02-01T00:00:00Z/2026-03-31T00:00:00Z") == [
        fiji["id"],
        samoa["id"],
    ]
    assert await ids(datetime="../2026-02-10T08:00:00Z") == [sewa["id"], fiji["id"]]
    assert await ids(datetime="2026-02-11T00:00:00+01:00/..") == [samoa["id"]]
    assert await ids(datetime="2026-02-11T00:00:00Z/") == [samoa["id"]]
    assert await ids(datetime="2026-01-01/2026-12-31", bbox="170,-20,180,-10") == [fiji["id"]]


@pytest.mark.parametrize(
    "params",
    [
        {"bbox": "1,2,3"},
        {"bbox": "a,b,c,d"},
        {"bbox": "0,95,1,96"},
        {"bbox": "0,1,1,nan"},
        {"datetime": "yesterday"},
        {"datetime": "2026-03-01T00:00:00Z/2026-01-01T00:00:00Z"},
        {"limit": 0},
        {"limit": "ten"},
        {"offset": -1},
        {"status": "open"},
    ],
)
async def test_bad_parameters_are_400_problems(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings, params: dict[str, str | int]
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    response = await client.get(ITEMS, params=params, headers=paralegal.headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 400 and response.json()["detail"]


async def test_a_paralegal_sees_only_their_organizations_cases(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    mine = await make_person(db, settings, "paralegal")
    theirs = await make_person(db, settings, "paralegal")
    own = await make_case(client, mine)
    other = await make_case(client, theirs, geometry=point(-10.0, 20.0))
    assert (await items(client, mine))[0] == [own["id"]]
    assert (await items(client, mine, organization_id=str(theirs.organization_id)))[0] == []
    listing = (await client.get("/ogc/collections", headers=mine.headers)).json()
    assert listing["collections"][0]["extent"]["spatial"]["bbox"] == [[36.78, -1.29, 36.79, -1.28]]
    response = await client.get(f"{ITEMS}/{other['id']}", headers=mine.headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get(f"{ITEMS}/not-a-case", headers=mine.headers)).status_code == 404
    assert (await client.get(f"{ITEMS}/{uuid.uuid4()}", headers=mine.headers)).status_code == 404

    response = await client.get(f"{ITEMS}/{own['id']}", headers=mine.headers)
    assert response.status_code == 200 and response.headers["content-type"] == GEOJSON
    feature = response.json()
    assert feature["id"] == own["id"] and feature["geometry"] == own["geometry"]
    assert feature["properties"]["reference"] == own["reference"]
    links = rels(feature)
    assert links["self"]["href"] == f"http://test{ITEMS}/{own['id']}"
    assert links["collection"]["href"] == "http://test/ogc/collections/cases"


async def test_a_coordinator_sees_another_organizations_high_risk_case_as_a_cell(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    risky: dict[str, Any] = await make_case(
        client,
        owner,
        title="Night raids on the land defenders",
        sensitivity="high_risk",
        place_name="Mathare North ward",
        summary="Threats after the eviction hearing",
    )
    scope = {"organization_id": str(owner.organization_id)}
    [seen], page = await items(client, coordinator, **scope)
    assert seen == risky["id"]
    [feature] = page["features"]
    assert feature["properties"]["generalized"] is True
    cell = shapely.geometry.shape(feature["geometry"])
    assert cell.geom_type == "Polygon" and cell.is_valid
    minx, miny, maxx, maxy = cell.bounds
    assert (round(maxx - minx, 9), round(maxy - miny, 9)) == (0.05, 0.05)
    assert shapely.geometry.shape(risky["geometry"]).within(cell)  # QUARRY's cell
    true_vertices = {tuple(v) for v in risky["geometry"]["coordinates"][0]}
    assert not true_vertices & {tuple(v) for v in feature["geometry"]["coordinates"][0]}
    assert cell.bounds != shapely.geometry.shape(risky["geometry"]).bounds
    assert "Mathare" not in response_text(page) and "place_name" not in response_text(page)
    single = (await client.get(f"{ITEMS}/{risky['id']}", headers=coordinator.headers)).json()
    assert single["geometry"] == feature["geometry"]
    extent = (await client.get("/ogc/collections/cases", headers=owner.headers)).json()
    assert extent["extent"]["spatial"]["bbox"] == [[36.78, -1.29, 36.79, -1.28]]

    # bbox is matched against the cell the coordinator is shown, so it cannot narrow the place.
    inside_cell_not_case = "36.76,-1.27,36.77,-1.26"
    assert (await items(client, coordinator, bbox=inside_cell_not_case, **scope))[0] == [seen]
    assert (await items(client, owner, bbox=inside_cell_not_case))[0] == []
    # Nor can full-text search probe the hidden place name.
    assert (await items(client, coordinator, q="Mathare", **scope))[0] == []
    # The summary is withheld where the case is generalized, so it is not searched either;
    # what is shown (the respondents) still is.
    assert (await items(client, coordinator, q="eviction", **scope))[0] == []
    assert (await items(client, coordinator, q="Acme", **scope))[0] == [seen]
    assert (await items(client, owner, q="Mathare"))[0] == [seen]
    own = (await items(client, owner))[1]["features"][0]
    assert own["geometry"] == risky["geometry"] and own["properties"]["generalized"] is False


@pytest.mark.parametrize(
    "path",
    [
        "/ogc",
        "/ogc/conformance",
        "/ogc/collections",
        "/ogc/collections/cases",
        ITEMS,
        f"{ITEMS}/{ANY_ID}",
    ],
)
async def test_no_token_is_401(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    bad = await client.get(path, params={"bbox": "x"}, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_an_items_page_statement_is_built_once_per_filter_shape() -> None:
    def page(limit: int, offset: int, **filters: Any) -> Any:
        query = features.ItemsQuery(limit, offset, None, None, None, CaseFilters(**filters))
        link = {"href": f"/p{limit}-{offset}", "rel": "next", "type": "x", "title": "x"}
        return features.items_statement(query, [link], link)

    first, params = page(10, 0)
    again, other = page(1000, 30)
    # Every value of the page is a parameter: the same statement object, SQLAlchemy's compiled
    # form and asyncpg's prepared statement serve both requests.
    assert first is again
    assert (params["page_size"], other["page_size"], other["page_offset"]) == (10, 1000, 30)
    assert page(10, 0, country="KE")[0] is not first  # another shape, another statement
