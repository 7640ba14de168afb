"""Cells on the unit sphere for exact distance queries in metres (haversine), with numpy.

Points become unit vectors. On the unit sphere the chord c between two points and their
great-circle angle d are tied by c = 2 sin(d / 2), so "within eps metres" is "chord at most
h = 2 sin(eps / 2R)": no projection, and nothing special at the poles or the antimeridian.
A chord is computed from coordinate differences (accurate at short range); a pair whose chord
lies within a hair of h is decided by the haversine formula itself, so every answer is the
haversine one. Space is cut into cubes whose diagonal is just under h, so two points in one
cube are always within eps; boxes of points tell pairs surely near or surely far apart, and
only the rest are measured, in chunks of bounded size.
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

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]


def haversine_m(lon1: Floats, lat1: Floats, lon2: Floats, lat2: Floats) -> Floats:
    """Great-circle distance in metres on the sphere of mean Earth radius, in degrees in."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(np.subtract(lon2, lon1)) / 2) ** 2
    )
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0))))


@dataclass(frozen=True)
class Points:
    """Coordinates as separate contiguous columns: unit vector and degrees."""

    x: Floats
    y: Floats
    z: Floats
    lon: Floats
    lat: Floats

    def take(self, index: Ints) -> Points:
        """The points at `index`, in that order."""
        return Points(*(column[index] for column in self.columns()))

    def columns(self) -> tuple[Floats, Floats, Floats, Floats, Floats]:
        """x, y, z, lon, lat."""
        return self.x, self.y, self.z, self.lon, self.lat

    def boxes(self, start: Ints) -> tuple[Floats, Floats]:
        """Bounding boxes (lo, hi as (m, 3)) of the runs of points beginning at `start`."""
        xyz = np.column_stack((self.x, self.y, self.z))
        return np.minimum.reduceat(xyz, start), np.maximum.reduceat(xyz, start)

    def xyz(self, index: Ints) -> Floats:
        """Unit vectors of the points at `index`, as an (m, 3) array."""
        return np.column_stack((self.x[index], self.y[index], self.z[index]))


@dataclass(frozen=True)
class Reach:
    """The distance test: squared chords surely within, surely beyond, and eps for the rest."""

    eps_m: float
    sure: float  # chord^2 at most this: neighbours
    reach: float  # chord^2 above this: not neighbours

    @classmethod
    def of(cls, eps_m: float) -> Reach:
        """The test for eps_m metres."""
        h2 = (2 * math.sin(min(eps_m / EARTH_RADIUS_M, math.pi) / 2)) ** 2
        slack = h2 * BAND + math.sqrt(h2) * 1e-14  # and the float error of a short chord
        return cls(eps_m, h2 - slack, h2 + slack)

    def within(self, a: Points, ia: Ints, b: Points, ib: Ints) -> Bools:
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
        self, pts: Points, p: Ints, lo: Floats, hi: Floats, box: Ints
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

    def gaps(self, lo: Floats, hi: Floats, a: Ints, b: Ints) -> tuple[Bools, Bools, Floats]:
        """For boxes a and b: (all pairs of points surely within, some may be, squared gap)."""
        near2 = np.zeros(len(a))
        far2 = np.zeros(len(a))
        for axis in range(3):
            lo_a, hi_a, lo_b, hi_b = lo[a, axis], hi[a, axis], lo[b, axis], hi[b, axis]
            near = np.maximum(np.maximum(lo_b - hi_a, lo_a - hi_b), 0.0)
            far = np.maximum(hi_b - lo_a, hi_a - lo_b)
            near2 += near * near
            far2 += far * far
        return far2 <= self.sure, near2 <= self.reach, near2


@dataclass(frozen=True)
class Grid:
    """Points sorted by cell, and the cells: first point, count, integer coordinates."""

    points: Points
    rank: Ints  # input index of each sorted point
    cell: Ints  # cell of each sorted point
    start: Ints
    count: Ints
    ijk: Ints  # (cells, 3)
    key: Ints  # sorted; equal keys may (rarely) hold different ijk, so lookups check ijk
    base: int
    side: float
    exact: bool  # keys alone tell cells apart

    @classmethod
    def build(cls, lon: Floats, lat: Floats, reach: Reach) -> Grid:
        """Sort the points (degrees) into cells for this reach."""
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
        points = Points(*(np.ascontiguousarray(c[order]) for c in (*columns, lon, lat)))
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
            exact=exact,
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

    def neighbour_pairs(self, reach: Reach) -> tuple[Ints, Ints]:
        """Each unordered pair of distinct cells that may hold two points within eps, once."""
        span = math.ceil(math.sqrt(reach.reach) / self.side)
        pairs_a, pairs_b = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
        for di, dj in itertools.product(range(span + 1), range(-span, span + 1)):
            if (di, dj) < (0, 0):
                continue
            # The reachable dk form a run |dk| <= most (and dk > 0 beside the cell itself).
            rows = sum(max(abs(d) - 1, 0) ** 2 for d in (di, dj))
            most = max(
                (
                    k
                    for k in range(span + 1)
                    if rows + max(k - 1, 0) ** 2 <= reach.reach / self.side**2
                ),
                default=-1,
            )
            least = 1 if (di, dj) == (0, 0) else -most
            if most < least:
                continue
            if self.exact:  # neighbours along k have consecutive keys: one window per row
                shift = (di * self.base + dj) * self.base
                lo = np.searchsorted(self.key, self.key + shift + least, "left")
                hi = np.searchsorted(self.key, self.key + shift + most, "right")
                a, b = expand(lo, hi - lo)
                pairs_a.append(a)
                pairs_b.append(b)
                continue
            for dk in range(least, most + 1):
                other = self.lookup(self.ijk + np.array((di, dj, dk), dtype=np.int64))
                has = np.flatnonzero(other >= 0)
                pairs_a.append(has)
                pairs_b.append(other[has])
        return np.concatenate(pairs_a), np.concatenate(pairs_b)


def _key(ijk: Ints, base: int) -> Ints:
    # Injective while base^3 < 2^63 (eps above ~10 m); beyond, it wraps and lookups check ijk.
    shifted = ijk + base // 2
    with np.errstate(over="ignore"):
        return (shifted[:, 0] * base + shifted[:, 1]) * base + shifted[:, 2]


def expand(first: Ints, length: Ints) -> tuple[Ints, Ints]:
    """For tasks covering runs [first, first + length): (task of each member, member)."""
    total = int(length.sum())
    task = np.repeat(np.arange(len(length), dtype=np.int64), length)
    before = np.cumsum(length) - length
    return task, np.repeat(first - before, length) + np.arange(total, dtype=np.int64)


def chunks(length: Ints) -> Iterator[slice]:
    """Consecutive runs of tasks holding about CHUNK_PAIRS members each (at least one task)."""
    ends = np.cumsum(length)
    i = 0
    while i < len(length):
        done = int(ends[i - 1]) if i else 0
        j = max(int(np.searchsorted(ends, done + CHUNK_PAIRS, "right")), i + 1)
        yield slice(i, j)
        i = j


def components(nodes: int, u: Ints, v: Ints) -> Ints:
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
