"""Reference-layer files for the tests: GeoJSON, zipped shapefiles, GeoPackages, uploads."""

from __future__ import annotations

import io
import uuid
import warnings
import zipfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pyogrio.raw
import shapely
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from maps.models import ReferenceLayer
from testing.factories import Person

# Covers the demo quarry (lon 36.78-36.79, lat -1.29 - -1.28) with a margin of 0.005 degrees.
CONCESSION_BOX = (36.775, -1.295, 36.795, -1.275)
# The same corners in UTM zone 37S (EPSG:32737), to the centimetre.
CONCESSION_UTM = [
    (252413.43, 9856754.66),
    (254640.04, 9856756.60),
    (254638.13, 9858968.86),
    (252411.50, 9858966.95),
    (252413.43, 9856754.66),
]
FAR_AWAY_BOX = (30.0, -3.0, 30.01, -2.99)
BOW_TIE = {
    "type": "Polygon",
    "coordinates": [
        [[36.70, -1.20], [36.71, -1.21], [36.71, -1.20], [36.70, -1.21], [36.70, -1.20]]
    ],
}


def box(minx: float, miny: float, maxx: float, maxy: float) -> dict[str, Any]:
    """A GeoJSON rectangle."""
    ring = [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]
    return {"type": "Polygon", "coordinates": [ring]}


def geojson(*features: tuple[dict[str, Any] | None, dict[str, Any]]) -> bytes:
    """A FeatureCollection of (geometry, properties) pairs."""
    return orjson.dumps(
        {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": g, "properties": p} for g, p in features],
        }
    )


def write_layer(
    path: Path,
    driver: str,
    geometries: list[Any],
    fields: dict[str, Any],
    *,
    crs: str | None,
    layer: str | None = None,
) -> None:
    """Write shapely geometries and attributes with GDAL, as a GIS user's tool would."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyogrio warns when crs is None, on purpose here
        pyogrio.raw.write(
            str(path),
            geometry=np.array([shapely.to_wkb(g) for g in geometries], dtype=object),
            field_data=[_column(values) for values in fields.values()],
            fields=list(fields),
            driver=driver,
            geometry_type="Unknown" if driver == "GPKG" else "Polygon",
            crs=crs,
            layer=layer,
        )


def _column(values: list[Any]) -> Any:
    column = np.asarray(values)
    return column.astype(object) if column.dtype.kind == "U" else column


def zipped(files: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip archive of the given members."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


def utm_shapefile_zip(tmp_path: Path, *, with_prj: bool = True) -> bytes:
    """The concession as a zipped Shapefile in UTM zone 37S, inside a folder."""
    write_layer(
        tmp_path / "concession.shp",
        "ESRI Shapefile",
        [shapely.Polygon(CONCESSION_UTM)],
        {"LICENSE": ["PML/2019/0042"], "HOLDER": ["Acme Quarries Ltd"]},
        crs="EPSG:32737",
    )
    exts = [".shp", ".shx", ".dbf", ".cpg"] + ([".prj"] if with_prj else [])
    return zipped({f"data/concession{e}": (tmp_path / f"concession{e}").read_bytes() for e in exts})


async def post_layer(
    client: httpx.AsyncClient,
    person: Person | None,
    data: bytes,
    filename: str = "layer.geojson",
    *,
    name: str | None = None,
    kind: str = "concession",
) -> httpx.Response:
    """Upload a layer as multipart."""
    return await client.post(
        "/api/v1/layers",
        headers=person.headers if person else {},
        files={"file": (filename, data, "application/octet-stream")},
        data={"name": name or f"Layer {uuid.uuid4().hex[:8]}", "kind": kind},
    )


async def layer_count(db: AsyncSession, name: str) -> int:
    return int(
        await db.scalar(
            select(func.count()).select_from(ReferenceLayer).where(ReferenceLayer.name == name)
        )
        or 0
    )


async def concession_layer(client: httpx.AsyncClient, coordinator: Person) -> dict[str, Any]:
    """Upload the GeoJSON concession layer (one concession at the quarry, one far away)."""
    data = geojson(
        (box(*CONCESSION_BOX), {"name": "Kilimani quarry block", "holder": "Acme"}),
        (box(*FAR_AWAY_BOX), {"name": "Far block", "holder": "Other"}),
    )
    response = await post_layer(client, coordinator, data)
    assert response.status_code == 201, response.text
    return dict(response.json())
