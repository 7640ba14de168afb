"""Exact DBSCAN on the sphere in metres (haversine), on geo.sphere_grid's cells, with numpy.

A cell holding min_points points is all core, and no pair inside it is ever measured; only
pairs in nearby cells whose boxes are neither surely near nor surely far are measured, and
the measuring stops as soon as the answer is known. A million clustered cases take seconds.

The semantics are PostGIS's ST_ClusterDBSCAN, with the input order as the window's ORDER BY:
a point is core when at least min_points points (itself included) lie within eps; cores
within eps of each other share a cluster; a border point (not core, a core within eps) joins
the cluster of its first core neighbour in input order; every other point is noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo.sphere_grid import Bools, Floats, Grid, Ints, Points, Reach, chunks, components, expand

PROBE = 8  # points of a cell tried first when linking it to a neighbour
OCTANTS = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))
LINK_BATCH = 1 << 16  # pairs of cells linked between two updates of the components


@dataclass(frozen=True)
class Clusters:
    """DBSCAN's answer, one entry per input point, in input order."""

    labels: Ints  # cluster number from 0 (numbered by first member in input order); -1 noise
    core: Bools


def dbscan(lon: Floats, lat: Floats, *, eps_m: float, min_points: int) -> Clusters:
    """Exact DBSCAN with haversine distance <= eps_m; ties go to the earlier point in input."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    n = len(lon)
    labels = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return Clusters(labels, np.zeros(0, dtype=bool))
    reach = Reach.of(eps_m)
    grid = Grid.build(lon, lat, reach)
    pairs = grid.neighbour_pairs(reach)
    core = _core_points(grid, pairs, reach, min_points)
    cores = _Cores.of(grid, core)
    component = _core_components(cores, pairs, reach)
    cluster = np.full(n, -1, dtype=np.int64)  # by sorted point: component of its cell
    cluster[core] = component[grid.cell[core]]
    first_core = _border_links(grid, cores, core, pairs, reach)
    border = first_core >= 0
    cluster[border] = component[cores.cell_of_rank[first_core[border]]]
    labels[grid.rank] = cluster
    in_cluster = labels >= 0
    _, first = np.unique(labels[in_cluster], return_index=True)
    renumber = np.full(grid.count.size, -1, dtype=np.int64)
    ordered = labels[in_cluster][np.sort(first)]
    renumber[ordered] = np.arange(len(ordered))
    labels[in_cluster] = renumber[labels[in_cluster]]
    is_core = np.zeros(n, dtype=bool)
    is_core[grid.rank] = core
    return Clusters(labels, is_core)


def _core_points(grid: Grid, pairs: tuple[Ints, Ints], reach: Reach, min_points: int) -> Bools:
    """Whether each sorted point has min_points points (itself included) within eps."""
    pts = grid.points
    lo, hi = pts.boxes(grid.start)
    a, b = pairs
    whole, maybe, _ = reach.gaps(lo, hi, a, b)
    per_cell = grid.count.copy()  # a cell is a clique: its own points are all neighbours
    np.add.at(per_cell, a[whole], grid.count[b[whole]])
    np.add.at(per_cell, b[whole], grid.count[a[whole]])
    count = per_cell[grid.cell]
    maybe &= ~whole
    src = np.concatenate((a[maybe], b[maybe]))
    dst = np.concatenate((b[maybe], a[maybe]))
    short = per_cell[src] < min_points
    src, dst = src[short], dst[short]
    task, p = expand(grid.start[src], grid.count[src])
    other = dst[task]
    near_all, near_some = reach.point_gaps(pts, p, lo, hi, other)
    np.add.at(count, p[near_all], grid.count[other[near_all]])
    measure = near_some & ~near_all
    p, other = p[measure], other[measure]
    for part in chunks(grid.count[other]):
        live = count[p[part]] < min_points
        tp, to = p[part][live], other[part][live]
        t, q = expand(grid.start[to], grid.count[to])
        hit = reach.within(pts, tp[t], pts, q)
        np.add.at(count, tp[t[hit]], 1)
    return count >= min_points


@dataclass(frozen=True)
class _Cores:
    """The core points alone, by cell then input order, with their cells' boxes."""

    points: Points
    rank: Ints
    start: Ints  # per cell (of the grid); count 0 where a cell has no core
    count: Ints
    lo: Floats  # per cell; meaningless where count is 0
    hi: Floats
    cell_of_rank: Ints  # per input index: the cell of that core point, -1 if not core

    @classmethod
    def of(cls, grid: Grid, core: Bools) -> _Cores:
        index = np.flatnonzero(core)  # by cell, and within a cell in input order
        cells = grid.count.size
        count = np.bincount(grid.cell[index], minlength=cells).astype(np.int64)
        start = np.cumsum(count) - count
        points = grid.points.take(index)
        lo, hi = np.zeros((cells, 3)), np.zeros((cells, 3))
        has = np.flatnonzero(count)
        if len(has):
            lo[has], hi[has] = points.boxes(start[has])
        cell_of_rank = np.full(grid.rank.size, -1, dtype=np.int64)
        cell_of_rank[grid.rank[index]] = grid.cell[index]
        return cls(points, grid.rank[index], start, count, lo, hi, cell_of_rank)


