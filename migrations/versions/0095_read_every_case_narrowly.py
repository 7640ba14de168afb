"""Hotspots read a narrow index, generalized cells cost a function call less, search pages.

Nothing here changes who sees what: the row level security policies of `cases` and the view
of a case (`ej_cases`, migration 0021) stay as they are, and every read below goes through them.

- `ix_cases_hotspot_points`: what a hotspot analysis reads of each live case (id, organization,
  sensitivity, status, country, issue types, centroid; by `updated_at`), so the analysis scans
  an index-only path of about 160 bytes a case instead of the 820-byte rows of `cases`.
- `ej_cell_origin` computes the same numbers in one expression, which PostgreSQL can inline:
  as a query with a FROM clause it was a function call of its own, twice for every
  generalized point (about 50 microseconds each).
- `ej_search_page(level, q, by_update, after_at, after_id, want)` replaces `ej_search_ids`
  (migration 0083): the ids of the first `want` cases, in the case list's order after its
  cursor, that the current viewer may read and that match on what the viewer is shown. It
  reads the view as the schema owner, so the search indexes serve, and picks by the
  statistics' estimate whichever costs fewer rows read: collecting every match through the
  indexes (about one read a match), or walking the list in order until `want` matches (about
  total / matches reads a match found). A word in 0.1 to 1 % of cases, too common for the
  old function's list of ids, now costs what the cheaper of the two costs.

Revision ID: 0095
Revises: 0091
Create Date: 2026-12-02 11:00:00
"""

import runpy
from pathlib import Path

from alembic import op

revision = "0095"
down_revision = "0091"
branch_labels = None
depends_on = None

HOTSPOT_POINTS = (
    "CREATE INDEX ix_cases_hotspot_points ON cases (updated_at) "
    "INCLUDE (id, organization_id, sensitivity, status, country, issue_types, centroid) "
    "WHERE archived_at IS NULL"
)

CELL_ORIGIN = """
CREATE OR REPLACE FUNCTION ej_cell_origin(coordinate double precision, size double precision)
RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN (floor(coordinate::numeric / size::numeric) * size::numeric)::float8 > coordinate
              THEN (floor(coordinate::numeric / size::numeric) * size::numeric)::float8 - size
              ELSE (floor(coordinate::numeric / size::numeric) * size::numeric)::float8 END
$$
"""

CELL_ORIGIN_0021 = """
CREATE OR REPLACE FUNCTION ej_cell_origin(coordinate double precision, size double precision)
RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN o > coordinate THEN o - size ELSE o END
  FROM (SELECT (floor(coordinate::numeric / size::numeric) * size::numeric)::float8 AS o) AS x
$$
"""

# What a generalized case shows to search (as migration 0083's index), quoted for format().
SHOWN = (
    "to_tsvector(''simple''::regconfig, coalesce(nullif(btrim(c.public_title), ''''), '''')"
    " || '' '' || coalesce(c.respondent_names, ''''))"
)
SEARCH_PAGE = """
CREATE FUNCTION ej_search_page(
  level text, q tsquery, by_update boolean, after_at timestamptz, after_id uuid, want integer
) RETURNS uuid[]
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  estimate json;
  matches float8;
  total float8;
  found uuid[];
  list_key text := CASE WHEN by_update THEN 'v.updated_at' ELSE 'v.created_at' END;
  direction text := CASE WHEN by_update THEN 'ASC' ELSE 'DESC' END;
  conditions text := '';
BEGIN
  -- the words inline, not as a parameter, so the estimate reads their statistics
  EXECUTE format('EXPLAIN (FORMAT JSON) SELECT 1 FROM cases c'
                 ' WHERE c.search @@ %L::tsquery OR {shown} @@ %L::tsquery', q, q)
    INTO estimate;
  matches := (estimate -> 0 -> 'Plan' ->> 'Plan Rows')::float8;
  SELECT greatest(reltuples, 1) INTO total FROM pg_class WHERE oid = 'cases'::regclass;
  IF after_at IS NOT NULL THEN
    conditions := format(' AND (%s, v.id) %s ($3, $4)', list_key,
                         CASE WHEN by_update THEN '>' ELSE '<' END);
  END IF;
  -- Collecting every match reads `matches` rows; walking the list reads about
  -- want * total / matches. The view decides either way (visibility, and matching on what
  -- is shown); the indexes only narrow what it reads.
  IF matches * matches <= want * total THEN
    conditions := conditions || ' AND v.id IN (SELECT c.id FROM cases c'
                             || ' WHERE c.search @@ $2 OR {shown} @@ $2)';
  END IF;
  EXECUTE format('SELECT ARRAY(SELECT v.id FROM ej_cases($1, NULL, $2) AS v WHERE true%s'
                 ' ORDER BY %s %s, v.id %s LIMIT $5)', conditions, list_key, direction, direction)
    INTO found USING level, q, after_at, after_id, want;
  RETURN found;
END $$
""".replace("{shown}", SHOWN)  # a constant, not input


def upgrade() -> None:
    op.execute(HOTSPOT_POINTS)
    op.execute(CELL_ORIGIN)
    op.execute(SEARCH_PAGE)
    op.execute("DROP FUNCTION ej_search_ids(text, tsquery, integer)")


def downgrade() -> None:
    # 0083's function as 0083 wrote it (its module is not importable by name: a digit first)
    path = Path(__file__).with_name("0083_search_indexes.py")
    search_indexes = runpy.run_path(str(path))
    op.execute(
        search_indexes["SEARCH_IDS"].format(
            shown=search_indexes["SHOWN"], quoted=search_indexes["SHOWN"].replace("'", "''")
        )
    )
    op.execute("DROP FUNCTION ej_search_page(text, tsquery, boolean, timestamptz, uuid, integer)")
    op.execute(CELL_ORIGIN_0021)
    op.execute("DROP INDEX ix_cases_hotspot_points")
