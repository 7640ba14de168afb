"""Row-level security on every table that holds an organization's data.

Each transaction of the service names its viewer in three transaction-local settings
(`ej.viewer_user`, `ej.viewer_org`, `ej.viewer_role`, set by corps.viewer); the policies
below express the role table of docs/privacy.md from them. A connection that has named no
viewer sees no row. The service's role has no BYPASSRLS; the schema owner (the role that
runs this migration, used by migrations and tests' factories, never by the service) keeps a
policy that sees every row, which the few SECURITY DEFINER functions here rely on.

Revision ID: 0010
Revises: 0021
Create Date: 2026-12-02
"""

# ruff: noqa: S608 (the SQL is built from constants of this file, never from input)
from alembic import op

revision = "0010"
down_revision = "0021"
branch_labels = None
depends_on = None

ROLE = "(SELECT ej_viewer_role())"
ORG = "(SELECT ej_viewer_org())"
USER = "(SELECT ej_viewer_user())"
WIDE = "(SELECT ej_viewer_corps_wide())"
ANY_VIEWER = f"({ROLE} IS NOT NULL AND {ROLE} <> 'sign_in')"
ORG_MEMBER = f"{ROLE} IN ('paralegal', 'org_admin')"
ADMIN = f"{ROLE} IN ('admin', 'system')"
CASE_SEEN = "EXISTS (SELECT 1 FROM cases c WHERE c.id = {col})"

VIEWER_FUNCTIONS = """
CREATE OR REPLACE FUNCTION ej_viewer_role() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT nullif(current_setting('ej.viewer_role', true), '') $$;
CREATE OR REPLACE FUNCTION ej_viewer_org() RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT nullif(current_setting('ej.viewer_org', true), '')::uuid $$;
CREATE OR REPLACE FUNCTION ej_viewer_user() RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE AS
$$ SELECT nullif(current_setting('ej.viewer_user', true), '')::uuid $$;
CREATE OR REPLACE FUNCTION ej_viewer_corps_wide() RETURNS boolean LANGUAGE sql STABLE
PARALLEL SAFE AS
$$ SELECT coalesce(ej_viewer_role() IN ('admin', 'coordinator', 'system'), false) $$;

-- A campaigner reads the cases of campaigns; asked through a definer function so the
-- policy of cases need not read campaign_cases, whose own policy reads cases.
CREATE OR REPLACE FUNCTION ej_case_in_campaign(case_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$$ SELECT EXISTS (SELECT 1 FROM campaign_cases cc WHERE cc.case_id = $1) $$;

-- A request's token names a user: read that active user and name them the transaction's
-- viewer in the same round trip (the auth dependency's one statement).
CREATE OR REPLACE FUNCTION ej_sign_in_as(user_id uuid) RETURNS SETOF users
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE found_user users;
BEGIN
  SELECT * INTO found_user FROM users u WHERE u.id = user_id AND u.active;
  IF FOUND THEN
    PERFORM set_config('ej.viewer_user', found_user.id::text, true),
            set_config('ej.viewer_org', found_user.organization_id::text, true),
            set_config('ej.viewer_role', found_user.role, true);
    RETURN NEXT found_user;
  END IF;
END $$;

-- Sign-in knows only an email: the user it names and their organization, nothing else
-- (a taken email is told apart from one taken in another organization).
CREATE OR REPLACE FUNCTION ej_user_for_email(email text)
RETURNS TABLE (id uuid, organization_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$$ SELECT u.id, u.organization_id FROM users u WHERE lower(u.email) = lower($1) $$;

-- The audit chain is one chain across organizations: every writer needs its head, and
-- each dossier's manifest anchors it.
CREATE OR REPLACE FUNCTION ej_audit_head() RETURNS TABLE (id bigint, hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$$ SELECT a.id, a.hash FROM audit_log a ORDER BY a.id DESC LIMIT 1 $$;

-- Any viewer appends to it, without reading it back (only admins read the log).
CREATE OR REPLACE FUNCTION ej_audit_append(
  p_at timestamptz, p_actor_id uuid, p_organization_id uuid, p_action text,
  p_object_type text, p_object_id text, p_details jsonb, p_prev_hash text, p_hash text
) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE new_id bigint;
BEGIN
  -- current_user is the owner here; the owner's own sessions (maintenance) need no viewer
  IF ej_viewer_role() IS NULL AND NOT pg_has_role(session_user, current_user, 'USAGE') THEN
    RAISE EXCEPTION 'no viewer: the audit log takes entries only from a named viewer'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  INSERT INTO audit_log (at, actor_id, organization_id, action, object_type, object_id,
                         details, prev_hash, hash)
  VALUES (p_at, p_actor_id, p_organization_id, p_action, p_object_type, p_object_id,
          p_details, p_prev_hash, p_hash)
  RETURNING id INTO new_id;
  RETURN new_id;
END $$;

-- A campaign spans organizations: whoever reads it learns how many live cases of how many
-- organizations it holds, and sees only the cases of it they may read.
CREATE OR REPLACE FUNCTION ej_campaign_sizes(campaign_ids uuid[])
RETURNS TABLE (campaign_id uuid, case_count bigint, organization_count bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$$ SELECT cc.campaign_id, count(*), count(DISTINCT c.organization_id)
   FROM campaign_cases cc JOIN cases c ON c.id = cc.case_id
   WHERE cc.campaign_id = ANY($1) AND c.archived_at IS NULL
   GROUP BY cc.campaign_id $$;

-- The respondent registry tells everyone how many live cases of the corps name an actor,
-- as a number only, and never counting a high-risk case.
CREATE OR REPLACE FUNCTION ej_actor_corps_case_count(actor_id uuid) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$$ SELECT count(*) FROM case_respondents cr JOIN cases c ON c.id = cr.case_id
   WHERE cr.actor_id = $1 AND c.archived_at IS NULL AND c.sensitivity <> 'high_risk' $$;
"""

