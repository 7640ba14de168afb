"""Issue families: each issue type names the family its cases are suggested together in.

Revision ID: 0086
Revises: 0083
"""

import sqlalchemy as sa
from alembic import op

revision = "0086"
down_revision = "0083"
branch_labels = None
depends_on = None

# The families the proximity suggestions used to hard-code (cases/vocabularies.py now).
SEEDED_FAMILIES = {
    "water_pollution": "water",
    "water_access": "water",
    "fisheries": "water",
    "land_grab": "land",
    "agribusiness": "land",
    "deforestation": "land",
    "conservation_conflict": "land",
    "mining": "extractives",
    "oil_gas": "extractives",
    "air_pollution": "pollution",
    "soil_contamination": "pollution",
    "waste_dumping": "pollution",
    "infrastructure": "infrastructure",
    "climate_displacement": "climate",
    "other": "other",
}


def upgrade() -> None:
    op.add_column("issue_types", sa.Column("family", sa.String(length=40), nullable=True))
    families = sa.table("issue_types", sa.column("code"), sa.column("family"))
    for code, family in SEEDED_FAMILIES.items():
        op.execute(families.update().where(families.c.code == code).values(family=family))
    # A type a coordinator added before families existed is a family of its own.
    op.execute("UPDATE issue_types SET family = code WHERE family IS NULL")
    op.alter_column("issue_types", "family", nullable=False)
    op.create_check_constraint(
        op.f("ck_issue_types_family_format"), "issue_types", "family ~ '^[a-z][a-z0-9_]{1,39}$'"
    )


def downgrade() -> None:
    op.drop_constraint("ck_issue_types_family_format", "issue_types", type_="check")
    op.drop_column("issue_types", "family")
