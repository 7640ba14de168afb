"""Reference layers (concessions, protected areas, boundaries) and their overlaps with cases."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, func, select, text, true
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from corps.audit import append_audit
from corps.auth.actor import Actor
from corps.errors import NotFound, Unprocessable
from corps.pagination import Page, PageParams, keyset_page
from corps.vocabulary import values
from maps.layer_safety import refuse_unsafe_content
from maps.layer_upload import LayerFormat, gdal_path, receive_layer_file, sniff_layer_format
from maps.layers_io import (
    MAX_LAYER_FEATURES,
    MAX_LAYER_VERTICES,
    LayerSource,
    crs_code,
    describe_sources,
    is_projected_wkt,
    plausibly_degrees,
    read_feature_chunks,
)
from maps.models import LayerFeature, LayerKind, ReferenceLayer

MAX_LAYER_BYTES = 200 * 1024 * 1024
INSERT_BATCH = 500
SUBDIVIDE_MAX_VERTICES = 256
MAX_FEATURES_PAGE = 1000

# One statement per batch: reproject, drop empties, repair, check ranges, insert, count.
INSERT_FEATURES = text(
    """
    WITH src AS (
        SELECT t.name, CAST(t.props AS jsonb) AS props,
               ST_Transform(ST_GeomFromWKB(t.wkb, :srid), 4326) AS g
        FROM unnest(CAST(:wkbs AS bytea[]), CAST(:names AS text[]), CAST(:props AS text[]))
             AS t(wkb, name, props)
    ), usable AS MATERIALIZED (
        SELECT name, props, g, ST_IsValid(g) AS was_valid
        FROM src WHERE g IS NOT NULL AND NOT ST_IsEmpty(g)
    ), fixed AS MATERIALIZED (
        SELECT name, props, was_valid,
               CASE WHEN was_valid THEN g
                    WHEN ST_Dimension(g) = 2 THEN ST_CollectionExtract(ST_MakeValid(g), 3)
                    ELSE ST_MakeValid(g) END AS g
        FROM usable
    ), nonempty AS MATERIALIZED (
        SELECT * FROM fixed WHERE NOT ST_IsEmpty(g)
    ), kept AS MATERIALIZED (
        SELECT * FROM nonempty
        WHERE ST_XMin(g) >= -180 AND ST_XMax(g) <= 180 AND ST_YMin(g) >= -90 AND ST_YMax(g) <= 90
    ), inserted AS (
        INSERT INTO layer_features (layer_id, name, properties, geometry)
        SELECT CAST(:layer_id AS uuid), name, props, g FROM kept
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM inserted) AS inserted,
           (SELECT count(*) FROM kept WHERE NOT was_valid) AS repaired,
           (SELECT count(*) FROM nonempty) - (SELECT count(*) FROM kept) AS out_of_range
    """
)
INSERT_PARTS = text(
    """
    INSERT INTO layer_feature_parts (feature_id, layer_id, geometry)
    SELECT id, layer_id, ST_Subdivide(geometry, :max_vertices)
    FROM layer_features WHERE layer_id = :layer_id
    """
)
FEATURE_COLLECTION = text(
    """
    SELECT CAST(json_build_object(
        'type', 'FeatureCollection',
        'features', coalesce(json_agg(json_build_object(
            'type', 'Feature',
            'id', f.id,
            'geometry', CAST(ST_AsGeoJSON(f.geometry, 7) AS json),
            'properties', json_build_object(
                'name', f.name, 'area_m2', f.area_m2, 'attributes', f.properties)
        ) ORDER BY f.id), CAST('[]' AS json)),
        'numberReturned', count(*)
    ) AS text)
    FROM (SELECT id, name, area_m2, properties, geometry FROM layer_features
          WHERE layer_id = :layer_id ORDER BY id LIMIT :limit OFFSET :offset) AS f
    """
)


class LayerRead(BaseModel):
    """A reference layer as clients see it."""

    id: uuid.UUID
    name: str
    kind: LayerKind
    feature_count: int
    repaired_count: int
    skipped_count: int
    source_format: str
    created_at: datetime
    bbox: list[float] | None


def _layer_rows() -> Select[Any]:
    extent = (
        select(func.ST_Extent(LayerFeature.geometry).label("box"))
        .where(LayerFeature.layer_id == ReferenceLayer.id)
        .lateral("extent")
    )
    box = extent.c.box
    return (
        select(
            ReferenceLayer.id,
            ReferenceLayer.name,
            ReferenceLayer.kind,
            ReferenceLayer.feature_count,
            ReferenceLayer.repaired_count,
            ReferenceLayer.skipped_count,
            ReferenceLayer.source_format,
            ReferenceLayer.created_at,
            func.ST_XMin(box).label("minx"),
            func.ST_YMin(box).label("miny"),
            func.ST_XMax(box).label("maxx"),
            func.ST_YMax(box).label("maxy"),
        )
        .select_from(ReferenceLayer)
        .outerjoin(extent, true())
    )


def _layer_read(row: Any) -> LayerRead:
    data = dict(row._mapping)
    box = [data.pop(k) for k in ("minx", "miny", "maxx", "maxy")]
    return LayerRead(**data, bbox=None if box[0] is None else [float(v) for v in box])


async def read_layer(session: AsyncSession, layer_id: uuid.UUID) -> LayerRead:
    """One reference layer with its bounding box, or 404."""
    row = (await session.execute(_layer_rows().where(ReferenceLayer.id == layer_id))).first()
    if row is None:
        raise NotFound("No such layer.")
    return _layer_read(row)


async def list_layers(session: AsyncSession, page: PageParams) -> Page[LayerRead]:
    """A page of reference layers, newest first."""
    return await keyset_page(
        session,
        _layer_rows(),
        page,
        key=(ReferenceLayer.created_at, ReferenceLayer.id),
        parsers=(datetime.fromisoformat, uuid.UUID),
        descending=True,
        item=_layer_read,
    )


async def layer_features_geojson(
    session: AsyncSession, layer_id: uuid.UUID, *, limit: int, offset: int
) -> str:
    """A page of a layer's features as a GeoJSON FeatureCollection built by PostGIS."""
    if await session.scalar(select(ReferenceLayer.id).where(ReferenceLayer.id == layer_id)) is None:
        raise NotFound("No such layer.")
    params = {"layer_id": layer_id, "limit": limit, "offset": offset}
    return str(await session.scalar(FEATURE_COLLECTION, params))


