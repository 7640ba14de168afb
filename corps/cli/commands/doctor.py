"""`corps doctor`: check an installation part by part, each finding with its fix."""

from __future__ import annotations

import asyncio

import typer

from corps.cli.base import app, exit_codes
from corps.cli.database import load_settings
from corps.cli.doctor import Status, exit_code, run_all

DOCTOR_HELP = """Check the installation part by part, each finding with a one-line fix.

\b
Checks PostgreSQL and PostGIS (versions, extensions, schema revision), that the service
role differs from the schema owner and may not alter the append-only tables, that Redis
answers and keeps its queue on disk, that a worker wrote its heartbeat lately, that the
storage backend takes a write, that WeasyPrint finds its fonts and renders a page, that
GDAL has its drivers, and that the secret key is strong in prod. Every finding that is
not ok comes with a one-line fix. Reads the same EJ_* settings as the service.
"""


@app.command(
    help=DOCTOR_HELP,
    epilog=exit_codes("1  warnings only", ok="all ok", error="a failure, or a refused setting"),
)
def doctor() -> None:
    settings = load_settings()
    checks = asyncio.run(run_all(settings))
    width = max(len(check.name) for check in checks)
    for check in checks:
        typer.echo(f"{check.status.value:<4}  {check.name:<{width}}  {check.detail}")
        if check.status is not Status.ok and check.fix:
            typer.echo(f"{'':<4}  {'':<{width}}  fix: {check.fix}")
    counts = {status: sum(c.status is status for c in checks) for status in Status}
    typer.echo(
        f"{counts[Status.ok]} ok, {counts[Status.warn]} warning(s), "
        f"{counts[Status.fail]} failure(s)"
    )
    raise typer.Exit(exit_code(checks))
