"""`corps migrate`: upgrade the schema of the configured database."""

from __future__ import annotations

import typer

from corps.cli.base import app, exit_codes
from corps.cli.database import describe, load_settings
from corps.cli.setup import SchemaReport, prepare_schema
from corps.settings import Settings

MIGRATE_HELP = """Create or upgrade the database schema (Alembic, to the newest revision).

\b
Reads EJ_MIGRATION_DATABASE_URL (the schema owner; EJ_DATABASE_URL when unset) and
EJ_DATABASE_URL (the service), from the environment or a .env file in the current
folder; both must name one database. Grants the service role (EJ_DB_APP_ROLE, default
ejcorps_app) rows only. On an empty database prefer `corps init`, which also creates
the secretariat and the first admin.
"""


@app.command(help=MIGRATE_HELP, epilog=exit_codes(ok="the schema is at the newest revision"))
def migrate() -> None:
    migrate_and_report(load_settings())


def migrate_and_report(settings: Settings) -> SchemaReport:
    """Name the database, create what extensions we can, migrate, and say what changed."""
    typer.echo(describe(settings))
    schema = prepare_schema(settings)
    if schema.extensions_created:
        typer.echo(f"created the extensions {', '.join(schema.extensions_created)}")
    if schema.revision_before == schema.revision_after:
        typer.echo(f"database schema is up to date (revision {schema.revision_after})")
    else:
        typer.echo(
            f"database schema migrated from {schema.revision_before or 'empty'} "
            f"to revision {schema.revision_after}"
        )
    return schema
