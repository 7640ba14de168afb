"""Checking client GeoJSON geometry before it is stored."""

from __future__ import annotations

import math
from typing import Any

import pytest

from corps.errors import Unprocessable
from geo.geometry import (
    ALLOWED_TYPES,
    MAX_VERTICES,
    GeometryError,
    check_geometry,
    to_ewkt,
)

QUARRY = [[36.78, -1.29], [36.79, -1.29], [36.79, -1.28], [36.78, -1.28], [36.78, -1.29]]
EXAMPLES: dict[str, list[Any]] = {
    "Point": [36.7833, -1.2921],  # a school next to the quarry
    "MultiPoint": [[36.781, -1.289], [36.785, -1.287], [36.789, -1.284]],  # air samplers
    "LineString": [[36.80, -1.28], [36.83, -1.27], [36.86, -1.26]],  # Nairobi River reach
    "MultiLineString": [
        [[36.80, -1.28], [36.81, -1.275]],
        [[36.84, -1.265], [36.85, -1.262], [36.86, -1.26]],
    ],  # two effluent drains
    "Polygon": [QUARRY],
    "MultiPolygon": [
        [QUARRY],
        [[[36.80, -1.30], [36.81, -1.30], [36.81, -1.295], [36.80, -1.30]]],
    ],  # quarry and a tailings pond
}
BOW_TIE = {
    "type": "Polygon",
    "coordinates": [
        [[36.78, -1.29], [36.79, -1.28], [36.79, -1.29], [36.78, -1.28], [36.78, -1.29]]
    ],
}


def refused(data: object, **kwargs: Any) -> GeometryError:
    """Check that data is refused and return the error."""
    with pytest.raises(GeometryError) as caught:
        check_geometry(data, **kwargs)
    return caught.value


def only_loc(error: GeometryError) -> list[str | int]:
    """The loc of the single error listed in the problem."""
    [entry] = error.extra["errors"]
    assert entry["msg"]
    return entry["loc"]


@pytest.mark.parametrize("kind", ALLOWED_TYPES)
def test_each_accepted_type_is_stored_as_sent(kind: str) -> None:
    checked = check_geometry({"type": kind, "coordinates": EXAMPLES[kind]})
    assert checked.geojson == {"type": kind, "coordinates": EXAMPLES[kind]}
    assert checked.shape.geom_type == kind
    assert checked.shape.is_valid
    assert (checked.repaired, checked.repair_note) == (False, None)
    assert to_ewkt(checked).startswith(f"SRID=4326;{kind.upper()} ")


def test_error_is_a_422_invalid_geometry_problem() -> None:
    error = refused({"type": "Point", "coordinates": [200, 0]})
    assert isinstance(error, Unprocessable)
    assert (error.status, error.slug, error.title) == (422, "invalid-geometry", "Invalid geometry")


def test_altitude_is_dropped() -> None:
    river = [[36.80, -1.28, 1650.0], [36.83, -1.27, 1640], [36.86, -1.26, 1632.5]]
    checked = check_geometry({"type": "LineString", "coordinates": river})
    assert checked.geojson["coordinates"] == [p[:2] for p in river]
    assert not checked.shape.has_z
    assert to_ewkt(checked) == "SRID=4326;LINESTRING (36.8 -1.28, 36.83 -1.27, 36.86 -1.26)"


def test_out_of_range_longitude_is_named_with_its_position() -> None:
    ring = [[36.78, -1.29], [36.79, -1.29], [181.0, -1.28], [36.78, -1.29]]
    error = refused({"type": "MultiPolygon", "coordinates": [EXAMPLES["Polygon"], [ring]]})
    assert "Longitude 181.0 at coordinates[1][0][2] is outside [-180, 180]" in error.detail
    assert only_loc(error) == ["geometry", "coordinates", 1, 0, 2]


def test_out_of_range_latitude_is_named_without_a_swap_hint() -> None:
    line = [[100.0, 13.7], [100.5, -90.5]]
    error = refused({"type": "LineString", "coordinates": line})
    assert "Latitude -90.5 at coordinates[1] is outside [-90, 90]" in error.detail
    assert "swap" not in error.detail
    assert only_loc(error) == ["geometry", "coordinates", 1]


