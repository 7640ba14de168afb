"""Revocable sessions: users.credentials_changed_at ends every token issued before it.

Revision ID: 0030
Revises: 0041
Create Date: 2026-12-02 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL means never changed: tokens issued before this migration stay valid.
    op.add_column(
        "users", sa.Column("credentials_changed_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("users", "credentials_changed_at")
