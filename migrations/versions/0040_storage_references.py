"""Stored files are removed only when no committed row references them: indexes and a check.

`evidence_blob_in_use(key)` answers whether any committed row (an evidence item's file or
its thumbnail: the only users of content-addressed keys) names a storage key. It is SECURITY DEFINER, owned by the
role that runs migrations (the schema owner), so it sees every organization's rows: a failed
upload or the storage sweep must not delete a file that another organization's committed
item points to. Callers take the key's advisory lock first (corps/storage/blobs.py).

Revision ID: 0040
Revises: 0005
Create Date: 2026-12-02
"""

from alembic import op

revision = "0040"
down_revision = "0005"
branch_labels = None
depends_on = None

IN_USE = """
CREATE OR REPLACE FUNCTION evidence_blob_in_use(key text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$$ SELECT EXISTS (SELECT 1 FROM evidence e WHERE e.storage_key = $1)
       OR EXISTS (SELECT 1 FROM evidence e WHERE e.thumbnail_key = $1) $$
"""


def upgrade() -> None:
    op.create_index("ix_evidence_storage_key", "evidence", ["storage_key"])
    op.create_index(
        "ix_evidence_thumbnail_key",
        "evidence",
        ["thumbnail_key"],
        postgresql_where="thumbnail_key IS NOT NULL",
    )
    op.execute(IN_USE)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS evidence_blob_in_use(text)")
    op.drop_index("ix_evidence_thumbnail_key", table_name="evidence")
    op.drop_index("ix_evidence_storage_key", table_name="evidence")
