"""Tiles find their cases through indexes, and a generalized cell costs microseconds, not 0.3 ms.

Two costs made a dense tile 50-80 ms of SQL at 100,000 cases:

- `ej_cell` and `ej_cell_origin` read `FROM (SELECT ...)`, so PostgreSQL could not inline
  them: every generalized case ran two nested SQL functions, about 0.27 ms a cell. Migration
  0095 made `ej_cell_origin` one expression; `ej_cell` is one now too, inlined into each query
  (the same arithmetic in the same order, so every cell and point is the same to the last
  bit; `ej_cell_point` inlines with them). The view asks for cells of a constant size.
- The view's `bbox` narrowed by the true geometry's index one cell beyond the box, then
  tested every candidate with `ST_Intersects` (1,558 candidates for 377 features on the
  densest z13 tile). `ej_cases` takes two more arguments, `tile`, a Web Mercator box, and
  `tiled`, true where the tile applies: a case is kept when the box of what it shows overlaps
  the tile, found through `ix_cases_geom_3857` for
  cases shown exactly and through `ix_cases_cell_3857` for generalized ones. A tile's
  clipping (`ST_AsMVTGeom`) drops the cases that only overlap by their box, so a tile shows
  what it showed.

Even inlined, a cell costs about 24 float-to-numeric conversions (the cell edges are decimal
arithmetic, so that they are exact). `cases.cell_3857` stores the 0.05-degree cell of the
sensitive and high-risk cases in Web Mercator, the only cases generalized below the public
level, as a generated column (PostgreSQL recomputes it whenever the geometry or the
sensitivity changes), and the view shows that stored value: the same bytes, computed once per
write instead of once per read. The column is computed by `ej_cell`: a migration that
redefines `ej_cell` or `ej_cell_origin` must recompute it (tests/maps/test_tile_candidates.py
checks it against what the view would compute). The view's visibility rule, levels and shown
values are 0021's, unchanged; it is still a plain SQL function under the row level security of
`cases` (policies of 0010, unchanged: a generated column adds no way to read a row).

Revision ID: 0093
Revises: 0095
Create Date: 2026-12-02
"""

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0093"
down_revision = "0095"
branch_labels = None
depends_on = None

# Inlinable: one SELECT of one expression, no FROM (ej_cell_origin is 0095's, inlinable too).
# The stored column computes it, and pg_restore computes stored columns with an empty
# search_path: every name in it is qualified with its schema ({gis}: PostGIS's, {own}: ours),
# which, unlike `SET search_path`, keeps it inlinable.
CELL = """
CREATE OR REPLACE FUNCTION ej_cell(point geometry, size double precision)
RETURNS geometry LANGUAGE sql IMMUTABLE AS $$
  SELECT {gis}.ST_ForcePolygonCCW({gis}.ST_MakeEnvelope(
    {own}.ej_cell_origin({gis}.ST_X(point), size), {own}.ej_cell_origin({gis}.ST_Y(point), size),
    {own}.ej_cell_origin({gis}.ST_X(point), size) + size,
    {own}.ej_cell_origin({gis}.ST_Y(point), size) + size, 4326))
$$
"""
SCHEMAS = (
    "SELECT quote_ident(n.nspname) AS gis, quote_ident(current_schema()) AS own"
    " FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
    " WHERE e.extname = 'postgis'"
)
OLD_CELL = """
CREATE OR REPLACE FUNCTION ej_cell(point geometry, size double precision)
RETURNS geometry LANGUAGE sql IMMUTABLE AS $$
  SELECT ST_ForcePolygonCCW(ST_MakeEnvelope(x0, y0, x0 + size, y0 + size, 4326))
  FROM (SELECT ej_cell_origin(ST_X(point), size) AS x0,
               ej_cell_origin(ST_Y(point), size) AS y0) AS o
$$
"""

PROTECTED = "sensitivity IN ('sensitive', 'high_risk')"
# `centroid` is itself generated, and a generated column may not read another: its expression.
CELL_3857 = (
    f"CASE WHEN {PROTECTED} THEN ST_Transform(ej_cell(ST_Centroid(geometry), 0.05), 3857) END"
)

# The shown cell and point at a constant size, so that the cell functions inline.
SIZED = """CASE WHEN s.size = 0.05 THEN {f}(c.centroid, 0.05)
                  WHEN s.size = 0.2 THEN {f}(c.centroid, 0.2)
                  ELSE {f}(c.centroid, s.size) END"""

# Every piece formatted in is a constant of this module.
CASES = """
CREATE FUNCTION ej_cases(
  level text DEFAULT 'internal', bbox geometry DEFAULT NULL, q tsquery DEFAULT NULL,
  tile geometry DEFAULT NULL, tiled boolean DEFAULT false
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
    CASE WHEN s.size IS NULL THEN c.geom_3857 WHEN s.size = 0.05 THEN c.cell_3857
         ELSE ST_Transform(shown.g, 3857) END,
    CASE WHEN s.size IS NULL THEN c.centroid ELSE {point} END,
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
    SELECT CASE WHEN s.size IS NULL THEN c.geometry ELSE {cell} END AS g
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
    -- One arm per index: the exact geometry's, the 0.05 cell's (only sensitive and high-risk
    -- cases are generalized below the public level), and the public level's 0.2 cell.
    -- `tiled` is a literal in the caller's statement, so that even a generic plan (the tile a
    -- parameter) drops this first arm and can search both indexes.
    AND (NOT tiled
         OR (s.size IS NULL AND c.geom_3857 && tile)
         OR (s.size = 0.05 AND c.{protected} AND c.cell_3857 && tile)
         OR (level = 'public' AND ST_Transform(ej_cell(c.centroid, 0.2), 3857) && tile))
    -- A hidden case matches on what it shows alone: requiring the true text as well would
    -- let a negated word (`-palm`) drop exactly the cases whose hidden text holds it.
    AND (q IS NULL OR CASE WHEN hide.hidden
          THEN to_tsvector('simple'::regconfig, concat_ws(' ',
                 coalesce(nullif(btrim(c.public_title), ''), ''), c.respondent_names)) @@ q
          ELSE c.search @@ q END)
$$
""".format(  # noqa: S608
    point=SIZED.format(f="ej_cell_point"),
    cell=SIZED.format(f="ej_cell"),
    protected=PROTECTED,
)


def _migration(name: str) -> ModuleType:
    """An earlier migration's module, for the statements a downgrade restores."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(name))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    schemas = op.get_bind().exec_driver_sql(SCHEMAS).one()
    op.execute(CELL.format(gis=schemas.gis, own=schemas.own))
    op.execute(
        f"ALTER TABLE cases ADD COLUMN cell_3857 geometry GENERATED ALWAYS AS ({CELL_3857}) STORED"
    )
    op.execute(f"CREATE INDEX ix_cases_cell_3857 ON cases USING gist (cell_3857) WHERE {PROTECTED}")
    op.execute("DROP FUNCTION ej_cases(text, geometry, tsquery)")
    op.execute(CASES)
    op.execute("ANALYZE cases")


def downgrade() -> None:
    view = _migration("0021_case_view.py")
    op.execute("DROP FUNCTION ej_cases(text, geometry, tsquery, geometry, boolean)")
    op.execute(view.FUNCTIONS[-1])
    op.execute("ALTER TABLE cases DROP COLUMN cell_3857")  # and its index
    op.execute(OLD_CELL)
