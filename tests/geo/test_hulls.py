"""geo.clustering.hull_candidates drops only points whose removal leaves every hull the same."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo.clustering import hull_candidates


def hull(x: np.ndarray, y: np.ndarray) -> shapely.Geometry:
    return shapely.convex_hull(shapely.multipoints(np.column_stack((x, y))))


@pytest.mark.parametrize("shape", ["scattered", "on a grid", "on a line", "one place"])
def test_the_hull_of_the_candidates_is_the_hull_of_all(shape: str) -> None:
    rng = np.random.default_rng(15)
    for _ in range(50):
        n = int(rng.integers(1, 300))
        group = np.unique(
            np.sort(rng.integers(0, int(rng.integers(1, 6)), n)), return_inverse=True
        )[1]
        x, y = rng.normal(0, 10, n), rng.normal(0, 10, n)
        if shape == "on a grid":  # ties at every extreme, duplicates
            x, y = np.round(x), np.round(y)
        elif shape == "on a line":
            y = 2 * x + 1
        elif shape == "one place":
            x, y = np.full(n, 5.0), np.full(n, 7.0)
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        keep = hull_candidates(x, y, starts)
        for g in range(group.max() + 1):
            mine = group == g
            assert shapely.equals(hull(x[mine], y[mine]), hull(x[mine & keep], y[mine & keep]))
    if shape == "scattered":  # and most points are left out: that is what it is for
        assert keep.mean() < 0.5
