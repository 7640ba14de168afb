"""`corps verify-dossier`: check a dossier bundle offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corps.cli.base import CliError, app, exit_codes


@app.command(
    "verify-dossier",
    epilog=exit_codes("1  the dossier is not intact (the report says what)", ok="intact"),
)
def verify_dossier(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The dossier ZIP to check.")],
    expect_sha256: Annotated[
        str | None,
        typer.Option(
            metavar="SHA256",
            help="The bundle's SHA-256 as the server reported it (X-Dossier-SHA256).",
        ),
    ] = None,
) -> None:
    """Check a dossier ZIP offline: every file's hash, the manifest, each chain of custody."""
    from cases.dossiers.verify import check_dossier, format_report

    if not file.is_file():
        raise CliError(f"no such file: {file}")
    report = check_dossier(file, expect_sha256=expect_sha256)
    typer.echo(format_report(report))
    raise typer.Exit(0 if report.ok else 1)
