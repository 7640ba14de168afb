"""A generalized point is its cell's centre, always: it tells nothing finer than the cell.

0021 showed the quarter point instead when a case's true centroid was the centre itself,
so that the shown place never equalled the true one. That exception was itself a leak:
a quarter point could only mean "this case lies exactly on the centre", a place told to the
last decimal (common for coordinates typed on round numbers). Every case of a cell now
shows the same point, which depends on the cell alone.

Revision ID: 0091
Revises: 0090
Create Date: 2026-12-02
"""

from alembic import op

revision = "0091"
down_revision = "0090"
branch_labels = None
depends_on = None

# Rounded to 9 decimals (cell centres are multiples of 0.025 degrees): an origin found by
# stepping back a cell is off by a float ulp, and the centre must not tell which path it took.
CENTRE = """
CREATE OR REPLACE FUNCTION ej_cell_point(point geometry, size double precision)
RETURNS geometry LANGUAGE sql IMMUTABLE AS $$
  SELECT ST_SetSRID(ST_MakePoint(
    round((ej_cell_origin(ST_X(point), size) + size / 2)::numeric, 9)::float8,
    round((ej_cell_origin(ST_Y(point), size) + size / 2)::numeric, 9)::float8), 4326)
$$
"""

CENTRE_OR_QUARTER = """
CREATE OR REPLACE FUNCTION ej_cell_point(point geometry, size double precision)
RETURNS geometry LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN ST_Equals(centre, point) THEN quarter ELSE centre END
  FROM (SELECT ST_SetSRID(ST_MakePoint(x0 + size / 2, y0 + size / 2), 4326) AS centre,
               ST_SetSRID(ST_MakePoint(x0 + size / 4, y0 + size / 4), 4326) AS quarter
        FROM (SELECT ej_cell_origin(ST_X(point), size) AS x0,
                     ej_cell_origin(ST_Y(point), size) AS y0) AS o) AS p
$$
"""


def upgrade() -> None:
    op.execute(CENTRE)


def downgrade() -> None:
    op.execute(CENTRE_OR_QUARTER)