def _layer_form(fields: dict[str, str]) -> tuple[str, str]:
    name, kind = fields.get("name", "").strip(), fields.get("kind", "").strip()
    errors = []
    if not 1 <= len(name) <= 200:
        errors.append({"loc": ["body", "name"], "msg": "a name of 1 to 200 characters is required"})
    if kind not in values(LayerKind):
        errors.append({"loc": ["body", "kind"], "msg": f"must be one of {', '.join(LayerKind)}"})
    if errors:
        detail = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in errors)
        raise Unprocessable(detail, extra={"errors": errors})
    return name, kind


async def _source_srid(session: AsyncSession, source: LayerSource) -> int:
    """The SRID to reproject a source from: its identified CRS, or WGS 84 for plain degrees."""
    code = crs_code(source.crs)
    if code is None:
        if is_projected_wkt(source.crs) or not plausibly_degrees(source.bounds):
            raise Unprocessable(
                f"The layer {source.layer!r} has no CRS this server can identify and its "
                "coordinates are not longitude/latitude; save it with an EPSG-coded CRS."
            )
        return 4326
    srid = await session.scalar(
        text("SELECT srid FROM spatial_ref_sys WHERE upper(auth_name) = :a AND auth_srid = :c"),
        {"a": code[0], "c": code[1]},
    )
    if srid is None:
        raise Unprocessable(f"The CRS {code[0]}:{code[1]} is unknown to the database.")
    if srid == 4326 and not plausibly_degrees(source.bounds):
        raise Unprocessable(
            f"The layer {source.layer!r} says WGS 84 but its coordinates are not degrees."
        )
    return int(srid)


@contextmanager
def _refused_geometry() -> Iterator[None]:
    """Turn PostGIS refusing the file's data (lwgeom errors, data exceptions) into a 422."""
    try:
        yield
    except DBAPIError as exc:
        cause = getattr(exc.orig, "__cause__", None)
        state = str(getattr(exc.orig, "sqlstate", None) or getattr(cause, "sqlstate", None))
        if state != "XX000" and not state.startswith("22"):
            raise
        reason = str(exc.orig).strip().splitlines()[-1][:300]
        raise Unprocessable(f"The file's geometries could not be stored: {reason}") from exc