DROP_FUNCTIONS = [
    "ej_actor_corps_case_count(uuid)",
    "ej_campaign_sizes(uuid[])",
    "ej_audit_append(timestamptz, uuid, uuid, text, text, text, jsonb, text, text)",
    "ej_audit_head()",
    "ej_user_for_email(text)",
    "ej_sign_in_as(uuid)",
    "ej_case_in_campaign(uuid)",
    "ej_viewer_corps_wide()",
    "ej_viewer_user()",
    "ej_viewer_org()",
    "ej_viewer_role()",
]

CASE_READ = (
    f"{WIDE} OR ({ORG_MEMBER} AND organization_id = {ORG})"
    f" OR ({ROLE} = 'campaigner' AND ej_case_in_campaign(id))"
)
CASE_WRITE = f"{ADMIN} OR ({ORG_MEMBER} AND organization_id = {ORG})"

# Dossiers: the requester's organization, and corps-wide roles only at a level they may
# see: a coordinator reads another organization's internal dossier only when none of its
# cases is high-risk (shown to them generalized); campaigners read partner and public
# dossiers of campaigns.
DOSSIER_READ = (
    f"{ADMIN} OR organization_id = {ORG} OR requested_by = {USER}"
    f" OR ({ROLE} = 'coordinator' AND (level <> 'internal' OR NOT EXISTS ("
    "SELECT 1 FROM cases c WHERE c.id::text = ANY(dossiers.case_ids)"
    f" AND c.sensitivity = 'high_risk' AND c.organization_id <> {ORG})))"
    f" OR ({ROLE} = 'campaigner' AND campaign_id IS NOT NULL AND level <> 'internal')"
)

