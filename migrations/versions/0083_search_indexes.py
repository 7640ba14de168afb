"""Full-text search through indexes: the words a generalized case shows get their own GIN index.

A viewer's search matches each case on what that viewer is shown (migration 0021): the whole
search document where the case is shown exactly, its public title and respondents where it is
shown generalized. That choice depends on the viewer, so a CASE made it, and it kept both
indexes out of every plan: a rare word scanned every case (2.2 s at 100,000 cases). The shown
words now have an expression index beside `ix_cases_search`, and the view tests "either
document matches" first, which the planner answers from the two indexes, before the exact
per-viewer CASE, which still decides. The expression replaces `concat_ws` (stable, so not
indexable) with `||` over the same two non-null parts: the same words at the same positions.

Row level security alone still keeps those indexes away from the service's role: its policy
on `cases` runs first, and `@@` is not leakproof, so PostgreSQL may not search an index with it
ahead of the policy. `ej_search_ids(level, q, cap)` asks the view of a case as the schema owner
(whose policy is `true`, so the indexes serve) for the ids of at most `cap` cases the current
viewer may read and that match on what that viewer is shown: the view's own visibility and
matching rule decide, so it answers nothing the same viewer could not select from the view.
The case list then reads those cases by id (uuid equality is leakproof) under every policy.

Revision ID: 0083
Revises: 0010
Create Date: 2026-12-02 08:00:00
"""

from alembic import op

revision = "0083"
down_revision = "0010"
branch_labels = None
depends_on = None

