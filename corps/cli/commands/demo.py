"""`corps seed-demo`: demo organizations, users and cases (never in prod)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from corps.cli.base import CliError, app, exit_codes
from corps.cli.database import load_settings


@app.command("seed-demo", epilog=exit_codes(ok="the demo data is there"))
def seed_demo(
    cases: Annotated[
        int, typer.Option(metavar="N", help="Number of demo cases to have in all.")
    ] = 500,
) -> None:
    """Load demo organizations, users and cases (idempotent; refused when EJ_ENV=prod)."""
    from corps.demo_data import DEMO_PASSWORD
    from corps.seed import run_seed

    if load_settings().env == "prod":
        raise CliError("seed-demo makes accounts with known passwords; refused in prod")
    summary = asyncio.run(run_seed(cases=cases))
    typer.echo(f"{summary['organizations']} organizations, {summary['cases']} cases")
    typer.echo(f"demo logins (password: {DEMO_PASSWORD}):")
    for role, email in summary["users"]:
        typer.echo(f"  {role:<12} {email}")
