"""Leaks 2 and 4: reference layers must not locate a case inside the cell a viewer is shown.

A coordinator sees another organization's high-risk case as its 0.05 degree cell. Overlaps and
layer-feature suggestions must answer the same for any place inside that cell.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import Person, make_case, make_person, unique
from tests.cases.advocacy.test_suggestions import suggestions

CELL = (36.75, -1.30, 36.80, -1.25)  # the partner cell holding the default quarry case
STEP = 0.0025  # squares of about 280 m


def box(minx: float, miny: float, maxx: float, maxy: float) -> dict[str, Any]:
    ring = [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]
    return {"type": "Polygon", "coordinates": [ring]}


def squares(prefix: str) -> list[tuple[str, dict[str, Any]]]:
    """A grid of small named squares covering the cell."""
    out = []
    n = round((CELL[2] - CELL[0]) / STEP)
    for i in range(n):
        for j in range(n):
            x, y = CELL[0] + i * STEP, CELL[1] + j * STEP
            out.append((f"{prefix} {i}-{j}", box(x, y, x + STEP, y + STEP)))
    return out


async def post_layer(
    client: httpx.AsyncClient, person: Person, features: list[tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    data = orjson.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": g, "properties": {"name": name}}
                for name, g in features
            ],
        }
    )
    response = await client.post(
        "/api/v1/layers",
        headers=person.headers,
        files={"file": ("squares.geojson", data, "application/octet-stream")},
        data={"name": unique("Squares "), "kind": "other"},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_overlaps_do_not_name_the_square_that_holds_a_generalized_case(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    secret = await make_case(client, owner, sensitivity="high_risk")
    prefix = unique("sq")
    grid = squares(prefix)
    layer = await post_layer(client, coordinator, grid)

    response = await client.get(
        f"/api/v1/cases/{secret['id']}/overlaps", headers=coordinator.headers
    )
    assert response.status_code == 200
    named = {o["feature_name"] for o in response.json() if o["layer_id"] == layer["id"]}
    # Every square of the cell, or none: never the few around the true place.
    assert named == {name for name, _ in grid}
    assert all(o["intersection_m2"] is None for o in response.json())

    own = await client.get(f"/api/v1/cases/{secret['id']}/overlaps", headers=owner.headers)
    exact = {o["feature_name"] for o in own.json() if o["layer_id"] == layer["id"]}
    assert 0 < len(exact) < 50  # the owner sees the squares of the true place


async def test_layer_feature_suggestions_match_the_cell_not_the_true_place(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    other = await make_person(db, settings, "paralegal")
    secret = await make_case(client, owner, sensitivity="high_risk")  # quarry at 36.785,-1.285
    known = await make_case(
        client, other, geometry={"type": "Point", "coordinates": [36.70, -1.20]}
    )
    around_known = box(36.699, -1.201, 36.701, -1.199)
    near, elsewhere = unique("Crafted at the quarry "), unique("Crafted elsewhere in the cell ")
    probes = {
        near: box(36.784, -1.286, 36.786, -1.284),  # over the true place
        elsewhere: box(36.754, -1.256, 36.756, -1.254),  # same cell, 4 km away
    }
    features = [
        (
            name,
            {
                "type": "MultiPolygon",
                "coordinates": [around_known["coordinates"], probe["coordinates"]],
            },
        )
        for name, probe in probes.items()
    ]
    await post_layer(client, coordinator, features)

    matched = {
        s["respondent"]["feature"]: set(s["case_ids"])
        for s in await suggestions(client, coordinator.headers)
        if s["reason"] == "shared_layer_feature" and s["respondent"]["feature"] in probes
    }
    holds_secret = {name: secret["id"] in matched.get(name, set()) for name in probes}
    assert holds_secret[near] == holds_secret[elsewhere], holds_secret
    assert all(known["id"] in ids for ids in matched.values())
