"""Which writer writes which export format, and the media type it is served as."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from enum import StrEnum
from typing import Any

from geo.formats import csv_stream, geojson_stream, kml_stream
from geo.gpkg import gpkg_stream


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
STREAMS: dict[ExportFormat, Callable[[AsyncIterable[list[Any]]], AsyncIterator[bytes]]] = {
    ExportFormat.geojson: geojson_stream,
    ExportFormat.csv: csv_stream,
    ExportFormat.kml: kml_stream,
    ExportFormat.gpkg: gpkg_stream,
}