def test_swapped_pair_gets_a_hint_and_is_not_swapped() -> None:
    # Ciliwung river samples in Jakarta; the second was typed as [lat, lon].
    samples = [[106.85, -6.22], [-6.21, 106.86]]
    error = refused({"type": "MultiPoint", "coordinates": samples})
    assert "Latitude 106.86 at coordinates[1]" in error.detail
    assert "did you swap longitude and latitude?" in error.detail
    assert only_loc(error) == ["geometry", "coordinates", 1]


def test_unclosed_ring_is_named() -> None:
    hole = [[36.782, -1.288], [36.784, -1.288], [36.784, -1.286], [36.782, -1.286]]
    error = refused({"type": "Polygon", "coordinates": [QUARRY, hole]})
    assert "Polygon ring at coordinates[1] is not closed" in error.detail
    assert "[36.782, -1.288]" in error.detail
    assert only_loc(error) == ["geometry", "coordinates", 1]


@pytest.mark.parametrize(
    ("kind", "coordinates", "text", "loc"),
    [
        ("LineString", [[36.80, -1.28]], "LineString at coordinates has 1 positions", []),
        (
            "MultiLineString",
            [EXAMPLES["LineString"], [[36.9, -1.2]]],
            "LineString at coordinates[1] has 1 positions",
            [1],
        ),
        (
            "Polygon",
            [[[36.78, -1.29], [36.79, -1.29], [36.78, -1.29]]],
            "Polygon ring at coordinates[0] has 3 positions; it needs at least 4",
            [0],
        ),
    ],
)
def test_too_few_positions(kind: str, coordinates: list[Any], text: str, loc: list[int]) -> None:
    error = refused({"type": kind, "coordinates": coordinates})
    assert text in error.detail
    assert only_loc(error) == ["geometry", "coordinates", *loc]


@pytest.mark.parametrize("kind", ALLOWED_TYPES)
def test_empty_coordinates_are_refused(kind: str) -> None:
    error = refused({"type": kind, "coordinates": []})
    assert "coordinates is empty" in error.detail
    assert only_loc(error) == ["geometry", "coordinates"]


def test_empty_part_is_refused() -> None:
    error = refused({"type": "MultiPolygon", "coordinates": [[QUARRY], []]})
    assert "Polygon at coordinates[1] is empty" in error.detail
    assert only_loc(error) == ["geometry", "coordinates", 1]


def test_self_intersecting_polygon_is_refused_with_its_location() -> None:
    error = refused(BOW_TIE)
    assert "Self-intersection at (36.785, -1.285)" in error.detail
    assert "send ?repair=true" in error.detail
    assert error.extra["errors"] == [
        {"loc": ["geometry", "coordinates"], "msg": "Self-intersection at (36.785, -1.285)"}
    ]


def test_self_intersecting_polygon_is_repaired_on_request() -> None:
    checked = check_geometry(BOW_TIE, repair=True)
    assert checked.repaired
    assert checked.shape.is_valid
    assert checked.geojson["type"] in ("Polygon", "MultiPolygon")
    assert checked.shape.area == pytest.approx(0.00005)
    assert checked.repair_note is not None
    assert checked.repair_note.startswith("Self-intersection at (36.785, -1.285) repaired")


def test_repair_drops_parts_of_lower_dimension() -> None:
    spiked = [[[0, 0], [2, 0], [2, 1], [3, 1], [2, 1], [2, 2], [0, 2], [0, 0]]]
    checked = check_geometry({"type": "Polygon", "coordinates": spiked}, repair=True)
    assert checked.shape.geom_type == "Polygon"
    assert checked.shape.area == 4
    assert checked.repair_note is not None
    assert "dropped 1 part(s)" in checked.repair_note


def test_line_part_on_one_point_is_refused_then_dropped_by_repair() -> None:
    drains = {
        "type": "MultiLineString",
        "coordinates": [EXAMPLES["LineString"], [[36.9, -1.2]] * 2],
    }
    error = refused(drains)
    assert "Too few points in geometry component at (36.9, -1.2)" in error.detail
    assert "all the same point" in error.detail
    checked = check_geometry(drains, repair=True)
    assert checked.geojson == {"type": "MultiLineString", "coordinates": [EXAMPLES["LineString"]]}
    assert checked.repaired


