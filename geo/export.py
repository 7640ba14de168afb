"""Export a filtered case set as GeoJSON, CSV, KML or GeoPackage, streamed, privacy applied."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator
from enum import StrEnum
from html import escape
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Date, Text, case, cast, func, null, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cases.filters import CaseFilters, case_filters
from cases.models import Case
from cases.visibility import case_visibility
from corps.auth.actor import Actor, CurrentActor, Role
from corps.errors import Forbidden
from corps.viewer import Viewer, name_viewer
from geo.privacy import Level, cell_size, generalized_centroid, generalized_geometry

router = APIRouter(prefix="/api/v1", tags=["maps"])
BATCH = 1000


class ExportFormat(StrEnum):
    """The formats a case set can be exported in."""

    geojson = "geojson"
    csv = "csv"
    kml = "kml"
    gpkg = "gpkg"


MEDIA_TYPES = {
    ExportFormat.geojson: "application/geo+json",
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.kml: "application/vnd.google-earth.kml+xml",
    ExportFormat.gpkg: "application/geopackage+sqlite3",
}
CSV_COLUMNS = [
    "id",
    "reference",
    "title",
    "status",
    "issue_types",
    "sensitivity",
    "organization_id",
    "country",
    "place_name",
    "people_affected",
    "opened_on",
    "updated_at",
    "generalized",
    "longitude",
    "latitude",
    "geometry_wkt",
]


def export_rows(actor: Actor, filters: CaseFilters, level: Level) -> Any:
    """SELECT of exportable rows: visible, filtered, generalized for the level, public-safe."""
    size = cell_size(
        actor, sensitivity=Case.sensitivity, organization_id=Case.organization_id, level=level
    )
    shown = generalized_geometry(Case.geometry, Case.centroid, size)
    centre = generalized_centroid(Case.centroid, size)
    public = level == Level.public
    month = lambda column: func.to_char(column, "YYYY-MM")  # noqa: E731
    stmt = select(
        cast(Case.id, Text).label("id"),
        Case.reference,
        Case.title,
        Case.status,
        func.array_to_string(Case.issue_types, ",").label("issue_types"),
        Case.sensitivity,
        cast(Case.organization_id, Text).label("organization_id"),
        Case.country,
        (null() if public else case((size.is_(None), Case.place_name))).label("place_name"),
        Case.people_affected,
        (month(Case.opened_on) if public else cast(cast(Case.opened_on, Date), Text)).label(
            "opened_on"
        ),
        (month(Case.updated_at) if public else cast(Case.updated_at, Text)).label("updated_at"),
        size.is_not(None).label("generalized"),
        func.ST_X(centre).label("longitude"),
        func.ST_Y(centre).label("latitude"),
        func.ST_AsText(shown).label("geometry_wkt"),
        func.ST_AsGeoJSON(shown, 15).label("geometry_json"),
        func.ST_AsKML(shown, 15).label("geometry_kml"),
        func.ST_AsBinary(shown).label("geometry_wkb"),
    ).where(case_visibility(actor), *filters.clauses(cell=size))
    if public:
        stmt = stmt.where(Case.sensitivity != "high_risk")
    return stmt.order_by(Case.created_at, Case.id)


async def _batches(engine: AsyncEngine, stmt: Any) -> AsyncIterator[list[Any]]:
    async with engine.connect() as conn:
        await name_viewer(conn, stmt.get_execution_options().get("ej_viewer"))
        result = await conn.stream(stmt)
        async for rows in result.partitions(BATCH):
            yield list(rows)


def _properties(row: Any) -> dict[str, Any]:
    return {k: getattr(row, k) for k in CSV_COLUMNS[1:13]}


async def geojson_stream(engine: AsyncEngine, stmt: Any) -> AsyncIterator[bytes]:
    """A FeatureCollection, one batch of features at a time."""
    yield b'{"type":"FeatureCollection","features":['
    first = True
    async for rows in _batches(engine, stmt):
        parts = []
        for row in rows:
            feature = (
                b'{"type":"Feature","id":'
                + orjson.dumps(row.id)
                + b',"geometry":'
                + row.geometry_json.encode()
                + b',"properties":'
                + orjson.dumps(_properties(row))
                + b"}"
            )
            parts.append(feature if first else b"," + feature)
            first = False
        yield b"".join(parts)
    yield b"]}"


async def csv_stream(engine: AsyncEngine, stmt: Any) -> AsyncIterator[bytes]:
    """CSV with a header, the centroid as longitude/latitude and the geometry as WKT."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue().encode()
    async for rows in _batches(engine, stmt):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([getattr(row, column) for column in CSV_COLUMNS] for row in rows)
        yield buffer.getvalue().encode()


