"""Case rows as files: the attributes, their formatting, and the GeoJSON, CSV and KML writers.

A writer takes an async iterable of row batches (any objects with the attributes that
`cases.export_rows.export_select` names) and yields bytes; it knows nothing of who reads or
how rows were chosen. GeoJSON follows RFC 7946 (exterior rings counter-clockwise, coordinates
to 7 decimals, about 1 cm; generalized cells stay exact); timestamps are ISO 8601 in UTC; at the
public level dates are months (`YYYY-MM`). Arrays stay arrays in GeoJSON; CSV, KML and
GeoPackage join them with ARRAY_SEPARATOR. A CSV cell that starts like a spreadsheet formula is
neutralized.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, date, datetime
from html import escape
from typing import Any

import orjson

DECIMALS = 7  # RFC 7946 section 11.2: about 1 cm, more than any field survey holds
ARRAY_SEPARATOR = "|"  # issue types in CSV, KML and GeoPackage: "mining|water_pollution"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The attributes of a case in every format, in this order (the CSV adds the location columns).
PROPERTIES = [
    "reference",
    "title",
    "status",
    "issue_types",
    "sensitivity",
    "organization_id",
    "organization_name",
    "organization_slug",
    "country",
    "place_name",
    "people_affected",
    "opened_on",
    "updated_at",
    "generalized",
]


def iso_date(value: date | None, precision: str) -> str | None:
    """A date as ISO 8601: the day, or the month (`YYYY-MM`) where only that is shown."""
    if value is None:
        return None
    return value.strftime("%Y-%m") if precision == "month" else value.isoformat()


def iso_timestamp(value: datetime | None, precision: str) -> str | None:
    """A timestamp as ISO 8601 in UTC (`2026-03-01T10:00:00.123456Z`), or its month."""
    if value is None:
        return None
    if precision == "month":
        return value.astimezone(UTC).strftime("%Y-%m")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def properties(row: Any) -> dict[str, Any]:
    """A row's attributes as GeoJSON properties: arrays as arrays, dates as ISO 8601."""
    out = {key: getattr(row, key) for key in PROPERTIES}
    out["issue_types"] = list(row.issue_types or [])
    out["opened_on"] = iso_date(row.opened_on, row.date_precision)
    out["updated_at"] = iso_timestamp(row.updated_at, row.date_precision)
    return out


def flat_properties(row: Any) -> dict[str, Any]:
    """The attributes with arrays joined by ARRAY_SEPARATOR (CSV, KML, GeoPackage)."""
    out = properties(row)
    out["issue_types"] = ARRAY_SEPARATOR.join(out["issue_types"])
    return out


def neutralized(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, prefixed with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


CSV_COLUMNS = ["id", *PROPERTIES, "longitude", "latitude", "geometry_wkt"]


async def geojson_stream(batches: AsyncIterable[list[Any]]) -> AsyncIterator[bytes]:
    """An RFC 7946 FeatureCollection, one batch of features at a time."""
    yield b'{"type":"FeatureCollection","features":['
    first = True
    async for rows in batches:
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


async def csv_stream(batches: AsyncIterable[list[Any]]) -> AsyncIterator[bytes]:
    """CSV with a header, the shown centroid as longitude/latitude and the geometry as WKT.

    Issue types are joined with ARRAY_SEPARATOR; a text cell starting with =, +, -, @, a tab
    or a carriage return gets a leading apostrophe so spreadsheets do not run it.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue().encode()
    async for rows in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(_csv_row(row) for row in rows)
        yield buffer.getvalue().encode()


async def kml_stream(batches: AsyncIterable[list[Any]]) -> AsyncIterator[bytes]:
    """KML 2.2 with one Placemark per case and its properties as ExtendedData."""
    yield (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">'
        b"<Document><name>EJ Corps cases</name>"
    )
    async for rows in batches:
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
