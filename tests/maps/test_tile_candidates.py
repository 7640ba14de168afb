"""Which cases a tile finds: by the box of what each viewer is shown, never by the true place."""

from __future__ import annotations

import math

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import make_case, make_person
from tests.maps.test_tiles import get_tile, tile_of

Z = 13
# A high-risk line 20 km long: its centroid's 0.05-degree cell lies far from its west end.
WEST, EAST, LAT = 147.3012, 147.5012, -42.8811
CENTRE_LON = (WEST + EAST) / 2
CELL_WEST = math.floor(CENTRE_LON / 0.05) * 0.05
CELL_SOUTH = math.floor(LAT / 0.05) * 0.05


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """West, south, east, north of an XYZ tile in degrees."""
    n = 2**z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def ids(decoded: dict) -> dict[str, dict]:
    """The `cases` features of a decoded tile by id."""
    return {f["properties"]["id"]: f for f in decoded.get("cases", {}).get("features", [])}


async def test_a_generalized_case_is_found_by_its_cell_and_never_by_its_true_place(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    coordinator = await make_person(db, settings, "coordinator")
    line = {"type": "LineString", "coordinates": [[WEST, LAT], [EAST, LAT]]}
    case = await make_case(client, paralegal, sensitivity="high_risk", country="AU", geometry=line)
    only_theirs = {"organization_id": str(paralegal.organization_id)}

    # The line's west end: its own organization sees it there; the coordinator sees nothing.
    assert case["id"] in ids(await get_tile(client, paralegal.headers, Z, WEST, LAT))
    west = await get_tile(client, coordinator.headers, Z, WEST, LAT, **only_theirs)
    assert case["id"] not in ids(west)

    # A tile inside the cell that the line does not cross: only the coordinator's cell is there.
    lon, lat = CELL_WEST + 0.04, CELL_SOUTH + 0.045
    _, south, _, north = tile_bounds(Z, *tile_of(lon, lat, Z))
    assert south > LAT or north < LAT  # the true line stays out of this tile
    assert case["id"] not in ids(await get_tile(client, paralegal.headers, Z, lon, lat))
    cell = ids(await get_tile(client, coordinator.headers, Z, lon, lat, **only_theirs))
    assert cell[case["id"]]["properties"]["generalized"] is True
    assert cell[case["id"]]["geometry"]["type"] == "Polygon"


async def test_the_cell_functions_inline_and_the_stored_cell_is_what_the_view_shows(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    # Not inlined, each generalized case cost two nested SQL function calls (~0.3 ms).
    plan = await db.scalar(
        text(
            "EXPLAIN (VERBOSE, COSTS OFF, FORMAT JSON) SELECT ej_cell(centroid, 0.05),"
            " ej_cell_point(centroid, 0.2) FROM cases"
        )
    )
    assert "ej_cell" not in str(plan)
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(
        client,
        paralegal,
        sensitivity="sensitive",
        geometry={"type": "Point", "coordinates": [CENTRE_LON, LAT]},
    )
    # A partner-level read generalizes sensitive cases: it shows the stored cell, which is the
    # cell computed now, to the byte (a redefined ej_cell would need the column recomputed).
    await db.execute(text("SELECT set_config('ej.viewer_role', 'admin', true)"))
    row = (
        await db.execute(
            text(
                "SELECT ST_AsEWKB(v.geom_3857) AS shown, ST_AsEWKB(c.cell_3857) AS stored,"
                " ST_AsEWKB(ST_Transform(ej_cell(c.centroid, 0.05), 3857)) AS computed"
                " FROM ej_cases('partner') v JOIN cases c USING (id) WHERE v.id = :id"
            ),
            {"id": case["id"]},
        )
    ).one()
    assert row.shown == row.stored == row.computed
    assert row.shown is not None
