"""Case data versions: a counter per organization that every case write bumps, for caches.

Revision ID: 0070
Revises: 0051
"""

from alembic import op

revision = "0070"
down_revision = "0051"
branch_labels = None
depends_on = None

BUMP = """
CREATE FUNCTION bump_case_data_versions() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  -- in organization order, so two transactions never wait on each other's counters
  INSERT INTO case_data_versions AS v (organization_id, version)
  SELECT organization_id, 1 FROM changed_cases GROUP BY organization_id ORDER BY organization_id
  ON CONFLICT (organization_id) DO UPDATE SET version = v.version + 1;
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE case_data_versions (
          organization_id uuid PRIMARY KEY,  -- no foreign key: counters outlive their organization, so sums only grow
          version bigint NOT NULL DEFAULT 0
        )
        """
    )
    # Counters say only that something changed, never what: every viewer may read them; only
    # the trigger (running as the owner) writes them.
    op.execute("ALTER TABLE case_data_versions ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE case_data_versions FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY case_data_versions_read ON case_data_versions FOR SELECT USING (true)"
    )
    op.execute(
        "DO $$ BEGIN EXECUTE format('CREATE POLICY case_data_versions_owner ON case_data_versions"
        " FOR ALL TO %I USING (true) WITH CHECK (true)', current_user); END $$"
    )
    op.execute(BUMP)
    for event, transition in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
        op.execute(
            f"CREATE TRIGGER cases_bump_data_version_{event.lower()} AFTER {event} ON cases"
            f" REFERENCING {transition} TABLE AS changed_cases"
            " FOR EACH STATEMENT EXECUTE FUNCTION bump_case_data_versions()"
        )


def downgrade() -> None:
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS cases_bump_data_version_{event} ON cases")
    op.execute("DROP FUNCTION IF EXISTS bump_case_data_versions()")
    op.execute("DROP TABLE IF EXISTS case_data_versions")
