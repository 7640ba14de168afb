"""DBSCAN in metres, in SQL (the advocacy suggestions' proximity groups): a wide first pass in
Web Mercator, then each cluster in its own azimuthal equidistant projection.

The first pass widens the distance for the most poleward point, so it finds a superset of the
true neighbours; the second pass, centred on each candidate cluster, measures distances true to
within a few metres. Hotspots use geo.clustering's exact haversine DBSCAN instead.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import bindparam, func, select

MAX_LATITUDE = 85.0


def metric_dbscan(
    pts: Any, *, eps_m: float, min_points: int, max_lat: float, partition: Any = None
) -> Any:
    """CTE of pts (with `id` and `pt` columns) plus `candidate` and `sub`: cluster keys in metres.

    Rows with a NULL `sub` are noise. `partition` (a column of pts) clusters each group apart.
    """
    eps_mercator = eps_m / math.cos(math.radians(min(max_lat, MAX_LATITUDE)))
    groups = [partition] if partition is not None else []
    first = select(
        pts,
        func.ST_ClusterDBSCAN(
            func.ST_Transform(pts.c.pt, 3857), bindparam("eps_c", eps_mercator), min_points
        )
        .over(partition_by=groups or None, order_by=pts.c.id)
        .label("first_pass"),
    ).cte("first")
    key = [first.c[partition.name]] if partition is not None else []
    first_keyed = (
        select(first, func.concat_ws(":", *key, first.c.first_pass).label("candidate"))
        .where(first.c.first_pass.is_not(None))
        .cte("first_keyed")
    )
    centres = (
        select(
            first_keyed.c.candidate, func.ST_Centroid(func.ST_Collect(first_keyed.c.pt)).label("c")
        )
        .group_by(first_keyed.c.candidate)
        .cte("centres")
    )
    aeqd = func.concat(
        "+proj=aeqd +lat_0=",
        func.ST_Y(centres.c.c),
        " +lon_0=",
        func.ST_X(centres.c.c),
        " +datum=WGS84 +units=m +no_defs",
    )
    return (
        select(
            first_keyed,
            func.ST_ClusterDBSCAN(
                func.ST_Transform(first_keyed.c.pt, aeqd), bindparam("eps_m", eps_m), min_points
            )
            .over(partition_by=first_keyed.c.candidate, order_by=first_keyed.c.id)
            .label("sub"),
        )
        .join(centres, centres.c.candidate == first_keyed.c.candidate)
        .cte("second")
    )