# table -> list of (policy name, command, USING, WITH CHECK)
POLICIES: dict[str, list[tuple[str, str, str | None, str | None]]] = {
    "organizations": [
        ("read", "SELECT", ANY_VIEWER, None),
        ("manage", "ALL", f"{ROLE} IN ('admin', 'coordinator', 'system')", None),
    ],
    "users": [
        ("read", "SELECT", f"id = {USER} OR {WIDE} OR organization_id = {ORG}", None),
        ("manage", "ALL", f"{ADMIN} OR ({ROLE} = 'org_admin' AND organization_id = {ORG})", None),
        # a signed-in user changes their own password (the service decides which columns)
        ("self", "UPDATE", f"id = {USER} AND {ANY_VIEWER}", f"id = {USER}"),
    ],
    "audit_log": [
        ("read", "SELECT", ADMIN, None),
        ("append", "INSERT", None, f"{ROLE} IS NOT NULL"),
    ],
    "case_reference_counters": [
        ("tenant", "ALL", f"{ADMIN} OR organization_id = {ORG}", None),
    ],
    "cases": [
        ("read", "SELECT", CASE_READ, None),
        ("write", "INSERT", None, CASE_WRITE),
        # USING as for reading, so a reader may lock a row (and be told 403 by the
        # service); WITH CHECK keeps every change within the writer's organization.
        ("edit", "UPDATE", CASE_READ, CASE_WRITE),
    ],
    "case_events": [("tenant", "ALL", CASE_SEEN.format(col="case_id"), None)],
    "case_respondents": [("tenant", "ALL", CASE_SEEN.format(col="case_id"), None)],
    "case_flags": [("tenant", "ALL", CASE_SEEN.format(col="case_id"), None)],
    "evidence": [("tenant", "ALL", CASE_SEEN.format(col="case_id"), None)],
    "custody_events": [
        ("tenant", "ALL", "EXISTS (SELECT 1 FROM evidence e WHERE e.id = evidence_id)", None)
    ],
    "campaign_cases": [("tenant", "ALL", CASE_SEEN.format(col="case_id"), None)],
    "campaigns": [
        (
            "read",
            "SELECT",
            f"{WIDE} OR {ROLE} = 'campaigner' OR created_by = {USER} OR EXISTS "
            "(SELECT 1 FROM campaign_cases cc WHERE cc.campaign_id = campaigns.id)",
            None,
        ),
        ("manage", "ALL", f"{WIDE} OR created_by = {USER}", None),
    ],
    "dossiers": [
        ("read", "SELECT", DOSSIER_READ, None),
        ("request", "INSERT", None, f"{ADMIN} OR organization_id = {ORG}"),
        ("progress", "UPDATE", DOSSIER_READ, DOSSIER_READ),
    ],
    "advocacy_suggestions": [
        (
            "read",
            "SELECT",
            f"{WIDE} OR EXISTS (SELECT 1 FROM cases c WHERE c.id::text = ANY(case_ids))",
            None,
        ),
        ("compute", "ALL", f"{ROLE} = 'system'", None),
    ],
    "hotspot_results": [
        (
            "scope",
            "ALL",
            f"{ROLE} = 'system' OR (params->'scope'->>'role' = {ROLE}"
            f" AND params->'scope'->>'organization_id' = {ORG}::text)",
            None,
        ),
    ],
    "reference_layers": [
        ("read", "SELECT", ANY_VIEWER, None),
        ("manage", "ALL", WIDE, None),
    ],
    "layer_features": [
        ("read", "SELECT", ANY_VIEWER, None),
        ("manage", "ALL", WIDE, None),
    ],
    "layer_feature_parts": [
        ("read", "SELECT", ANY_VIEWER, None),
        ("manage", "ALL", WIDE, None),
    ],
}


def upgrade() -> None:
    for statement in VIEWER_FUNCTIONS.split("\nCREATE ")[1:]:
        op.execute("CREATE " + statement)
    for table, policies in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        # The owner (migrations, maintenance, tests' factories) sees and writes every row.
        op.execute(
            f"CREATE POLICY {table}_owner ON {table} TO CURRENT_USER USING (true) WITH CHECK (true)"
        )
        for name, command, using, check in policies:
            sql = f"CREATE POLICY {table}_{name} ON {table} FOR {command}"
            if using is not None:
                sql += f" USING ({using})"
            if check is not None:
                sql += f" WITH CHECK ({check})"
            op.execute(sql)

    # 0070's counters say only that some case changed: every viewer reads them, but a
    # connection that named no viewer sees nothing here either.
    op.execute("DROP POLICY IF EXISTS case_data_versions_read ON case_data_versions")
    op.execute(
        "CREATE POLICY case_data_versions_read ON case_data_versions FOR SELECT "
        f"USING ({ANY_VIEWER})"
    )


def downgrade() -> None:
    op.execute("DROP POLICY IF EXISTS case_data_versions_read ON case_data_versions")
    op.execute(
        "CREATE POLICY case_data_versions_read ON case_data_versions FOR SELECT USING (true)"
    )
    for table, policies in POLICIES.items():
        for name, *_ in policies:
            op.execute(f"DROP POLICY IF EXISTS {table}_{name} ON {table}")
        op.execute(f"DROP POLICY IF EXISTS {table}_owner ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    for signature in DROP_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
