"""`corps sweep-storage`: remove leftovers from the store now, as the worker does hourly."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from corps.cli.base import app, exit_codes
from corps.cli.database import load_settings


@app.command("sweep-storage", epilog=exit_codes(ok="swept (the report says what went)"))
def sweep_storage(
    older_than: Annotated[
        int | None,
        typer.Option(
            metavar="SECONDS",
            help="Age past which leftovers go (default EJ_STORAGE_SWEEP_AGE_S, one day).",
        ),
    ] = None,
) -> None:
    """Remove unfinished uploads (.part) and stored files no record names; print what went."""
    settings = load_settings()
    age = settings.storage_sweep_age_s if older_than is None else older_than
    typer.echo(json.dumps(asyncio.run(_sweep(age)), indent=2))


async def _sweep(older_than_s: int) -> dict[str, object]:
    from cases.evidence.sweeps import sweep_storage as sweep
    from corps.db import make_engine, make_sessionmaker
    from corps.storage import storage_from_url

    settings = load_settings()
    engine = make_engine(settings)
    try:
        storage = storage_from_url(settings.storage_url)
        report = await sweep(make_sessionmaker(engine), storage, older_than_s=older_than_s)
        return report.as_dict()
    finally:
        await engine.dispose()
