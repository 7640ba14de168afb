"""What an uploaded layer file may not make GDAL do: fetch URLs, read other files, run SQL.

GDAL follows a GeoJSON `crs` link (an HTTP fetch by the server: request forgery) and reads
a GeoPackage's layers through SQLite, where a view registered in `gpkg_contents` runs
whatever query its author wrote. So GDAL's network access is pointed at a closed port for
the whole process, a GeoJSON `crs` member may only name a CRS by code, and a GeoPackage
may hold tables (and R*Tree indexes) only: no views, no other virtual tables.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pyogrio

from corps.errors import Unprocessable
from maps.layer_upload import LayerFormat

# Every HTTP(S) request GDAL might make goes to a proxy that is not there, and fails fast.
NO_NETWORK_PROXY = "127.0.0.1:1"
GDAL_LOCKDOWN: dict[str, str | bool | int] = {
    "GDAL_HTTP_PROXY": NO_NETWORK_PROXY,
    "GDAL_HTTPS_PROXY": NO_NETWORK_PROXY,
    "GDAL_HTTP_TIMEOUT": 1,
    "GDAL_HTTP_CONNECTTIMEOUT": 1,
    "GDAL_HTTP_MAX_RETRY": 0,
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".ejcorps-none",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": False,
    "CPL_CURL_GZIP": False,
}
SCAN_CHUNK = 1 << 20
SCAN_OVERLAP = 4096


def _letter(char: str) -> str:
    """A regex for one key letter as JSON may spell it: itself, either case, or \\u-escaped."""
    codes = "|".join(f"\\\\u{ord(c):04x}" for c in {char.lower(), char.upper()})
    return f"(?:{char}|{codes})"


# The `crs` key in any spelling GDAL accepts (it compares member names case-insensitively).
_CRS_KEY = re.compile(('"' + "".join(_letter(c) for c in "crs") + r'"\s*:').encode(), re.I)
_CODE = r'"(?:urn:ogc:def:crs:[A-Za-z0-9]+:[0-9.]*:[A-Za-z0-9]+|EPSG:[0-9]+|OGC:CRS84)"'
_NAMED = re.compile(
    (
        r'\s*\{\s*(?:"type"\s*:\s*"name"\s*,\s*"properties"\s*:\s*\{\s*"name"\s*:\s*'
        + _CODE
        + r'\s*\}|"properties"\s*:\s*\{\s*"name"\s*:\s*'
        + _CODE
        + r'\s*\}\s*,\s*"type"\s*:\s*"name")\s*\}'
    ).encode()
)
_RTREE = re.compile(r"^\s*CREATE\s+VIRTUAL\s+TABLE\s+\S+\s+USING\s+rtree\s*\(", re.I)


def lock_down_gdal() -> None:
    """Set GDAL's process-wide options so no file can make it reach the network."""
    pyogrio.set_gdal_config_options(GDAL_LOCKDOWN)


def check_geojson_crs(path: Path) -> None:
    """Refuse a GeoJSON whose `crs` member is anything but a CRS named by code."""
    with path.open("rb") as fh:
        tail = b""
        while chunk := fh.read(SCAN_CHUNK):
            window = tail + chunk
            for match in _CRS_KEY.finditer(window):
                rest = window[match.end() : match.end() + SCAN_OVERLAP]
                if len(rest) < SCAN_OVERLAP and len(chunk) == SCAN_CHUNK:
                    break  # the value runs past this window; the next window sees it whole
                if not _NAMED.match(rest):
                    raise Unprocessable(
                        "The GeoJSON's crs member is refused: this server follows no links. "
                        'Remove it (GeoJSON is WGS 84) or name a CRS by code, e.g. "EPSG:32737".',
                        extra={"errors": [{"loc": ["body", "file", "crs"], "msg": "refused"}]},
                    )
            tail = window[-SCAN_OVERLAP:]


def check_geopackage_tables(path: Path) -> None:
    """Refuse a GeoPackage holding views or virtual tables other than R*Tree indexes."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        raise Unprocessable("The GeoPackage cannot be opened.") from exc
    try:
        db.execute("PRAGMA trusted_schema = OFF")
        rows = db.execute(
            "SELECT type, name, coalesce(sql, '') FROM sqlite_master "
            "WHERE type IN ('view', 'table')"
        ).fetchall()
    except sqlite3.Error as exc:
        raise Unprocessable(f"The GeoPackage cannot be read: {exc}") from exc
    finally:
        db.close()
    for kind, name, sql in rows:
        if kind == "view":
            raise Unprocessable(
                f"The GeoPackage holds a view ({name[:80]!r}); only tables are read. "
                "Save the view's result as a table."
            )
        if sql.lstrip().upper().startswith("CREATE VIRTUAL") and not _RTREE.match(sql):
            raise Unprocessable(
                f"The GeoPackage holds a virtual table ({name[:80]!r}); only tables are read."
            )


def refuse_unsafe_content(path: Path, fmt: LayerFormat) -> None:
    """Refuse a file whose content would make GDAL fetch, read elsewhere or run SQL."""
    if fmt == LayerFormat.geojson:
        check_geojson_crs(path)
    elif fmt == LayerFormat.gpkg:
        check_geopackage_tables(path)
