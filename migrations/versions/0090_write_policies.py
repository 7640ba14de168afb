"""Writes, too, are decided in the database: only a case's editors change what hangs off it.

0010's policies on the tables that hang off a case (timeline events, respondents, flags,
evidence, campaign cases) let any viewer who could read a case write to it: only the
service's Python stopped a coordinator from adding a timeline event to another
organization's case. Row level security now says who may write, per command:

- timeline events, respondents and evidence: the case's editors (its organization's
  paralegals and org_admins, admins, the system viewer); respondent links may also be
  re-pointed by corps-wide roles, whose actor merge spans organizations;
- flags: whoever reads the case, in their own name; withdrawn by their author or a
  corps-wide role;
- campaign cases: corps-wide roles (the campaign managers) on cases they read;
- custody events stay as they were: every reader appends (a download is custody), and a
  trigger refuses every change or removal.

A user's own row ("self" policy, for changing one's own password) may no longer change its
email, role, organization or active flag, and an org_admin may neither give nor hold a
corps-level role: a trigger refuses it, whichever policy let the row through.

Revision ID: 0090
Revises: 0086
Create Date: 2026-12-02
"""

from alembic import op

revision = "0090"
down_revision = "0086"
branch_labels = None
depends_on = None

ROLE = "(SELECT ej_viewer_role())"
USER = "(SELECT ej_viewer_user())"
WIDE = "(SELECT ej_viewer_corps_wide())"
ADMIN = f"{ROLE} IN ('admin', 'system')"
SEEN = "EXISTS (SELECT 1 FROM cases c WHERE c.id = case_id)"
EDITABLE = "ej_case_editable(case_id)"

FUNCTIONS = """
CREATE OR REPLACE FUNCTION ej_case_editable(case_id uuid) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT EXISTS (
     SELECT 1 FROM cases c WHERE c.id = $1 AND (
       ej_viewer_role() IN ('admin', 'system')
       OR (ej_viewer_role() IN ('paralegal', 'org_admin')
           AND c.organization_id = ej_viewer_org()))) $$;

CREATE OR REPLACE FUNCTION ej_users_guard_columns() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  viewer_role text := ej_viewer_role();
  org_roles constant text[] := ARRAY['paralegal', 'org_admin'];
BEGIN
  IF viewer_role IS NULL OR viewer_role IN ('admin', 'system') THEN
    RETURN NEW;  -- the owner's maintenance sessions and admins
  END IF;
  IF viewer_role = 'org_admin' AND (
       NOT NEW.role = ANY (org_roles) OR (TG_OP = 'UPDATE' AND NOT OLD.role = ANY (org_roles))
  ) THEN
    RAISE EXCEPTION 'an org_admin may not give or change a corps-level role'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF TG_OP = 'UPDATE' AND viewer_role <> 'org_admin' AND (
       NEW.email IS DISTINCT FROM OLD.email OR NEW.role IS DISTINCT FROM OLD.role
       OR NEW.organization_id IS DISTINCT FROM OLD.organization_id
       OR NEW.active IS DISTINCT FROM OLD.active OR NEW.name IS DISTINCT FROM OLD.name
       OR NEW.created_at IS DISTINCT FROM OLD.created_at
  ) THEN
    RAISE EXCEPTION 'a user may change only their own password'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
"""

# table -> the policies that replace its single `tenant` policy: (name, command, USING, CHECK)
POLICIES: dict[str, list[tuple[str, str, str | None, str | None]]] = {
    "case_events": [
        ("read", "SELECT", SEEN, None),
        ("add", "INSERT", None, EDITABLE),
        ("edit", "UPDATE", EDITABLE, EDITABLE),
        ("remove", "DELETE", EDITABLE, None),
    ],
    "case_respondents": [
        ("read", "SELECT", SEEN, None),
        ("add", "INSERT", None, EDITABLE),
        ("edit", "UPDATE", f"{EDITABLE} OR ({WIDE} AND {SEEN})", f"{EDITABLE} OR {WIDE}"),
        ("remove", "DELETE", EDITABLE, None),
    ],
    "case_flags": [
        ("read", "SELECT", SEEN, None),
        ("add", "INSERT", None, f"{SEEN} AND (flagged_by = {USER} OR {ADMIN})"),
        ("edit", "UPDATE", f"{SEEN} AND (flagged_by = {USER} OR {WIDE})", None),
        ("remove", "DELETE", f"{SEEN} AND (flagged_by = {USER} OR {WIDE})", None),
    ],
    "evidence": [
        ("read", "SELECT", SEEN, None),
        ("add", "INSERT", None, EDITABLE),
        ("edit", "UPDATE", EDITABLE, EDITABLE),
        ("remove", "DELETE", EDITABLE, None),
    ],
    "campaign_cases": [
        ("read", "SELECT", SEEN, None),
        ("add", "INSERT", None, f"{WIDE} AND {SEEN}"),
        ("edit", "UPDATE", f"{WIDE} AND {SEEN}", f"{WIDE} AND {SEEN}"),
        ("remove", "DELETE", f"{WIDE} AND {SEEN}", None),
    ],
}


def upgrade() -> None:
    for statement in FUNCTIONS.split("\nCREATE ")[1:]:
        op.execute("CREATE " + statement)
    for table, policies in POLICIES.items():
        op.execute(f"DROP POLICY {table}_tenant ON {table}")
        for name, command, using, check in policies:
            sql = f"CREATE POLICY {table}_{name} ON {table} FOR {command}"
            if using is not None:
                sql += f" USING ({using})"
            if check is not None:
                sql += f" WITH CHECK ({check})"
            op.execute(sql)
    op.execute(
        "CREATE TRIGGER users_guard_columns BEFORE INSERT OR UPDATE ON users "
        "FOR EACH ROW EXECUTE FUNCTION ej_users_guard_columns()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS users_guard_columns ON users")
    for table, policies in POLICIES.items():
        for name, *_ in policies:
            op.execute(f"DROP POLICY IF EXISTS {table}_{name} ON {table}")
        op.execute(f"CREATE POLICY {table}_tenant ON {table} FOR ALL USING ({SEEN})")
    op.execute("DROP FUNCTION IF EXISTS ej_users_guard_columns()")
    op.execute("DROP FUNCTION IF EXISTS ej_case_editable(uuid)")
