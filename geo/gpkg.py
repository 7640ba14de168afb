"""GeoPackage 1.2 export: typed columns, one declared Multi* geometry type per layer.

A GeoPackage layer has one geometry type, so cases are promoted to Multi* and written to one
layer per dimension: `cases` (areas, and every generalized case, whose cell is an area),
`cases_lines` and `cases_points`. Integers, booleans, dates and timestamps keep their types.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC
from typing import Any

from geo.formats import ARRAY_SEPARATOR, PROPERTIES

LAYERS = {2: ("cases", "MultiPolygon"), 1: ("cases_lines", "MultiLineString")}
POINTS = ("cases_points", "MultiPoint")
TEXT = frozenset(
    {"reference", "title", "status", "sensitivity", "organization_id", "organization_name"}
    | {"organization_slug", "country", "place_name"}
)


def _columns(rows: list[Any]) -> tuple[list[str], list[Any], list[Any]]:
    """Field names, typed numpy columns and their null masks."""
    import numpy as np

    names, data, masks = [], [], []

    def add(name: str, values: list[Any], dtype: str) -> None:
        missing = np.array([v is None for v in values], dtype=bool)
        filler = {"int64": 0, "bool": False, "datetime64[D]": "NaT", "datetime64[ms]": "NaT"}
        fill = filler.get(dtype)
        column = np.array([fill if v is None else v for v in values], dtype=dtype)
        names.append(name)
        data.append(column)
        masks.append(missing if missing.any() and dtype in ("int64", "bool") else None)

    add("id", [r.id for r in rows], "object")
    for name in PROPERTIES:
        if name in TEXT:
            add(name, [getattr(r, name) for r in rows], "object")
    add("issue_types", [ARRAY_SEPARATOR.join(r.issue_types or []) for r in rows], "object")
    add("people_affected", [r.people_affected for r in rows], "int64")
    add("generalized", [bool(r.generalized) for r in rows], "bool")
    add("opened_on", [r.opened_on for r in rows], "datetime64[D]")
    updated = [r.updated_at.astimezone(UTC).replace(tzinfo=None) for r in rows]
    add("updated_at", updated, "datetime64[ms]")
    add("date_precision", [r.date_precision for r in rows], "object")
    return names, data, masks


def _write(
    path: str, rows: list[Any], layer: str, geometry_type: str, *, append: bool, new_file: bool
) -> None:
    import numpy as np
    import pyogrio.raw

    names, data, masks = _columns(rows)
    pyogrio.raw.write(
        path,
        np.array([bytes(r.geometry_wkb) for r in rows], dtype=object),
        data,
        fields=names,
        field_mask=masks,
        geometry_type=geometry_type,
        crs="EPSG:4326",
        driver="GPKG",
        layer=layer,
        encoding="UTF-8",
        append=append,
        dataset_options={"VERSION": "1.2"} if new_file else None,
    )


def _write_batch(path: str, rows: list[Any], created: set[str]) -> None:
    """Write a batch, each row to its dimension's layer; the first layer creates the file."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        groups.setdefault(LAYERS.get(row.dimension, POINTS), []).append(row)
    for (layer, geometry_type), members in groups.items():
        _write(path, members, layer, geometry_type, append=layer in created, new_file=not created)
        created.add(layer)


async def gpkg_stream(batches: AsyncIterable[list[Any]]) -> AsyncIterator[bytes]:
    """A GeoPackage built batch by batch on disk by GDAL, then streamed."""
    handle, path = tempfile.mkstemp(suffix=".gpkg")
    os.close(handle)
    os.unlink(path)
    try:
        created: set[str] = set()
        async for rows in batches:
            await asyncio.to_thread(_write_batch, path, rows, created)
        if not created:
            await asyncio.to_thread(
                _write, path, [], "cases", "MultiPolygon", append=False, new_file=True
            )
        with open(path, "rb") as gpkg:  # noqa: ASYNC230 (read in 1 MiB steps below)
            while chunk := await asyncio.to_thread(gpkg.read, 1 << 20):
                yield chunk
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
