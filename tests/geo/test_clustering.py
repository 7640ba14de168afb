"""geo.clustering's grid DBSCAN against a brute-force haversine DBSCAN, written independently.

The reference measures every pair with the haversine formula (atan2 form) and then follows
PostGIS's ST_ClusterDBSCAN literally: points in input order; a point with min_points points
within eps (itself included) is core, merges with the clusters of the core points it reaches
and claims every unclaimed point it reaches. The data are what a corps looks like: sites of
very different density, duplicates, noise, chains spaced a hair under and over eps, and
sites across the antimeridian and around both poles.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from geo.clustering import dbscan

R = 6_371_008.8


def reference_dbscan(
    lon: np.ndarray, lat: np.ndarray, eps_m: float, min_points: int
) -> tuple[np.ndarray, np.ndarray]:
    """Labels (numbered by first member in input order, -1 noise) and core flags, brute force."""
    phi, lam = np.radians(lat), np.radians(lon)
    n = len(lon)
    label = np.full(n, -1)
    core = np.zeros(n, dtype=bool)
    clusters = 0
    for p in range(n):
        a = np.sin((phi - phi[p]) / 2) ** 2 + np.cos(phi) * math.cos(phi[p]) * (
            np.sin((lam - lam[p]) / 2) ** 2
        )
        distance = 2 * R * np.arctan2(np.sqrt(a), np.sqrt(np.maximum(1 - a, 0)))
        near = np.flatnonzero(distance <= eps_m)
        if len(near) < min_points:
            continue
        core[p] = True
        if label[p] < 0:
            label[p] = clusters
            clusters += 1
        for other in np.unique(label[near[core[near] & (label[near] >= 0)]]):
            label[label == other] = label[p]
        unclaimed = near[label[near] < 0]
        label[unclaimed] = label[p]
    seen: dict[int, int] = {}
    numbered = np.array([seen.setdefault(int(x), len(seen)) if x >= 0 else -1 for x in label])
    return numbered, core


def offset(lon: float, lat: float, bearing_deg: float, metres: float) -> tuple[float, float]:
    """The point `metres` from (lon, lat) along a great circle at `bearing_deg` (exact)."""
    d, b = metres / R, math.radians(bearing_deg)
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(
        math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2)
    )
    return (math.degrees(l2) + 540) % 360 - 180, math.degrees(p2)


def sites(
    rng: np.random.Generator, centres: list[tuple[float, float, float, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian sites: (lon, lat, spread in metres, cases) each; bearings and distances random."""
    lon, lat = [], []
    for clon, clat, spread, count in centres:
        for bearing, metres in zip(
            rng.uniform(0, 360, count), np.abs(rng.normal(0, spread, count)), strict=True
        ):
            x, y = offset(clon, clat, bearing, metres)
            lon.append(x)
            lat.append(y)
    return np.array(lon), np.array(lat)


def chain(
    lon: float, lat: float, bearing: float, step_m: float, count: int
) -> tuple[list[float], list[float]]:
    """`count` points `step_m` apart along a great circle."""
    xs, ys = [lon], [lat]
    for _ in range(count - 1):
        x, y = offset(xs[-1], ys[-1], bearing, step_m)
        xs.append(x)
        ys.append(y)
    return xs, ys


