"""Exact DBSCAN on the sphere in metres (haversine), on a grid of cells, vectorised with numpy.

Points become unit vectors. On the unit sphere the chord c between two points and their
great-circle angle d are tied by c = 2 sin(d / 2), so "within eps metres" is "chord at most
h = 2 sin(eps / 2R)": no projection, and nothing special at the poles or the antimeridian.
A chord is computed from coordinate differences (accurate at short range); a pair whose chord
lies within a hair of h is decided by the haversine formula itself, so every answer is the
haversine one.

Space is cut into cubes whose diagonal is just under h, so two points in one cube are always
neighbours: a cube holding min_points points is all core and no pair inside it is measured.
Only pairs in nearby cubes whose bounding boxes are neither surely near nor surely far are
measured, in chunks that stop as soon as the answer is known.

The semantics are PostGIS's ST_ClusterDBSCAN, with the input order as the window's ORDER BY:
a point is core when at least min_points points (itself included) lie within eps; cores
within eps of each other share a cluster; a border point (not core, a core within eps) joins
the cluster of its first core neighbour in input order; every other point is noise.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG); the sphere of the haversine formula
CHUNK_PAIRS = 1 << 20  # pairs measured per vectorised step: bounds memory to ~100 MB
BAND = 1e-9  # relative band around h^2 in which the haversine formula decides a pair
PROBE = 8  # points of a cell tried first when linking it to a neighbour

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]


@dataclass(frozen=True)
class Clusters:
    """DBSCAN's answer, one entry per input point, in input order."""

    labels: Ints  # cluster number from 0 (numbered by first member in input order); -1 noise
    core: Bools