async def kml_stream(engine: AsyncEngine, stmt: Any) -> AsyncIterator[bytes]:
    """KML 2.2 with one Placemark per case and its properties as ExtendedData."""
    yield (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">'
        b"<Document><name>EJ Corps cases</name>"
    )
    async for rows in _batches(engine, stmt):
        out = []
        for row in rows:
            data = "".join(
                f'<Data name="{key}"><value>{escape(str(value))}</value></Data>'
                for key, value in _properties(row).items()
                if value is not None
            )
            out.append(
                f'<Placemark id="c{row.id}"><name>{escape(row.title)}</name>'
                f"<ExtendedData>{data}</ExtendedData>{row.geometry_kml}</Placemark>"
            )
        yield "".join(out).encode()
    yield b"</Document></kml>"


def _write_gpkg(path: str, rows: list[Any], append: bool) -> None:
    import numpy as np
    import pyogrio.raw

    fields = [np.array([getattr(r, c) for r in rows], dtype=object) for c in CSV_COLUMNS[:13]]
    pyogrio.raw.write(
        path,
        np.array([bytes(r.geometry_wkb) for r in rows], dtype=object),
        fields,
        fields=CSV_COLUMNS[:13],
        geometry_type="Unknown",
        crs="EPSG:4326",
        driver="GPKG",
        layer="cases",
        encoding="UTF-8",
        append=append,
    )


async def gpkg_stream(engine: AsyncEngine, stmt: Any) -> AsyncIterator[bytes]:
    """A GeoPackage (layer `cases`), built batch by batch on disk by GDAL, then streamed."""
    handle, path = tempfile.mkstemp(suffix=".gpkg")
    os.close(handle)
    os.unlink(path)
    try:
        written = False
        async for rows in _batches(engine, stmt):
            await asyncio.to_thread(_write_gpkg, path, rows, written)
            written = True
        if not written:
            await asyncio.to_thread(_write_gpkg, path, [], False)
        with open(path, "rb") as gpkg:  # noqa: ASYNC230 (read in 1 MiB steps below)
            while chunk := await asyncio.to_thread(gpkg.read, 1 << 20):
                yield chunk
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


STREAMS = {
    ExportFormat.geojson: geojson_stream,
    ExportFormat.csv: csv_stream,
    ExportFormat.kml: kml_stream,
    ExportFormat.gpkg: gpkg_stream,
}


def check_level(actor: Actor, level: Level) -> None:
    """Campaigners export partner or public levels only."""
    if actor.role == Role.campaigner and level == Level.internal:
        raise Forbidden("Campaigners export at the partner or public level.")


@router.get("/cases/export", response_class=StreamingResponse)
async def export_cases(
    request: Request,
    actor: CurrentActor,
    filters: Annotated[CaseFilters, Depends(case_filters)],
    format: Annotated[ExportFormat, Query()] = ExportFormat.geojson,
    level: Annotated[Level, Query()] = Level.internal,
) -> StreamingResponse:
    """The cases the actor may read, filtered like the list, as a file in the chosen format."""
    check_level(actor, level)
    stmt = export_rows(actor, filters, level).execution_options(ej_viewer=Viewer.of(actor))
    filename = f"ejcorps-cases-{level.value}.{format.value}"
    return StreamingResponse(
        STREAMS[format](request.app.state.engine, stmt),
        media_type=MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
