"""Finding 5: NUL characters, calendar edges, crafted cursors, huge offsets, Gi* and DataError."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cases.filters import CaseFilters
from corps.db import SessionDep
from corps.pagination import encode_cursor
from corps.settings import Settings
from maps.hotspots import HotspotScope, hexagon_hotspots
from testing.factories import Person, make_case, make_person

NUL = "a\u0000b"
EDGE = "9999-12-31T23:59:59-14:00"
HUGE = "6685236466050759917568"


def is_problem(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    return dict(response.json())


@pytest.fixture
async def admin(db: AsyncSession, settings: Settings) -> Person:
    return await make_person(db, settings, "admin")


async def test_a_nul_in_any_text_field_is_422_naming_the_field(
    client: httpx.AsyncClient, admin: Person
) -> None:
    case = await make_case(client, admin)
    posts: list[tuple[str, dict[str, Any], str]] = [
        ("/api/v1/cases", {"title": NUL}, "body.title"),
        (
            f"/api/v1/cases/{case['id']}/events",
            {"kind": "note", "description": NUL},
            "body.description",
        ),
        (f"/api/v1/cases/{case['id']}/flags", {"reason": NUL}, "body.reason"),
        ("/api/v1/campaigns", {"title": "t", "rationale": NUL, "case_ids": []}, "body.rationale"),
        ("/api/v1/organizations", {"name": NUL, "slug": "x", "country": "KE"}, "body.name"),
        (
            "/api/v1/users",
            {"email": "n@example.org", "name": NUL, "password": "x" * 12, "role": "paralegal"},
            "body.name",
        ),
        ("/api/v1/cases", {"respondents": [{"name": NUL}]}, "body.respondents.0.name"),
    ]
    for path, body, field in posts:
        problem = is_problem(await client.post(path, json=body, headers=admin.headers), 422)
        assert problem["detail"].startswith(field), (path, problem)
        assert problem["errors"][0]["loc"] == field.split(".")
    listed = await client.get("/api/v1/cases", params={"q": NUL}, headers=admin.headers)
    assert is_problem(listed, 422)["errors"][0]["loc"] == ["query", "q"]
    login = await client.post("/api/v1/auth/token", data={"username": NUL, "password": "x"})
    assert is_problem(login, 422)["errors"][0]["loc"] == ["body", "username"]


async def test_calendar_edge_datetimes_are_client_errors(
    client: httpx.AsyncClient, admin: Person
) -> None:
    for value in (EDGE, "0001-01-01T00:00:00+14:00"):
        listed = await client.get(
            "/api/v1/cases", params={"updated_after": value}, headers=admin.headers
        )
        is_problem(listed, 422)
        items = await client.get(
            "/ogc/collections/cases/items", params={"datetime": value}, headers=admin.headers
        )
        is_problem(items, 400)
    for value in ("9999-12-31", f"2020-01-01/{EDGE}"):
        items = await client.get(
            "/ogc/collections/cases/items", params={"datetime": value}, headers=admin.headers
        )
        assert items.status_code < 500, items.text


CRAFTED = [
    encode_cursor([EDGE, str(uuid.uuid4())]),
    encode_cursor(["0001-01-01T00:00:00+14:00", str(uuid.uuid4())]),
    encode_cursor(["2026-01-01", EDGE, str(uuid.uuid4())]),
    encode_cursor(["9999-12-31", EDGE, str(uuid.uuid4())]),
    encode_cursor([1e308, None]),
    encode_cursor([{"a": 1}, ["b"]]),
    encode_cursor(["x"]),
    encode_cursor([HUGE, HUGE]),
    encode_cursor(["2026-01-01T00:00:00", "not-a-uuid"]),
    "!!!not base64!!!",
]


async def test_crafted_cursors_on_every_paged_list_are_client_errors(
    client: httpx.AsyncClient, app: FastAPI, admin: Person
) -> None:
    case = await make_case(client, admin)
    document = app.openapi()
    lists = [
        path
        for path, operations in document["paths"].items()
        if "get" in operations
        and any(p["name"] == "cursor" for p in operations["get"].get("parameters", []))
    ]
    assert len(lists) >= 6, lists
    for path in lists:
        url = re.sub(r"\{case_id\}", str(case["id"]), path)
        url = re.sub(r"\{[a-z_]+\}", str(uuid.uuid4()), url)
        for cursor in CRAFTED:
            response = await client.get(url, params={"cursor": cursor}, headers=admin.headers)
            assert response.status_code in (400, 404, 422), (path, cursor, response.text)


async def test_huge_offsets_are_refused(client: httpx.AsyncClient, admin: Person) -> None:
    items = await client.get(
        "/ogc/collections/cases/items", params={"offset": HUGE}, headers=admin.headers
    )
    is_problem(items, 400, 422)
    features = await client.get(
        f"/api/v1/layers/{uuid.uuid4()}/features", params={"offset": HUGE}, headers=admin.headers
    )
    is_problem(features, 422)


async def test_gi_star_over_a_tiny_area_has_no_z_score_instead_of_dividing_by_zero(
    client: httpx.AsyncClient, db: AsyncSession, admin: Person
) -> None:
    await make_case(client, admin, geometry={"type": "Point", "coordinates": [-61.2345, 15.4321]})
    from corps.auth.actor import Actor, Role

    actor = Actor(admin.id, admin.email, Role.admin, admin.organization_id)
    filters = CaseFilters(bbox=(-61.2346, 15.4320, -61.2344, 15.4322))
    cells = await hexagon_hotspots(db, HotspotScope.of(actor), filters, cell_km=5)
    assert [c["properties"]["case_count"] for c in cells] == [1]
    assert cells[0]["properties"]["z_score"] is None and cells[0]["properties"]["hot"] is False


async def test_a_value_the_database_refuses_is_422_not_500(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    async def out_of_range(session: SessionDep) -> None:
        await session.execute(text("SELECT CAST('99999999999999999999' AS bigint)"))

    app.add_api_route("/test-only/data-error", out_of_range)
    try:
        response = await client.get("/test-only/data-error")
    finally:
        app.router.routes.pop()
    problem = is_problem(response, 422)
    assert "bigint" not in problem["detail"]


async def test_a_client_id_with_a_number_past_64_bits_is_422(
    client: httpx.AsyncClient, admin: Person
) -> None:
    body = {
        "title": "Huge",
        "issue_types": ["mining"],
        "country": "KE",
        "id": str(uuid.uuid4()),
        "geometry": {"type": "Point", "coordinates": [1242578935071915638784, 1]},
    }
    response = await client.post("/api/v1/cases", json=body, headers=admin.headers)
    is_problem(response, 422)