def haversine_m(lon1: Floats, lat1: Floats, lon2: Floats, lat2: Floats) -> Floats:
    """Great-circle distance in metres on the sphere of mean Earth radius, in degrees in."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(np.subtract(lon2, lon1)) / 2) ** 2
    )
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0))))


@dataclass(frozen=True)
class _Points:
    """Coordinates as separate contiguous columns: unit vector and degrees."""

    x: Floats
    y: Floats
    z: Floats
    lon: Floats
    lat: Floats

    def take(self, index: Ints) -> _Points:
        return _Points(*(column[index] for column in self.columns()))

    def columns(self) -> tuple[Floats, Floats, Floats, Floats, Floats]:
        return self.x, self.y, self.z, self.lon, self.lat

    def boxes(self, start: Ints) -> tuple[Floats, Floats]:
        """Bounding boxes (lo, hi as (m, 3)) of the runs of points beginning at `start`."""
        xyz = np.column_stack((self.x, self.y, self.z))
        return np.minimum.reduceat(xyz, start), np.maximum.reduceat(xyz, start)

    def xyz(self, index: Ints) -> Floats:
        return np.column_stack((self.x[index], self.y[index], self.z[index]))


@dataclass(frozen=True)
class _Reach:
    """The distance test: squared chords surely within, surely beyond, and eps for the rest."""

    eps_m: float
    sure: float  # chord^2 at most this: neighbours
    reach: float  # chord^2 above this: not neighbours

    @classmethod
    def of(cls, eps_m: float) -> _Reach:
        h2 = (2 * math.sin(min(eps_m / EARTH_RADIUS_M, math.pi) / 2)) ** 2
        slack = h2 * BAND + math.sqrt(h2) * 1e-14  # and the float error of a short chord
        return cls(eps_m, h2 - slack, h2 + slack)

    def within(self, a: _Points, ia: Ints, b: _Points, ib: Ints) -> Bools:
        """Whether a[ia[k]] and b[ib[k]] are within eps (haversine), for every k."""
        dx, dy, dz = a.x[ia] - b.x[ib], a.y[ia] - b.y[ib], a.z[ia] - b.z[ib]
        d2 = dx * dx + dy * dy + dz * dz
        out = d2 <= self.sure
        unsure = np.flatnonzero(~out & (d2 <= self.reach))
        if len(unsure):
            pa, pb = ia[unsure], ib[unsure]
            out[unsure] = haversine_m(a.lon[pa], a.lat[pa], b.lon[pb], b.lat[pb]) <= self.eps_m
        return out

    def point_gaps(
        self, pts: _Points, p: Ints, lo: Floats, hi: Floats, box: Ints
    ) -> tuple[Bools, Bools]:
        """For points p against boxes lo[box], hi[box]: (all of the box surely within, some may)."""
        near2 = np.zeros(len(p))
        far2 = np.zeros(len(p))
        for axis, column in enumerate((pts.x, pts.y, pts.z)):
            c, low, high = column[p], lo[box, axis], hi[box, axis]
            below, above = low - c, c - high
            near = np.maximum(np.maximum(below, above), 0.0)
            far = np.maximum(high - c, c - low)
            near2 += near * near
            far2 += far * far
        return far2 <= self.sure, near2 <= self.reach

    def gaps(self, lo_a: Floats, hi_a: Floats, lo_b: Floats, hi_b: Floats) -> tuple[Bools, Bools]:
        """For pairs of boxes: (every pair of points surely within, some pair possibly within)."""
        near = np.maximum(0.0, np.maximum(lo_b - hi_a, lo_a - hi_b))
        far = np.maximum(hi_b - lo_a, hi_a - lo_b)
        return (far * far).sum(axis=1) <= self.sure, (near * near).sum(axis=1) <= self.reach


@dataclass(frozen=True)
class _Grid:
    """Points sorted by cell, and the cells: first point, count, integer coordinates."""

    points: _Points
    rank: Ints  # input index of each sorted point
    cell: Ints  # cell of each sorted point
    start: Ints
    count: Ints
    ijk: Ints  # (cells, 3)
    key: Ints  # sorted; equal keys may (rarely) hold different ijk, so lookups check ijk
    base: int
    side: float

    @classmethod
    def build(cls, lon: Floats, lat: Floats, reach: _Reach) -> _Grid:
        # Diagonal just under h: two points of one cell are always neighbours.
        side = math.sqrt(reach.sure / 3) * (1 - 1e-6)
        lam, phi = np.radians(lon), np.radians(lat)
        cos_phi = np.cos(phi)
        columns = (cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi))
        ijk = np.column_stack([np.floor(c / side).astype(np.int64) for c in columns])
        base = int(2 / side) + 8
        key = _key(ijk, base)
        # Stable sorts: within a cell, points stay in input order (the order ties follow).
        exact = base**3 < 2**62  # the key alone tells cells apart
        order = np.argsort(key, kind="stable") if exact else np.lexsort((*ijk.T[::-1], key))
        key = key[order]
        new = np.ones(len(order), dtype=bool)
        new[1:] = key[1:] != key[:-1]
        if not exact:
            new[1:] |= (ijk[order[1:]] != ijk[order[:-1]]).any(axis=1)
        start = np.flatnonzero(new)
        points = _Points(*(np.ascontiguousarray(c[order]) for c in (*columns, lon, lat)))
        return cls(
            points=points,
            rank=order.astype(np.int64),
            cell=np.cumsum(new) - 1,
            start=start,
            count=np.diff(np.append(start, len(order))),
            ijk=ijk[order[start]],
            key=key[start],
            base=base,
            side=side,
        )

    def lookup(self, ijk: Ints) -> Ints:
        """The cell at each integer coordinate, or -1 where no point lies."""
        key = _key(ijk, self.base)
        lo = np.searchsorted(self.key, key, "left")
        width = np.searchsorted(self.key, key, "right") - lo
        found = np.full(len(key), -1, dtype=np.int64)
        for t in range(int(width.max(initial=0))):
            at = np.where(t < width, lo + t, 0)
            match = (t < width) & (self.ijk[at] == ijk).all(axis=1)
            found[match] = at[match]
        return found

    def neighbour_pairs(self, reach: _Reach) -> tuple[Ints, Ints]:
        """Each unordered pair of distinct cells that may hold two points within eps, once."""
        span = math.ceil(math.sqrt(reach.reach) / self.side)
        pairs_a, pairs_b = [], []
        for offset in itertools.product(range(-span, span + 1), repeat=3):
            gap = sum(max(abs(o) - 1, 0) ** 2 for o in offset) * self.side**2
            if offset <= (0, 0, 0) or gap > reach.reach:  # each pair once, and only reachable
                continue
            other = self.lookup(self.ijk + np.array(offset, dtype=np.int64))
            has = np.flatnonzero(other >= 0)
            pairs_a.append(has)
            pairs_b.append(other[has])
        empty = np.zeros(0, dtype=np.int64)
        return np.concatenate([empty, *pairs_a]), np.concatenate([empty, *pairs_b])


def _key(ijk: Ints, base: int) -> Ints:
    # Injective while base^3 < 2^63 (eps above ~10 m); beyond, it wraps and lookups check ijk.
    shifted = ijk + base // 2
    with np.errstate(over="ignore"):
        return (shifted[:, 0] * base + shifted[:, 1]) * base + shifted[:, 2]


def _expand(first: Ints, length: Ints) -> tuple[Ints, Ints]:
    """For tasks covering runs [first, first + length): (task of each member, member)."""
    total = int(length.sum())
    task = np.repeat(np.arange(len(length), dtype=np.int64), length)
    before = np.cumsum(length) - length
    return task, np.repeat(first - before, length) + np.arange(total, dtype=np.int64)


def _chunks(length: Ints) -> Iterator[slice]:
    """Consecutive runs of tasks holding about CHUNK_PAIRS members each (at least one task)."""
    ends = np.cumsum(length)
    i = 0
    while i < len(length):
        done = int(ends[i - 1]) if i else 0
        j = max(int(np.searchsorted(ends, done + CHUNK_PAIRS, "right")), i + 1)
        yield slice(i, j)
        i = j


def _components(nodes: int, u: Ints, v: Ints) -> Ints:
    """Connected components of a graph: the smallest node of each component, per node."""
    parent = np.arange(nodes, dtype=np.int64)
    while True:
        ru, rv = parent[u], parent[v]
        differ = ru != rv
        if not differ.any():
            return parent
        ru, rv = ru[differ], rv[differ]
        np.minimum.at(parent, np.maximum(ru, rv), np.minimum(ru, rv))
        while True:  # point every node at its root
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand


def dbscan(lon: Floats, lat: Floats, *, eps_m: float, min_points: int) -> Clusters:
    """Exact DBSCAN with haversine distance <= eps_m; ties go to the earlier point in input."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    n = len(lon)
    labels = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return Clusters(labels, np.zeros(0, dtype=bool))
    reach = _Reach.of(eps_m)
    grid = _Grid.build(lon, lat, reach)
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


