"""Natural Earth 1:110m country outlines (public domain) for the dossier maps.

Loaded from geo/data/ne_110m_countries.geojson.gz, committed with the code, so a fresh
install draws coastlines and borders without fetching anything. Corps-wide reference data,
no organization's rows: readable by every role, written only by migrations.

Revision ID: 0051
Revises: 0050
Create Date: 2026-12-02 03:46:00
"""

import gzip
import json
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0051"
down_revision = "0050"
branch_labels = None
depends_on = None

DATA = Path(__file__).resolve().parents[2] / "geo" / "data" / "ne_110m_countries.geojson.gz"


def upgrade() -> None:
    op.create_table(
        "reference_countries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("iso_n3", sa.String(3), nullable=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column(
            "geometry",
            Geometry("MULTIPOLYGON", srid=4326, spatial_index=False),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_reference_countries_geometry",
        "reference_countries",
        ["geometry"],
        postgresql_using="gist",
    )
    collection = json.loads(gzip.decompress(DATA.read_bytes()))
    insert = sa.text(
        "INSERT INTO reference_countries (iso_n3, name, geometry) VALUES (:iso, :name, "
        "ST_Multi(ST_CollectionExtract(ST_MakeValid("
        "ST_SetSRID(ST_GeomFromGeoJSON(:geometry), 4326)), 3)))"
    )
    bind = op.get_bind()
    for feature in collection["features"]:
        bind.execute(
            insert,
            {
                "iso": feature["properties"].get("iso_n3"),
                "name": feature["properties"]["name"],
                "geometry": json.dumps(feature["geometry"]),
            },
        )


def downgrade() -> None:
    op.drop_index("ix_reference_countries_geometry", table_name="reference_countries")
    op.drop_table("reference_countries")
