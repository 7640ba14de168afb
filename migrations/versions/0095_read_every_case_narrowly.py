"""Hotspots read a narrow index, generalized cells cost a function call less, search pages.

Nothing here changes who sees what: the row level security policies of `cases` and the view
of a case (`ej_cases`, migration 0021) stay as they are, and every read below goes through them.

- `ix_cases_hotspot_points`: what a hotspot analysis reads of each live case (id, organization,
  sensitivity, status, country, issue types, centroid; by `updated_at`), so the analysis scans
  an index-only path of about 160 bytes a case instead of the 820-byte rows of `cases`.
- `ej_cell_origin` computes the same numbers in one expression, which PostgreSQL can inline:
  as a query with a FROM clause it was a function call of its own, twice for every
  generalized point (about 50 microseconds each).
- `ej_search_page(q, by_update, after_at, after_id, want)` replaces `ej_search_ids` (migration
  0083): the ids of the first `want` cases, in the case list's order after its cursor, that the
  current viewer may read and that match on what the viewer is shown (the view at the list's
  level, internal). It reads the view as the schema owner, so the search indexes serve, and
  only a head of the list long enough to hold those matches by the statistics' estimate, found
  through the search index and the list's index together. A word in 0.1 to 1 % of cases, too
  common for the old function's list of ids and too rare for walking the list, reads a few
  hundred rows instead of tens of thousands.

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
  q tsquery, by_update boolean, after_at timestamptz, after_id uuid, want integer
) RETURNS uuid[]
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
-- JIT would compile the view's expressions for a few hundred rows: 0.1-0.3 s lost each time
SET search_path = public, pg_temp SET jit = off AS $$
DECLARE
  estimate json;
  matches float8;
  total float8;
  list_key text := CASE WHEN by_update THEN 'updated_at' ELSE 'created_at' END;
  direction text := CASE WHEN by_update THEN 'ASC' ELSE 'DESC' END;
  after_cursor text := '';  -- on alias %1$s: after the cursor in the list's order
  in_span text;  -- on alias %1$s: not past the span's last case
  span float8;  -- how many cases, from the cursor on in the list's order, the next try reads
  edge_at timestamptz;  -- the list key of the span's last case (NULL: every case)
  edge_id uuid;
  found uuid[];
BEGIN
  -- the words inline, not as a parameter, so the estimate reads their statistics
  EXECUTE format('EXPLAIN (FORMAT JSON) SELECT 1 FROM cases c'
                 ' WHERE c.search @@ %L::tsquery OR {shown} @@ %L::tsquery', q, q)
    INTO estimate;
  matches := greatest((estimate -> 0 -> 'Plan' ->> 'Plan Rows')::float8, 1);
  -- the planner's count of cases: the last statistics scaled to the table's size now
  EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM cases' INTO estimate;
  total := greatest((estimate -> 0 -> 'Plan' ->> 'Plan Rows')::float8, 1);
  IF after_at IS NOT NULL THEN
    after_cursor := format(' AND (%%1$s.%s, %%1$s.id) %s ($2, $3)', list_key,
                           CASE WHEN by_update THEN '>' ELSE '<' END);
  END IF;
  in_span := format(' AND (%%1$s.%s, %%1$s.id) %s ($6, $7)', list_key,
                    CASE WHEN by_update THEN '<=' ELSE '>=' END);
  -- Enough of the list to hold `want` matches four times over by the estimate (which counts a
  -- case twice when both documents match, as respondents' names do): a rare word's span is
  -- every case, a common word's a few thousand. A span is a head of the list, so its first
  -- `want` matches are the list's; too few, and a longer span is read. The view decides
  -- which cases the viewer may read and which match on what the viewer is shown.
  span := 4 * want * total / matches;
  LOOP
    edge_at := NULL;
    IF span < total THEN
      EXECUTE format('SELECT c.%1$s, c.id FROM cases c WHERE true%2$s'
                     ' ORDER BY c.%1$s %3$s, c.id %3$s OFFSET $5 LIMIT 1',
                     list_key, format(after_cursor, 'c'), direction)
        INTO edge_at, edge_id USING q, after_at, after_id, want, ceil(span)::bigint;
    END IF;
    -- A span shorter than the word's list of matches is read through the list's index (the
    -- search index would read every match in the corps); a longer one is narrowed to the
    -- matches by the search index, with the list's.
    EXECUTE format('SELECT ARRAY(SELECT v.id FROM ej_cases(''internal'', NULL, $1) AS v'
                   ' WHERE true%s%s%s ORDER BY v.%s %s, v.id %s LIMIT $4)',
                   format(after_cursor, 'v'),
                   CASE WHEN edge_at IS NOT NULL THEN format(in_span, 'v') ELSE '' END,
                   CASE WHEN edge_at IS NOT NULL AND span < matches THEN '' ELSE
                     ' AND v.id IN (SELECT c.id FROM cases c'
                     || ' WHERE (c.search @@ $1 OR {shown} @@ $1)' || format(after_cursor, 'c')
                     || CASE WHEN edge_at IS NOT NULL THEN format(in_span, 'c') ELSE '' END
                     || ')' END,
                   list_key, direction, direction)
      INTO found USING q, after_at, after_id, want, ceil(span)::bigint, edge_at, edge_id;
    EXIT WHEN edge_at IS NULL OR cardinality(found) >= want;
    -- as many more as the matches found so far say are needed, twice over
    span := span * least(64, greatest(4, 2.0 * want / greatest(cardinality(found), 1)));
  END LOOP;
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
    op.execute("DROP FUNCTION ej_search_page(tsquery, boolean, timestamptz, uuid, integer)")
    op.execute(CELL_ORIGIN_0021)
    op.execute("DROP INDEX ix_cases_hotspot_points")