def corps(seed: int, eps_m: float) -> tuple[np.ndarray, np.ndarray]:
    """A corps' cases: dense and sparse sites, background noise, duplicates, edge chains."""
    rng = np.random.default_rng(seed)
    lon, lat = sites(
        rng,
        [
            (36.8, -1.3, 3_000, 700),  # a dense city site
            (37.1, -1.1, 15_000, 300),  # its sprawling neighbour
            (10.0, 60.0, 8_000, 200),  # far north: degrees of longitude are short
            (-70.0, -52.0, 20_000, 60),  # sparse
            (120.0, 15.0, 40_000, 40),  # very sparse: mostly noise at small eps
            (179.97, -17.0, 6_000, 150),  # Fiji, across the antimeridian
            (-179.9, 65.0, 12_000, 80),  # Chukotka, across it far north
            (45.0, 89.97, 4_000, 80),  # around the North Pole
            (-120.0, -89.9, 9_000, 60),  # around the South Pole
        ],
    )
    background = (rng.uniform(-180, 180, 300), np.degrees(np.arcsin(rng.uniform(-1, 1, 300))))
    xs, ys = list(lon) + list(background[0]), list(lat) + list(background[1])
    for clon, clat, bearing in [(20.0, 0.0, 90), (-60.0, 45.0, 0), (5.0, 70.0, 37), (179.9, 1, 90)]:
        for step in (eps_m - 0.5, eps_m + 0.5):  # a hair under and over eps
            cx, cy = chain(clon, clat + (1 if step > eps_m else 0), bearing, step, 6)
            xs += cx
            ys += cy
    points = np.column_stack((xs, ys))
    twins = rng.choice(len(points), 150)  # duplicates: the same place reported again
    points = np.concatenate([points, np.repeat(points[twins], rng.integers(1, 12, 150), axis=0)])
    points = points[rng.permutation(len(points))]
    return points[:, 0], points[:, 1]


@pytest.mark.parametrize(
    ("seed", "eps_m", "min_points"),
    [
        (1, 25_000, 3),
        (2, 5_000, 5),
        (3, 1_000, 10),
        (4, 150_000, 60),
        (5, 40, 3),
        (6, 12_000, 2),
        (7, 4, 2),  # cells so small that their keys wrap: lookups check coordinates
    ],
)
def test_grid_dbscan_is_the_brute_force_haversine_dbscan(
    seed: int, eps_m: float, min_points: int
) -> None:
    lon, lat = corps(seed, eps_m)
    expected, expected_core = reference_dbscan(lon, lat, eps_m, min_points)
    found = dbscan(lon, lat, eps_m=eps_m, min_points=min_points)
    assert np.array_equal(found.core, expected_core)
    assert np.array_equal(found.labels, expected)
    # The data exercise what they should: clusters, noise and (from 3 points) border points.
    assert expected.max() >= 3 and (expected < 0).any()
    assert (~expected_core & (expected >= 0)).any() or min_points == 2


def test_points_a_hair_apart_either_side_of_eps() -> None:
    eps = 10_000.0
    under = chain(0.0, 0.0, 90, eps - 0.01, 3)
    over = chain(0.0, 10.0, 0, eps + 0.01, 3)
    found = dbscan(
        np.array(under[0] + over[0]), np.array(under[1] + over[1]), eps_m=eps, min_points=2
    )
    assert found.labels.tolist() == [0, 0, 0, -1, -1, -1]


def test_a_border_point_joins_the_cluster_of_its_first_core_neighbour_in_input_order() -> None:
    eps = 1_000.0
    left = [offset(0.0, 0.0, 270, d) for d in (900, 1_150, 1_400, 1_650)]
    right = [offset(0.0, 0.0, 90, d) for d in (900, 1_150, 1_400, 1_650)]
    middle = [(0.0, 0.0)]  # 900 m from one core of each side; sees 3 points, not 4
    for first, second in ((left, right), (right, left)):
        lon, lat = np.array(middle + first + second).T
        found = dbscan(lon, lat, eps_m=eps, min_points=4)
        expected, core = reference_dbscan(lon, lat, eps, 4)
        assert not found.core[0] and found.core[1] and found.core[5]
        assert found.labels[0] == found.labels[1] != found.labels[5]
        assert np.array_equal(found.labels, expected) and np.array_equal(found.core, core)


def test_a_site_around_the_pole_and_one_across_the_antimeridian_are_one_cluster_each() -> None:
    rng = np.random.default_rng(7)
    lon, lat = sites(rng, [(0.0, 89.99, 500, 50), (180.0, 0.0, 500, 50)])
    found = dbscan(lon, lat, eps_m=3_000, min_points=3)
    assert found.labels.tolist() == [0] * 50 + [1] * 50


def test_no_points_and_no_clusters() -> None:
    assert dbscan(np.zeros(0), np.zeros(0), eps_m=100, min_points=2).labels.size == 0
    found = dbscan(np.array([0.0, 1.0]), np.array([0.0, 1.0]), eps_m=100, min_points=2)
    assert found.labels.tolist() == [-1, -1] and not found.core.any()
