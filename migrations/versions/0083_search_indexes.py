"""Full-text search through indexes the privacy rules do not defeat.

A viewer's search matches each case on what that viewer is shown (migration 0021): the whole
search document where the case is shown exactly, its public title and respondents where it is
shown generalized. Two things kept every index out of that search, so a rare word scanned
every case (2.2 s at 100,000 cases): the shown words had no index, and row level security
runs the policy of `cases` before any operator that is not leakproof, which `@@` is not, so
PostgreSQL may not search an index with it on the service's role.

The shown words now have an expression index beside `ix_cases_search` (`||` over the same two
non-null parts as the view's `concat_ws`, which is stable and so not indexable: the same words
at the same positions). `ej_search_ids(level, q, cap)` reads the view of a case as the schema
owner, whose policy is `true`, so both indexes serve: it answers the ids of at most `cap + 1`
cases the current viewer may read and that match on what that viewer is shown. The view's own
visibility rule and matching decide, so it answers nothing the viewer could not select from the
view itself. The case list then reads those cases by id (uuid equality is leakproof) under
every policy. A word the statistics call common is answered NULL without a search.

Revision ID: 0083
Revises: 0080
Create Date: 2026-12-02 08:00:00
"""

from alembic import op

revision = "0083"
down_revision = "0080"
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
# Custom plans, so the view folds `q IS NULL` away and the indexes can answer. A word the
# statistics call common (NULL) is left to the caller: walking the cases newest first finds a
# page of it soon, while collecting all its ids would not be cheap. No match is an empty array.
SEARCH_IDS = """
CREATE FUNCTION ej_search_ids(level text, q tsquery, cap integer) RETURNS uuid[]
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp SET plan_cache_mode = force_custom_plan AS $$
DECLARE estimate json;
BEGIN
  -- the words inline, not as a parameter, so the estimate reads their statistics
  EXECUTE format('EXPLAIN (FORMAT JSON) SELECT 1 FROM cases c'
                 ' WHERE c.search @@ %L::tsquery OR {quoted} @@ %L::tsquery', q, q)
    INTO estimate;
  IF (estimate -> 0 -> 'Plan' ->> 'Plan Rows')::float8 > cap THEN
    RETURN NULL;
  END IF;
  -- the view decides (visibility, and matching on what is shown); the owner's indexes find
  RETURN coalesce((SELECT array_agg(m.id) FROM (
    SELECT v.id FROM ej_cases(level, NULL, q) AS v
    WHERE v.id IN (SELECT c.id FROM cases c WHERE c.search @@ q OR {shown} @@ q)
    LIMIT cap + 1) AS m), '{{}}');
END $$
"""


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_cases_shown_search ON cases USING gin ({SHOWN_WORDS})")
    op.execute(SEARCH_IDS.format(shown=SHOWN, quoted=SHOWN.replace("'", "''")))
    op.execute("ANALYZE cases")  # statistics for the new expression, so plans weigh it


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS ej_search_ids(text, tsquery, integer)")
    op.execute("DROP INDEX IF EXISTS ix_cases_shown_search")