async def _import_features(
    session: AsyncSession, layer_id: uuid.UUID, fmt: LayerFormat, sources: list[LayerSource]
) -> tuple[int, int, int]:
    """Insert every source's features in batches; return (inserted, repaired, skipped)."""
    inserted = repaired = skipped = read = vertices = 0
    for source in sources:
        srid = await _source_srid(session, source)
        async for chunk in read_feature_chunks(source, fmt, limit=MAX_LAYER_FEATURES + 1 - read):
            read += len(chunk)
            vertices += chunk.vertices
            if read > MAX_LAYER_FEATURES:
                raise Unprocessable(
                    f"The file holds more than {MAX_LAYER_FEATURES:,} features; split it."
                )
            if vertices > MAX_LAYER_VERTICES:
                raise Unprocessable(
                    f"The file holds more than {MAX_LAYER_VERTICES:,} vertices; "
                    "simplify or split it."
                )
            for piece in chunk.slices(INSERT_BATCH):
                params = {
                    "srid": srid,
                    "layer_id": layer_id,
                    "wkbs": piece.wkbs,
                    "names": piece.names,
                    "props": piece.properties,
                }
                with _refused_geometry():
                    counts = (await session.execute(INSERT_FEATURES, params)).one()
                if counts.out_of_range:
                    raise Unprocessable(
                        f"{counts.out_of_range} features of {source.layer!r} fall outside "
                        "longitude/latitude once reprojected; check the file's CRS."
                    )
                inserted += counts.inserted
                repaired += counts.repaired
                skipped += len(piece) - counts.inserted
    return inserted, repaired, skipped


async def create_layer(
    session: AsyncSession,
    actor: Actor,
    *,
    body: AsyncIterator[bytes],
    content_type: str | None,
    content_length: int | None,
    max_bytes: int = MAX_LAYER_BYTES,
) -> LayerRead:
    """Receive, read, reproject, repair and store an uploaded layer; nothing stays on failure."""
    workdir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="ejcorps-layer-"))
    try:
        upload = await receive_layer_file(
            body,
            content_type=content_type,
            content_length=content_length,
            max_bytes=max_bytes,
            directory=workdir,
        )
        name, kind = _layer_form(upload.fields)
        fmt = await asyncio.to_thread(sniff_layer_format, upload.path)
        await asyncio.to_thread(refuse_unsafe_content, upload.path, fmt)
        path = await asyncio.to_thread(gdal_path, upload.path, fmt, workdir, max_bytes=max_bytes)
        sources = await asyncio.to_thread(describe_sources, path, fmt)
        layer = ReferenceLayer(
            name=name,
            kind=kind,
            source_filename=(upload.filename or "")[:255] or None,
            source_format=fmt.value,
            feature_count=0,
            repaired_count=0,
            skipped_count=0,
            organization_id=actor.organization_id,
            uploaded_by=actor.user_id,
        )
        session.add(layer)
        await session.flush()
        inserted, repaired, skipped = await _import_features(session, layer.id, fmt, sources)
        if inserted == 0:
            raise Unprocessable(
                f"The file holds no feature with a usable geometry ({skipped} empty or null)."
            )
        layer.feature_count = inserted
        layer.repaired_count = repaired
        layer.skipped_count = skipped
        await session.flush()
        with _refused_geometry():
            await session.execute(
                INSERT_PARTS, {"layer_id": layer.id, "max_vertices": SUBDIVIDE_MAX_VERTICES}
            )
        await append_audit(
            session,
            actor,
            "layer.created",
            object_type="reference_layer",
            object_id=layer.id,
            details={
                "name": name,
                "kind": kind,
                "source_format": fmt.value,
                "source_filename": layer.source_filename,
                "sha256": upload.sha256,
                "size": upload.size,
                "source_crs": sorted({s.crs or "unknown" for s in sources}),
                "feature_count": inserted,
                "repaired_count": repaired,
                "skipped_count": skipped,
            },
        )
        return await read_layer(session, layer.id)
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, ignore_errors=True)