def _core_points(grid: _Grid, pairs: tuple[Ints, Ints], reach: _Reach, min_points: int) -> Bools:
    """Whether each sorted point has min_points points (itself included) within eps."""
    pts = grid.points
    lo, hi = pts.boxes(grid.start)
    a, b = pairs
    whole, maybe = reach.gaps(lo[a], hi[a], lo[b], hi[b])
    per_cell = grid.count.copy()  # a cell is a clique: its own points are all neighbours
    np.add.at(per_cell, a[whole], grid.count[b[whole]])
    np.add.at(per_cell, b[whole], grid.count[a[whole]])
    count = per_cell[grid.cell]
    maybe &= ~whole
    src = np.concatenate((a[maybe], b[maybe]))
    dst = np.concatenate((b[maybe], a[maybe]))
    short = per_cell[src] < min_points
    src, dst = src[short], dst[short]
    task, p = _expand(grid.start[src], grid.count[src])
    other = dst[task]
    near_all, near_some = reach.point_gaps(pts, p, lo, hi, other)
    np.add.at(count, p[near_all], grid.count[other[near_all]])
    measure = near_some & ~near_all
    p, other = p[measure], other[measure]
    for part in _chunks(grid.count[other]):
        live = count[p[part]] < min_points
        tp, to = p[part][live], other[part][live]
        t, q = _expand(grid.start[to], grid.count[to])
        hit = reach.within(pts, tp[t], pts, q)
        np.add.at(count, tp[t[hit]], 1)
    return count >= min_points


@dataclass(frozen=True)
class _Cores:
    """The core points alone, by cell then input order, with their cells' boxes."""

    points: _Points
    rank: Ints
    start: Ints  # per cell (of the grid); count 0 where a cell has no core
    count: Ints
    lo: Floats  # per cell; meaningless where count is 0
    hi: Floats
    cell_of_rank: Ints  # per input index: the cell of that core point, -1 if not core

    @classmethod
    def of(cls, grid: _Grid, core: Bools) -> _Cores:
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


def _core_components(cores: _Cores, pairs: tuple[Ints, Ints], reach: _Reach) -> Ints:
    """Per cell, its cluster: cells whose cores hold a pair within eps are linked."""
    a, b = pairs
    both = (cores.count[a] > 0) & (cores.count[b] > 0)
    a, b = a[both], b[both]
    whole, maybe = reach.gaps(cores.lo[a], cores.hi[a], cores.lo[b], cores.hi[b])
    a, b = (
        np.concatenate((a[whole], a[maybe & ~whole])),
        np.concatenate((b[whole], b[maybe & ~whole])),
    )
    found = np.arange(len(a)) < whole.sum()
    # Each pair's points come from the larger cell and are measured against the smaller one;
    # first a few of them (input order scatters them over the cell), which settle most pairs
    # of dense cells, then all of them for the pairs still apart.
    big = np.where(cores.count[a] >= cores.count[b], a, b)
    small = np.where(big == a, b, a)
    for limit in (PROBE, None):
        component = _components(cores.count.size, a[found], b[found])
        todo = np.flatnonzero(~found & (component[a] != component[b]))
        length = cores.count[big[todo]]
        task, p = _expand(
            cores.start[big[todo]], length if limit is None else np.minimum(length, limit)
        )
        _link(cores, reach, todo[task], p, small[todo[task]], found)
    return _components(cores.count.size, a[found], b[found])


def _link(cores: _Cores, reach: _Reach, pair: Ints, p: Ints, other: Ints, found: Bools) -> None:
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
    for part in _chunks(cores.count[other]):
        live = ~found[pair[part]]
        tp, to, tpair = p[part][live], other[part][live], pair[part][live]
        t, q = _expand(cores.start[to], cores.count[to])
        hit = reach.within(cores.points, tp[t], cores.points, q)
        found[tpair[t[hit]]] = True


def _border_links(
    grid: _Grid, cores: _Cores, core: Bools, pairs: tuple[Ints, Ints], reach: _Reach
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
    task, member = _expand(starts[src], noncore[src])
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
        for part in _chunks(step):
            t, q = _expand(cores.start[other[part]] + seen[part], step[part])
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
