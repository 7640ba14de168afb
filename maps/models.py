"""Reference layers, their features and the hotspot result cache."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, CheckConstraint, Computed, ForeignKey, Identity, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from corps.db import Base, created_at_column, uuid_pk
from corps.vocabulary import check_in


class LayerKind(StrEnum):
    """What a reference layer holds."""

    concession = "concession"
    protected_area = "protected_area"
    boundary = "boundary"
    other = "other"


class ReferenceLayer(Base):
    """An uploaded layer of concessions, protected areas, boundaries or other places."""

    __tablename__ = "reference_layers"
    __table_args__ = (CheckConstraint(check_in("kind", LayerKind), name="kind_known"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    source_filename: Mapped[str | None] = mapped_column(String(255))
    source_format: Mapped[str] = mapped_column(String(40))
    feature_count: Mapped[int]
    repaired_count: Mapped[int]
    skipped_count: Mapped[int]
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()


class LayerFeature(Base):
    """One feature of a reference layer, in WGS 84, valid."""

    __tablename__ = "layer_features"
    __table_args__ = (Index("ix_layer_features_geometry", "geometry", postgresql_using="gist"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    layer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reference_layers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(300))
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB)
    geometry: Mapped[Any] = mapped_column(Geometry(srid=4326, spatial_index=False))
    area_m2: Mapped[float] = mapped_column(Computed("ST_Area(geometry::geography)", persisted=True))


class LayerFeaturePart(Base):
    """A piece of a feature cut by ST_Subdivide, so overlays touch few vertices."""

    __tablename__ = "layer_feature_parts"
    __table_args__ = (
        Index("ix_layer_feature_parts_geometry", "geometry", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    feature_id: Mapped[int] = mapped_column(
        ForeignKey("layer_features.id", ondelete="CASCADE"), index=True
    )
    layer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reference_layers.id", ondelete="CASCADE"), index=True
    )
    geometry: Mapped[Any] = mapped_column(Geometry(srid=4326, spatial_index=False))


class HotspotResult(Base):
    """A computed hotspot analysis for one set of parameters and one viewer scope."""

    __tablename__ = "hotspot_results"

    cache_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20))  # queued, running, done, failed
    cases_fingerprint: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(String(2000))
    computed_at: Mapped[datetime | None]
    requested_at: Mapped[datetime] = created_at_column()
