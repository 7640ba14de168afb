"""Finding unfinished work across organizations, for the worker's re-queue sweep.

A job queued while Redis was down, or lost with it, leaves its row unfinished: evidence
never processed, a hotspot analysis queued or running with no worker on it. The sweep asks
these SECURITY DEFINER functions (owned by the schema owner, like evidence_blob_in_use) for
the ids, so it sees every organization's rows without a viewer of its own; it learns ids
and nothing else, and each job reads its row as its own viewer.

Revision ID: 0041
Revises: 0070
Create Date: 2026-12-02
"""

from alembic import op

revision = "0041"
down_revision = "0070"
branch_labels = None
depends_on = None

UNPROCESSED_EVIDENCE = """
CREATE OR REPLACE FUNCTION ej_unprocessed_evidence(older_than interval, max_rows integer)
RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$$ SELECT e.id FROM evidence e
   WHERE e.processed_at IS NULL AND e.received_at < now() - older_than
   ORDER BY e.received_at LIMIT max_rows $$
"""

UNFINISHED_HOTSPOTS = """
CREATE OR REPLACE FUNCTION ej_unfinished_hotspots(
  queued_for interval, running_for interval, max_rows integer
) RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$$ SELECT h.cache_key FROM hotspot_results h
   WHERE (h.status = 'queued' AND h.requested_at < now() - queued_for)
      OR (h.status = 'running' AND h.requested_at < now() - running_for)
   ORDER BY h.requested_at LIMIT max_rows $$
"""


def upgrade() -> None:
    op.create_index(
        "ix_evidence_unprocessed",
        "evidence",
        ["received_at"],
        postgresql_where="processed_at IS NULL",
    )
    op.create_index(
        "ix_hotspot_results_unfinished",
        "hotspot_results",
        ["requested_at"],
        postgresql_where="status IN ('queued', 'running')",
    )
    op.execute(UNPROCESSED_EVIDENCE)
    op.execute(UNFINISHED_HOTSPOTS)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS ej_unfinished_hotspots(interval, interval, integer)")
    op.execute("DROP FUNCTION IF EXISTS ej_unprocessed_evidence(interval, integer)")
    op.drop_index("ix_hotspot_results_unfinished", table_name="hotspot_results")
    op.drop_index("ix_evidence_unprocessed", table_name="evidence")
