"""The one view of a case: ej_cases(level) gives each visible case as this viewer may see it.

The viewer is read from transaction-local settings (ej.viewer_user, ej.viewer_org,
ej.viewer_role) that each request and job sets before its first query. The function decides the
shown geometry (exact, or the deterministic grid cell holding the centroid), the centroid and
area of what is shown, the title (public or neutral where generalized and at public level), the
place name and summary, the dates' precision, the respondents and the `generalized` flag. It is
a plain SQL function (not SECURITY DEFINER), so row level security (the policies on `cases`
and its tables, migration 0010) still applies beneath it; it adds no table. And
PostgreSQL inlines it into each query: filters on its columns plan like filters on a table.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 04:00:00
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

FUNCTIONS = [
    # The west or south edge of the cell holding a coordinate. Decimal arithmetic keeps edges
    # exact (0.15 / 0.05 is 2.9999... in floats); the float to numeric cast rounds to 15 digits,
    # so step back a cell when that rounding overshot.
    """
    CREATE FUNCTION ej_cell_origin(coordinate double precision, size double precision)
    RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
      SELECT CASE WHEN o > coordinate THEN o - size ELSE o END
      FROM (SELECT (floor(coordinate::numeric / size::numeric) * size::numeric)::float8 AS o) AS x
    $$
    """,
    # The grid cell (a polygon, its ring counter-clockwise as RFC 7946 asks) holding a point.
    """
    CREATE FUNCTION ej_cell(point geometry, size double precision)
    RETURNS geometry LANGUAGE sql IMMUTABLE AS $$
      SELECT ST_ForcePolygonCCW(ST_MakeEnvelope(x0, y0, x0 + size, y0 + size, 4326))
      FROM (SELECT ej_cell_origin(ST_X(point), size) AS x0,
                   ej_cell_origin(ST_Y(point), size) AS y0) AS o
    $$
    """,
    # The point shown for a generalized centroid: its cell's centre, or the quarter point when
    # the centre is the true centroid (the shown place never equals the true one).
    """
    CREATE FUNCTION ej_cell_point(point geometry, size double precision)
    RETURNS geometry LANGUAGE sql IMMUTABLE AS $$
      SELECT CASE WHEN ST_Equals(centre, point) THEN quarter ELSE centre END
      FROM (SELECT ST_SetSRID(ST_MakePoint(x0 + size / 2, y0 + size / 2), 4326) AS centre,
                   ST_SetSRID(ST_MakePoint(x0 + size / 4, y0 + size / 4), 4326) AS quarter
            FROM (SELECT ej_cell_origin(ST_X(point), size) AS x0,
                         ej_cell_origin(ST_Y(point), size) AS y0) AS o) AS p
    $$
    """,
    # The cell size in degrees a case is shown at to the current viewer, NULL for exact:
    # public 0.2 for every case; partner (and campaigners always) 0.05 for sensitive and
    # high-risk cases; coordinators 0.05 for high-risk cases of other organizations.
    """
    CREATE FUNCTION ej_viewer_cell(level text, sensitivity text, organization_id uuid)
    RETURNS double precision LANGUAGE sql STABLE AS $$
      SELECT CASE
        WHEN level = 'public' THEN 0.2
        WHEN level = 'partner' OR current_setting('ej.viewer_role', true) = 'campaigner' THEN
          CASE WHEN sensitivity IN ('sensitive', 'high_risk') THEN 0.05 END
        WHEN current_setting('ej.viewer_role', true) = 'coordinator'
             AND sensitivity = 'high_risk'
             AND organization_id IS DISTINCT FROM
                 nullif(current_setting('ej.viewer_org', true), '')::uuid THEN 0.05
      END::float8
    $$
    """,
    """
    CREATE FUNCTION ej_cases(
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
        -- A hidden case matches on what it shows alone: requiring the true text as well would
        -- let a negated word (`-palm`) drop exactly the cases whose hidden text holds it.
        AND (q IS NULL OR CASE WHEN hide.hidden
              THEN to_tsvector('simple'::regconfig, concat_ws(' ',
                     coalesce(nullif(btrim(c.public_title), ''), ''), c.respondent_names)) @@ q
              ELSE c.search @@ q END)
    $$
    """,
]


def upgrade() -> None:
    for statement in FUNCTIONS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP FUNCTION ej_cases(text, geometry, tsquery)")
    op.execute("DROP FUNCTION ej_viewer_cell(text, text, uuid)")
    op.execute("DROP FUNCTION ej_cell_point(geometry, double precision)")
    op.execute("DROP FUNCTION ej_cell(geometry, double precision)")
    op.execute("DROP FUNCTION ej_cell_origin(double precision, double precision)")