# What a generalized case shows to search: its public title (blank is none) and respondents.
SHOWN_WORDS = (
    "to_tsvector('simple'::regconfig, coalesce(nullif(btrim(public_title), ''), '') || ' ' "
    "|| coalesce(respondent_names, ''))"
)
SHOWN = SHOWN_WORDS.replace("public_title", "c.public_title").replace(
    "respondent_names", "c.respondent_names"
)
NEW_Q = """        -- A hidden case matches on what it shows alone: requiring the true text as well would
        -- let a negated word (`-palm`) drop exactly the cases whose hidden text holds it. The
        -- first test is implied by the second and adds no match: it is there for the two GIN
        -- indexes (BitmapOr), which the viewer-dependent CASE alone would keep out of the plan.
        AND (q IS NULL OR (
              (c.search @@ q OR {shown} @@ q)
              AND CASE WHEN hide.hidden THEN {shown} @@ q ELSE c.search @@ q END))
"""
OLD_Q = """        -- A hidden case matches on what it shows alone: requiring the true text as well would
        -- let a negated word (`-palm`) drop exactly the cases whose hidden text holds it.
        AND (q IS NULL OR CASE WHEN hide.hidden
              THEN to_tsvector('simple'::regconfig, concat_ws(' ',
                     coalesce(nullif(btrim(c.public_title), ''), ''), c.respondent_names)) @@ q
              ELSE c.search @@ q END)
"""
FUNCTION = """
    CREATE OR REPLACE FUNCTION ej_cases(
      level text DEFAULT 'internal', bbox geometry DEFAULT NULL, q tsquery DEFAULT NULL
    )
    RETURNS TABLE (
      id uuid, reference text, organization_id uuid, organization_name text,
      organization_slug text, title text, public_title text, summary text, issue_types text[],
      status text, sensitivity text, geometry geometry, geom_3857 geometry, centroid geometry,
      generalized boolean, cell_deg double precision, geometry_repaired boolean,
      area_m2 double precision, location_precision text, place_name text, country text,
      people_affected integer, respondents json, opened_on date, date_precision text,
      version integer, created_at timestamptz, updated_at timestamptz
    )
    LANGUAGE sql STABLE AS $$
      SELECT
        c.id, c.reference::text, c.organization_id, org.name::text, org.slug::text,
        CASE WHEN hide.hidden THEN coalesce(
          nullif(btrim(c.public_title), ''),
          ej_neutral_title(
            c.issue_types::text[], c.country::text,
            extract(year FROM coalesce(c.opened_on, c.created_at))::integer))
        ELSE c.title::text END,
        c.public_title::text,
        CASE WHEN hide.hidden THEN '' ELSE c.summary END,
        c.issue_types::text[], c.status::text, c.sensitivity::text,
        shown.g,
        CASE WHEN s.size IS NULL THEN c.geom_3857 ELSE ST_Transform(shown.g, 3857) END,
        CASE WHEN s.size IS NULL THEN c.centroid ELSE ej_cell_point(c.centroid, s.size) END,
        s.size IS NOT NULL,
        s.size,
        c.geometry_repaired,
        CASE WHEN s.size IS NULL THEN c.area_m2 END,
        c.location_precision::text,
        CASE WHEN hide.hidden THEN NULL ELSE c.place_name::text END,
        c.country::text, c.people_affected,
        (SELECT coalesce(json_agg(json_build_object(
                   'name', cr.name_as_given, 'kind', a.kind,
                   'actor_id', a.id, 'actor_name', a.name) ORDER BY cr.position), '[]'::json)
         FROM case_respondents cr JOIN actors a ON a.id = cr.actor_id
         WHERE cr.case_id = c.id AND (level <> 'public' OR a.kind <> 'other')),
        CASE WHEN level = 'public' THEN date_trunc('month', c.opened_on)::date
             ELSE c.opened_on END,
        CASE WHEN level = 'public' THEN 'month' ELSE 'day' END,
        c.version,
        CASE WHEN level = 'public' THEN date_trunc('month', c.created_at) ELSE c.created_at END,
        CASE WHEN level = 'public' THEN date_trunc('month', c.updated_at) ELSE c.updated_at END
      FROM cases c
      LEFT JOIN organizations org ON org.id = c.organization_id
      CROSS JOIN LATERAL (
        SELECT ej_viewer_cell(level, c.sensitivity, c.organization_id) AS size
      ) AS s
      CROSS JOIN LATERAL (SELECT s.size IS NOT NULL OR level = 'public' AS hidden) AS hide
      CROSS JOIN LATERAL (
        SELECT CASE WHEN s.size IS NULL THEN c.geometry ELSE ej_cell(c.centroid, s.size) END AS g
      ) AS shown
      WHERE c.archived_at IS NULL
        AND (current_setting('ej.viewer_role', true) IN ('admin', 'coordinator', 'system')
             OR (current_setting('ej.viewer_role', true) IN ('paralegal', 'org_admin')
                 AND c.organization_id = nullif(current_setting('ej.viewer_org', true), '')::uuid)
             OR (current_setting('ej.viewer_role', true) = 'campaigner'
                 AND EXISTS (SELECT 1 FROM campaign_cases cc WHERE cc.case_id = c.id)))
        AND (level <> 'public' OR c.sensitivity <> 'high_risk')
        AND (bbox IS NULL OR (
              c.geometry && ST_Expand(bbox, CASE WHEN level = 'public' THEN 0.2 ELSE 0.05 END)
              AND ST_Intersects(shown.g, bbox)))
{q_match}    $$
"""


# Custom plans, so the view folds `q IS NULL` away and the indexes can answer. A word the
# statistics call common (NULL) is left to the caller: walking the cases newest first finds a
# page of it soon, while collecting all its ids would not be cheap. No match is an empty array.
SEARCH_IDS = """
CREATE FUNCTION ej_search_ids(level text, q tsquery, cap integer) RETURNS uuid[]
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp SET plan_cache_mode = force_custom_plan AS $$
DECLARE estimate json;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM cases c WHERE c.search @@ $1 OR {shown} @@ $1'
    INTO estimate USING q;
  IF (estimate -> 0 -> 'Plan' ->> 'Plan Rows')::float8 > cap THEN
    RETURN NULL;
  END IF;
  RETURN coalesce(
    (SELECT array_agg(v.id) FROM (SELECT id FROM ej_cases(level, NULL, q) LIMIT cap + 1) AS v),
    '{{}}');
END $$
"""


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_cases_shown_search ON cases USING gin ({SHOWN_WORDS})")
    op.execute(FUNCTION.format(q_match=NEW_Q.format(shown=SHOWN)))
    op.execute(SEARCH_IDS.format(shown=SHOWN.replace("'", "''")))
    op.execute("ANALYZE cases")  # statistics for the new expression, so plans weigh it


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS ej_search_ids(text, tsquery, integer)")
    op.execute(FUNCTION.format(q_match=OLD_Q))
    op.execute("DROP INDEX IF EXISTS ix_cases_shown_search")
