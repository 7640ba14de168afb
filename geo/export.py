"""Export a filtered case set as GeoJSON, CSV, KML or GeoPackage, streamed, privacy applied."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from html import escape
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Select, Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.selectable import TableValuedAlias

from cases.filters import CaseFilters, case_filters
from corps.auth.actor import Actor, CurrentActor, Role
from corps.db import set_viewer
from corps.errors import Forbidden
from geo.privacy import Level

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


def export_select(view: TableValuedAlias, level: Level) -> Select[Any]:
    """SELECT of exportable rows from a case view at `level` (privacy is the view's)."""
    c = view.c
    public = level == Level.public
    month = lambda column: func.to_char(column, "YYYY-MM")  # noqa: E731
    return (
        select(
            cast(c.id, Text).label("id"),
            c.reference,
            c.title,
            c.status,
            func.array_to_string(c.issue_types, ",").label("issue_types"),
            c.sensitivity,
            cast(c.organization_id, Text).label("organization_id"),
            c.country,
            c.place_name,
            c.people_affected,
            (month(c.opened_on) if public else cast(c.opened_on, Text)).label("opened_on"),
            (month(c.updated_at) if public else cast(c.updated_at, Text)).label("updated_at"),
            c.generalized,
            func.ST_X(c.centroid).label("longitude"),
            func.ST_Y(c.centroid).label("latitude"),
            func.ST_AsText(c.geometry).label("geometry_wkt"),
            func.ST_AsGeoJSON(c.geometry, 15).label("geometry_json"),
            func.ST_AsKML(c.geometry, 15).label("geometry_kml"),
            func.ST_AsBinary(c.geometry).label("geometry_wkb"),
        )
        .select_from(view)
        .order_by(c.created_at, c.id)
    )


def export_rows(filters: CaseFilters, level: Level) -> Select[Any]:
    """SELECT of exportable rows: visible, filtered on what is shown, generalized for the level."""
    view = filters.view(level)
    return export_select(view, level).where(*filters.clauses(view))


@dataclass(frozen=True)
class Viewer:
    """Who an export streams for: its own connection sets the same viewer as the request."""

    user_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    role: str

    @classmethod
    def of(cls, actor: Actor) -> Viewer:
        """The viewer of an actor."""
        return cls(actor.user_id, actor.organization_id, actor.role.value)


async def _batches(engine: AsyncEngine, stmt: Any, viewer: Viewer) -> AsyncIterator[list[Any]]:
    async with engine.connect() as conn:
        await set_viewer(
            conn, user_id=viewer.user_id, organization_id=viewer.organization_id, role=viewer.role
        )
        result = await conn.stream(stmt)
        async for rows in result.partitions(BATCH):
            yield list(rows)


def _properties(row: Any) -> dict[str, Any]:
    return {k: getattr(row, k) for k in CSV_COLUMNS[1:13]}


async def geojson_stream(engine: AsyncEngine, stmt: Any, viewer: Viewer) -> AsyncIterator[bytes]:
    """A FeatureCollection, one batch of features at a time."""
    yield b'{"type":"FeatureCollection","features":['
    first = True
    async for rows in _batches(engine, stmt, viewer):
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


async def csv_stream(engine: AsyncEngine, stmt: Any, viewer: Viewer) -> AsyncIterator[bytes]:
    """CSV with a header, the centroid as longitude/latitude and the geometry as WKT."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue().encode()
    async for rows in _batches(engine, stmt, viewer):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([getattr(row, column) for column in CSV_COLUMNS] for row in rows)
        yield buffer.getvalue().encode()


async def kml_stream(engine: AsyncEngine, stmt: Any, viewer: Viewer) -> AsyncIterator[bytes]:
    """KML 2.2 with one Placemark per case and its properties as ExtendedData."""
    yield (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">'
        b"<Document><name>EJ Corps cases</name>"
    )
    async for rows in _batches(engine, stmt, viewer):
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


async def gpkg_stream(engine: AsyncEngine, stmt: Any, viewer: Viewer) -> AsyncIterator[bytes]:
    """A GeoPackage (layer `cases`), built batch by batch on disk by GDAL, then streamed."""
    handle, path = tempfile.mkstemp(suffix=".gpkg")
    os.close(handle)
    os.unlink(path)
    try:
        written = False
        async for rows in _batches(engine, stmt, viewer):
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
    stmt = export_rows(filters, level)
    filename = f"ejcorps-cases-{level.value}.{format.value}"
    return StreamingResponse(
        STREAMS[format](request.app.state.engine, stmt, Viewer.of(actor)),
        media_type=MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