def _core_components(cores: _Cores, pairs: tuple[Ints, Ints], reach: Reach) -> Ints:
    """Per cell, its cluster: cells whose cores hold a pair within eps are linked."""
    a, b = pairs
    both = (cores.count[a] > 0) & (cores.count[b] > 0)
    a, b = a[both], b[both]
    whole, maybe, gap = reach.gaps(cores.lo, cores.hi, a, b)
    component = components(cores.count.size, a[whole], b[whole])
    maybe &= ~whole
    # Nearest pairs first, a batch at a time: pairs already joined through others are skipped.
    order = np.flatnonzero(maybe)[np.argsort(gap[maybe], kind="stable")]
    a, b = a[order], b[order]
    for start in range(0, len(a), LINK_BATCH):
        pa, pb = a[start : start + LINK_BATCH], b[start : start + LINK_BATCH]
        found = np.zeros(len(pa), dtype=bool)
        # Each pair's points come from the larger cell and are measured against the smaller
        # one: first a few (input order scatters them over the cell), which settle most pairs
        # of dense cells, then all of them for the pairs still apart.
        big = np.where(cores.count[pa] >= cores.count[pb], pa, pb)
        small = np.where(big == pa, pb, pa)
        for limit in (PROBE, None):
            todo = np.flatnonzero(~found & (component[pa] != component[pb]))
            length = cores.count[big[todo]]
            length = length if limit is None else np.minimum(length, limit)
            task, p = expand(cores.start[big[todo]], length)
            _link(cores, reach, todo[task], p, small[todo[task]], found)
            # Join the components the new links join (a graph of components, not of cells).
            new = todo[found[todo]]
            merged = components(cores.count.size, component[pa[new]], component[pb[new]])
            component = merged[component]
    return component


def _link(cores: _Cores, reach: Reach, pair: Ints, p: Ints, other: Ints, found: Bools) -> None:
    """Mark found the pairs where core p has a core of cell `other` within eps."""
    near_all, near_some = reach.point_gaps(cores.points, p, cores.lo, cores.hi, other)
    found[pair[near_all]] = True
    keep = near_some & ~found[pair]
    pair, p, other = pair[keep], p[keep], other[keep]
    # Every pair's nearest candidates come before any pair's later ones, so most stop early.
    centre = (cores.lo[other] + cores.hi[other]) / 2
    by_pair = np.lexsort((((cores.points.xyz(p) - centre) ** 2).sum(axis=1), pair))
    ordinal = np.empty(len(pair), dtype=np.int64)
    ordinal[by_pair] = np.arange(len(pair)) - np.searchsorted(pair[by_pair], pair[by_pair])
    turn = np.argsort(ordinal, kind="stable")
    pair, p, other = pair[turn], p[turn], other[turn]
    for part in chunks(cores.count[other]):
        live = ~found[pair[part]]
        tp, to, tpair = p[part][live], other[part][live], pair[part][live]
        t, q = expand(cores.start[to], cores.count[to])
        hit = reach.within(cores.points, tp[t], cores.points, q)
        found[tpair[t[hit]]] = True