def test_repair_leaves_a_valid_geometry_untouched() -> None:
    checked = check_geometry({"type": "Polygon", "coordinates": [QUARRY]}, repair=True)
    assert (checked.repaired, checked.repair_note) == (False, None)
    assert checked.geojson["coordinates"] == [QUARRY]


@pytest.mark.parametrize("repair", [False, True])
def test_zero_area_polygon_is_refused(repair: bool) -> None:
    flat = [[[36.78, -1.29], [36.79, -1.29], [36.80, -1.29], [36.78, -1.29]]]
    error = refused({"type": "Polygon", "coordinates": flat}, repair=repair)
    assert "zero area" in error.detail


@pytest.mark.parametrize("repair", [False, True])
def test_line_on_one_point_is_refused(repair: bool) -> None:
    error = refused({"type": "LineString", "coordinates": [[36.8, -1.28]] * 3}, repair=repair)
    assert "zero length" in error.detail


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused(bad: float) -> None:
    error = refused({"type": "LineString", "coordinates": [[36.8, -1.28], [36.83, bad]]})
    assert f"coordinates[1] holds {bad!r}, which is not a finite number" in error.detail
    assert only_loc(error) == ["geometry", "coordinates", 1]


@pytest.mark.parametrize("bad", [True, "36.78", None])
def test_non_numbers_are_refused(bad: object) -> None:
    error = refused({"type": "Point", "coordinates": [bad, -1.29]})
    assert f"holds {bad!r}, which is not a number" in error.detail
    assert only_loc(error) == ["geometry", "coordinates"]


def test_positions_with_more_than_three_values_are_refused() -> None:
    error = refused({"type": "MultiPoint", "coordinates": [[36.78, -1.29, 1650, 0]]})
    assert "Position at coordinates[0] must be [longitude, latitude]" in error.detail
    assert only_loc(error) == ["geometry", "coordinates", 0]


def test_vertex_limit() -> None:
    ring = [[36.78 + i / 1000, -1.29 + (i % 2) / 1000] for i in range(10)]
    line = {"type": "LineString", "coordinates": ring}
    assert len(check_geometry(line, max_vertices=10).geojson["coordinates"]) == 10
    error = refused({"type": "Polygon", "coordinates": [QUARRY, QUARRY, QUARRY]}, max_vertices=10)
    assert "Geometry has 15 vertices; at most 10 are accepted" in error.detail
    assert only_loc(error) == ["geometry", "coordinates"]


def test_default_vertex_limit_is_100_000() -> None:
    points = [[36.0, -1.0]] * (MAX_VERTICES + 1)
    error = refused({"type": "MultiPoint", "coordinates": points})
    assert "Geometry has 100,001 vertices; at most 100,000 are accepted" in error.detail


@pytest.mark.parametrize("kind", ["GeometryCollection", "FeatureCollection", "Circle"])
def test_other_types_are_refused_naming_the_accepted_ones(kind: str) -> None:
    error = refused({"type": kind, "geometries": [], "features": [], "coordinates": [0, 0]})
    assert f"Geometry type '{kind}' is not accepted" in error.detail
    assert ", ".join(ALLOWED_TYPES) in error.detail
    assert only_loc(error) == ["geometry", "type"]


def test_feature_is_refused_pointing_at_its_geometry() -> None:
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [36.8, -1.3]}}
    error = refused(feature)
    assert "send the Feature's geometry member" in error.detail
    assert only_loc(error) == ["geometry"]


@pytest.mark.parametrize(
    ("data", "loc"),
    [
        ([36.78, -1.29], ["geometry"]),
        ({"type": "Point"}, ["geometry", "coordinates"]),
        ({"type": "Point", "coordinates": "36.78,-1.29"}, ["geometry", "coordinates"]),
        ({"type": "LineString", "coordinates": [36.78, -1.29]}, ["geometry", "coordinates", 0]),
    ],
)
def test_malformed_input_is_refused(data: object, loc: list[str | int]) -> None:
    assert only_loc(refused(data)) == loc


def test_coordinates_are_kept_at_full_precision() -> None:
    checked = check_geometry(
        {"type": "Point", "coordinates": [36.123456789012, -1.2876543210987654]}
    )
    assert checked.geojson["coordinates"] == [36.123456789012, -1.2876543210987654]
    assert to_ewkt(checked) == "SRID=4326;POINT (36.123456789012 -1.2876543210987654)"
