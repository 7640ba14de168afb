"""Public titles: cases.public_title, case_events.public_note, country names and neutral titles.

Revision ID: 0020
Revises: 0030
Create Date: 2026-12-02 03:50:00
"""

import pycountry
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0030"
branch_labels = None
depends_on = None

# "Mining and water pollution case, Sierra Leone, 2026": the labels of the issue types (the
# first capitalized, the rest in lower case), the country's name and the year the case opened.
NEUTRAL_TITLE = """
CREATE FUNCTION ej_neutral_title(issue_types text[], country text, year integer)
RETURNS text LANGUAGE sql STABLE AS $$
  WITH labels AS (
    SELECT t.n, CASE WHEN t.n = 1 THEN l.label ELSE lower(l.label) END AS label
    FROM unnest(issue_types) WITH ORDINALITY AS t(code, n)
    CROSS JOIN LATERAL (
      SELECT coalesce(
        (SELECT it.label FROM issue_types it WHERE it.code = t.code),
        initcap(replace(t.code, '_', ' '))
      ) AS label
    ) AS l
  ), joined AS (
    SELECT CASE WHEN count(*) <= 1 THEN max(label)
                ELSE string_agg(label, ', ' ORDER BY n) FILTER (WHERE n < (SELECT max(n) FROM labels))
                     || ' and ' || (SELECT label FROM labels ORDER BY n DESC LIMIT 1) END AS what
    FROM labels
  )
  SELECT concat_ws(', ',
    coalesce((SELECT what FROM joined), 'Environmental') || ' case',
    (SELECT cn.name FROM country_names cn WHERE cn.code = upper(country)),
    year::text)
$$
"""


def upgrade() -> None:
    op.add_column("cases", sa.Column("public_title", sa.String(length=300), nullable=True))
    op.add_column("case_events", sa.Column("public_note", sa.Text(), nullable=True))
    countries = op.create_table(
        "country_names",
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_country_names")),
    )
    op.bulk_insert(
        countries,
        [
            {"code": c.alpha_2, "name": getattr(c, "common_name", None) or c.name}
            for c in pycountry.countries
        ],
    )
    op.execute(NEUTRAL_TITLE)


def downgrade() -> None:
    op.execute("DROP FUNCTION ej_neutral_title(text[], text, integer)")
    op.drop_table("country_names")
    op.drop_column("case_events", "public_note")
    op.drop_column("cases", "public_title")
