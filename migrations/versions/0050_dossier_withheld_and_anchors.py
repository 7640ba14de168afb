"""Dossiers: the cases withheld at the level, the anchors of the audit and custody chains.

New columns of the existing `dossiers` table only: its row level security policy (migration
0010) covers them.

Revision ID: 0050
Revises: 0005
Create Date: 2026-12-02 03:45:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0050"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "dossiers",
        sa.Column(
            "withheld_cases",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column(
        "dossiers",
        sa.Column("anchors", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    # The list of a user's dossiers, newest first, pages by (created_at, id).
    op.create_index("ix_dossiers_org_created", "dossiers", ["organization_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_dossiers_org_created", table_name="dossiers")
    op.drop_column("dossiers", "anchors")
    op.drop_column("dossiers", "withheld_cases")