def _border_links(
    grid: Grid, cores: _Cores, core: Bools, pairs: tuple[Ints, Ints], reach: Reach
) -> Ints:
    """Per sorted point: the input index of its first core neighbour if it is a border point."""
    n = grid.rank.size
    first = np.full(n, n, dtype=np.int64)
    lonely = np.flatnonzero(~core)
    own = grid.cell[lonely]
    with_core = cores.count[own] > 0  # a cell is a clique: its first core is a neighbour
    first[lonely[with_core]] = cores.rank[cores.start[own[with_core]]]
    a, b = pairs
    src, dst = np.concatenate((a, b)), np.concatenate((b, a))
    noncore = np.bincount(grid.cell[lonely], minlength=grid.count.size)
    useful = (cores.count[dst] > 0) & (noncore[src] > 0)
    src, dst = src[useful], dst[useful]
    by_cell = lonely  # non-core points are already in cell order
    starts = np.cumsum(noncore) - noncore
    task, member = expand(starts[src], noncore[src])
    p, other = by_cell[member], dst[task]
    near_all, near_some = reach.point_gaps(grid.points, p, cores.lo, cores.hi, other)
    np.minimum.at(first, p[near_all], cores.rank[cores.start[other[near_all]]])
    keep = near_some & ~near_all
    p, other = p[keep], other[keep]
    seen = np.zeros(len(p), dtype=np.int64)  # cores of `other` already measured, in input order
    window = 16
    while len(p):
        # A cell whose next core comes after the best found so far cannot improve it.
        next_core = np.minimum(cores.start[other] + seen, cores.rank.size - 1)
        live = (seen < cores.count[other]) & (cores.rank[next_core] < first[p])
        p, other, seen = p[live], other[live], seen[live]
        step = np.minimum(cores.count[other] - seen, window)
        done = np.zeros(len(p), dtype=bool)
        for part in chunks(step):
            t, q = expand(cores.start[other[part]] + seen[part], step[part])
            hit = reach.within(grid.points, p[part][t], cores.points, q)
            # Members run in input order within a task, so its first hit is its earliest core.
            hit_task, first_hit = np.unique(t[hit], return_index=True)
            index = np.arange(part.start, part.stop)[hit_task]
            np.minimum.at(first, p[index], cores.rank[q[hit][first_hit]])
            done[index] = True
        seen = seen + step
        p, other, seen = p[~done], other[~done], seen[~done]
        window *= 4
    return np.where(first < n, first, -1)


def hull_candidates(x: Floats, y: Floats, starts: Ints) -> Bools:
    """Which points may lie on their group's convex hull: all but those strictly inside it.

    The groups are contiguous runs, each starting at an index of `starts` (ascending). Per
    group, the extreme points in eight directions (every 45 degrees) span a convex polygon
    inside the hull; a point strictly inside that polygon is inside the hull too, so the hull
    of the rest is the hull of all (the Akl-Toussaint heuristic). Points within a rounding
    error of the polygon's edges are kept: keeping a point never changes a hull.
    """
    n = len(x)
    if n == 0:
        return np.ones(0, dtype=bool)
    group = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, n)))
    index = np.arange(n)
    vertices = np.empty((len(starts), 8, 2))
    for k, (dx, dy) in enumerate(OCTANTS):  # counter-clockwise, so the polygon is too
        reach = dx * x + dy * y
        best = np.maximum.reduceat(reach, starts)
        first = np.minimum.reduceat(np.where(reach == best[group], index, n), starts)
        vertices[:, k, 0], vertices[:, k, 1] = x[first], y[first]
    spans = np.zeros(len(starts), dtype=bool)  # a group at one place has no inside
    inside = np.ones(n, dtype=bool)
    for k in range(8):
        a, b = vertices[:, k], vertices[:, (k + 1) % 8]
        edge = b - a
        length = np.hypot(edge[:, 0], edge[:, 1])
        spans |= length > 0
        # inside is to the left of a counter-clockwise edge; a point-sized edge says nothing
        cross = edge[group, 0] * (y - a[group, 1]) - edge[group, 1] * (x - a[group, 0])
        inside &= (length[group] == 0) | (cross > 1e-9 * (1 + length[group]))
    return ~(inside & spans[group])
