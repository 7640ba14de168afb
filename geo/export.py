"""Export a filtered case set as GeoJSON, CSV, KML or GeoPackage, streamed, privacy applied."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import AsyncIterator
from enum import StrEnum
from html import escape
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from cases.filters import CaseFilters, case_filters
from corps.audit import append_audit
from corps.auth.actor import Actor, CurrentActor, Role
from corps.db import SessionDep
from corps.errors import Forbidden
from geo.export_gpkg import gpkg_stream
from geo.export_rows import (
    DECIMALS,
    PROPERTIES,
    Viewer,
    batches,
    export_rows,
    export_select,
    flat_properties,
    neutralized,
    properties,
)
from geo.privacy import Level

__all__ = ["STREAMS", "ExportFormat", "Viewer", "export_rows", "export_select"]

router = APIRouter(prefix="/api/v1", tags=["maps"])


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
CSV_COLUMNS = ["id", *PROPERTIES, "longitude", "latitude", "geometry_wkt"]


async def geojson_stream(engine: AsyncEngine, stmt: Any, viewer: Viewer) -> AsyncIterator[bytes]:
    """An RFC 7946 FeatureCollection, one batch of features at a time."""
    yield b'{"type":"FeatureCollection","features":['
    first = True
    async for rows in batches(engine, stmt, viewer):
        parts = []
        for row in rows:
            feature = (
                b'{"type":"Feature","id":'
                + orjson.dumps(row.id)
                + b',"geometry":'
                + row.geometry_json.encode()
                + b',"properties":'
                + orjson.dumps(properties(row))
                + b"}"
            )
            parts.append(feature if first else b"," + feature)
            first = False
        yield b"".join(parts)
    yield b"]}"


def _csv_row(row: Any) -> list[Any]:
    values = {"id": row.id, **flat_properties(row), "geometry_wkt": row.geometry_wkt}
    values["longitude"] = None if row.longitude is None else round(row.longitude, DECIMALS)
    values["latitude"] = None if row.latitude is None else round(row.latitude, DECIMALS)
    return [neutralized(values[column]) for column in CSV_COLUMNS]


async def csv_stream(engine: AsyncEngine, stmt: Any, viewer: Viewer) -> AsyncIterator[bytes]:
    """CSV with a header, the shown centroid as longitude/latitude and the geometry as WKT.

    Issue types are joined with ARRAY_SEPARATOR; a text cell starting with =, +, -, @, a tab
    or a carriage return gets a leading apostrophe so spreadsheets do not run it.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue().encode()
    async for rows in batches(engine, stmt, viewer):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(_csv_row(row) for row in rows)
        yield buffer.getvalue().encode()


async def kml_stream(engine: AsyncEngine, stmt: Any, viewer: Viewer) -> AsyncIterator[bytes]:
    """KML 2.2 with one Placemark per case and its properties as ExtendedData."""
    yield (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">'
        b"<Document><name>EJ Corps cases</name>"
    )
    async for rows in batches(engine, stmt, viewer):
        out = []
        for row in rows:
            data = "".join(
                f'<Data name="{key}"><value>{escape(str(value))}</value></Data>'
                for key, value in flat_properties(row).items()
                if value is not None
            )
            out.append(
                f'<Placemark id="c{row.id}"><name>{escape(row.title)}</name>'
                f"<ExtendedData>{data}</ExtendedData>{row.geometry_kml}</Placemark>"
            )
        yield "".join(out).encode()
    yield b"</Document></kml>"


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
    session: SessionDep,
    actor: CurrentActor,
    filters: Annotated[CaseFilters, Depends(case_filters)],
    format: Annotated[ExportFormat, Query()] = ExportFormat.geojson,
    level: Annotated[Level, Query()] = Level.internal,
) -> StreamingResponse:
    """The cases the actor may read, filtered like the list, as a file in the chosen format.

    Audited like a read of a case, in the request's session (committed before the first
    byte); the rows then stream on a connection of their own that reads as the same viewer.
    """
    check_level(actor, level)
    asked = {k: str(v) for k, v in dataclasses.asdict(filters).items() if v is not None}
    await append_audit(
        session,
        actor,
        "cases.exported",
        object_type="case_export",
        details={"format": format.value, "level": level.value, "filters": asked},
    )
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
