"""`corps keys init|list`, `corps verify-dossier FILE [--key FILE|URL]`, `corps verify-audit`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer

from corps.cli.base import CliError, app, exit_codes

keys_app = typer.Typer(
    help="The corps' Ed25519 keys that sign every dossier.", no_args_is_help=True
)


@keys_app.command("init")
def keys_init(
    rotate: Annotated[
        bool, typer.Option(help="Make a new key and end the current key's validity now.")
    ] = False,
    signer: Annotated[
        str | None, typer.Option(help="Who signs, as verifiers will read it (EJ_SIGNER_NAME).")
    ] = None,
) -> None:
    """Make the signing key in EJ_SIGNING_KEY_DIR (outside the database); --rotate replaces it."""
    from cases.dossiers.settings import dossier_settings
    from cases.dossiers.signing import SigningKeyError, init_key

    settings = dossier_settings()
    try:
        key = init_key(settings.signing_key_dir, signer or settings.signer_name, rotate=rotate)
    except (SigningKeyError, OSError) as exc:
        raise CliError(str(exc)) from exc
    typer.echo(f"signing key {key.key_id} ({key.signer}) in {settings.signing_key_dir}")
    typer.echo("public keys: GET /api/v1/dossiers/signing-keys, or keys.json in that directory")


@keys_app.command("list")
def keys_list() -> None:
    """The published keys with their validity."""
    from cases.dossiers.settings import dossier_settings
    from cases.dossiers.signing import SigningKeyError, published_keys

    try:
        keys = published_keys(dossier_settings().signing_key_dir)
    except SigningKeyError as exc:
        raise CliError(str(exc)) from exc
    for key in keys:
        shown = key.as_json()
        typer.echo(
            f"{shown['key_id']}  {shown['signer']}  from {shown['valid_from']}  "
            f"until {shown['valid_until'] or 'now (in use)'}"
        )


def verify_dossier(
    file: Annotated[Path, typer.Argument(help="The dossier ZIP to check.")],
    key: Annotated[
        str | None,
        typer.Option(
            help="The corps' public keys: a file (keys.json, the signing-keys answer, a PEM key) "
            "or the URL of GET /api/v1/dossiers/signing-keys, fetched once."
        ),
    ] = None,
    expect_sha256: Annotated[
        str | None,
        typer.Option(help="The bundle's SHA-256 as the server reported it (X-Dossier-SHA256)."),
    ] = None,
) -> None:
    """Check a dossier ZIP offline: its signature, every file's hash, each chain of custody."""
    from cases.dossiers.signing import SigningKeyError, load_keys
    from cases.dossiers.verify import check_dossier, format_report

    if not file.is_file():
        raise CliError(f"no such file: {file}")
    try:
        keys = load_keys(key) if key else None
    except SigningKeyError as exc:
        raise CliError(str(exc)) from exc
    report = check_dossier(file, expect_sha256=expect_sha256, keys=keys)
    typer.echo(format_report(report))
    raise typer.Exit(0 if report.ok else 1)


def verify_audit(
    seal: Annotated[
        bool, typer.Option("--seal", help="chain the pending entries first (writes the chain)")
    ] = False,
) -> None:
    """Check the audit log's sealed chain, its pending entries and every anchored head."""
    from cases.dossiers.anchors import audit_check, read_anchors
    from corps.audit_seal import seal_pending
    from corps.audit_verify import AuditReport
    from corps.db import make_engine, make_sessionmaker, standalone_session
    from corps.settings import get_settings
    from corps.storage import storage_from_url

    async def _check() -> tuple[AuditReport, list[dict[str, Any]]]:
        if seal:
            engine = make_engine(get_settings())
            try:
                await seal_pending(make_sessionmaker(engine))
            finally:
                await engine.dispose()
        anchors = await read_anchors(storage_from_url(get_settings().storage_url))
        async with standalone_session() as session:
            return await audit_check(session, anchors), anchors

    report, anchors = asyncio.run(_check())
    typer.echo(f"checked the audit log against {len(anchors)} anchored heads")
    head = report.head or {}
    typer.echo(
        f"sealed: {report.sealed} entries, head entry {head.get('id', '-')} "
        f"(position {head.get('seq', '-')}); pending (not yet chained): {report.pending}"
    )
    if report.problems:
        typer.echo(f"NOT INTACT: {len(report.problems)} problem(s):")
        for problem in report.problems:
            typer.echo(f"  - {problem}")
        raise typer.Exit(1)
    typer.echo(
        "INTACT: every link, every pending entry's own hash and every anchored head checks out."
    )


app.add_typer(keys_app, name="keys")
app.command(
    "verify-dossier",
    epilog=exit_codes("1  the dossier is not intact (the report says what)", ok="intact"),
)(verify_dossier)
app.command(
    "verify-audit",
    epilog=exit_codes("1  the audit log is not intact (the report says what)", ok="intact"),
)(verify_audit)
