"""`corps init`: from an empty PostgreSQL to a schema, the secretariat and the first admin."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer

from corps.cli.base import CliError, app, exit_codes
from corps.cli.commands.schema import migrate_and_report
from corps.cli.database import cli_session, load_settings
from corps.cli.passwords import PasswordFileOption, PasswordOption, read_new_password
from corps.cli.setup import (
    count_people,
    ensure_secretariat,
    existing_admin,
)
from corps.demo_data import SECRETARIAT

INIT_HELP = """Set up an empty database: extensions, schema, the secretariat and the first admin.

\b
Checks the connection (EJ_MIGRATION_DATABASE_URL, else EJ_DATABASE_URL) and creates the
extensions postgis and pg_trgm when the role may; otherwise prints the SQL a superuser
must run. Then migrates, creates the corps secretariat organization (slug 'corps') and,
when there is no admin yet, the first admin, whose password is prompted for twice
(hidden) or read with --password-file ('-' for standard input). Safe to run again: it
changes nothing that is already there, and says so.
"""


@app.command(help=INIT_HELP, epilog=exit_codes(ok="ready: schema, secretariat and an admin"))
def init(
    admin_email: Annotated[
        str | None,
        typer.Option(
            metavar="EMAIL",
            envvar="EJ_ADMIN_EMAIL",
            help="Email of the first admin (asked when missing; or EJ_ADMIN_EMAIL).",
        ),
    ] = None,
    admin_name: Annotated[
        str | None, typer.Option(metavar="NAME", help="Display name of the first admin.")
    ] = None,
    password_file: PasswordFileOption = None,
    password: PasswordOption = None,
    secretariat_name: Annotated[
        str, typer.Option(metavar="NAME", help="Name of the corps secretariat organization.")
    ] = SECRETARIAT["name"],
    country: Annotated[
        str, typer.Option(metavar="CC", help="The secretariat's country (ISO 3166-1 alpha-2).")
    ] = SECRETARIAT["country"],
    url: Annotated[
        str,
        typer.Option(metavar="URL", help="Where users will reach the service (for the message)."),
    ] = "http://localhost:8000",
) -> None:
    settings = load_settings()
    schema = migrate_and_report(settings)

    async def _admin() -> str | None:
        async with cli_session() as session:
            return await existing_admin(session)

    admin = asyncio.run(_admin())
    secret = None
    if admin is None:
        admin_email = admin_email or _ask_admin_email()
        secret = read_new_password(
            password=password, password_file=password_file, whose=admin_email
        )
    elif admin_email and admin_email.lower() != admin.lower():
        typer.echo(f"an admin exists already ({admin}); --admin-email ignored", err=True)

    async def _people() -> tuple[bool, tuple[int, int], tuple[int, int]]:
        from corps.auth.actor import Role
        from corps.members.service import create_from_cli

        async with cli_session() as session:
            before = await count_people(session)
            created_secretariat = await ensure_secretariat(
                session, name=secretariat_name, country=country
            )
            if admin is None and admin_email and secret:
                try:
                    await create_from_cli(
                        session,
                        email=admin_email,
                        password=secret,
                        role=Role.admin,
                        organization_slug="corps",
                        name=admin_name or admin_email,
                    )
                except ValueError as exc:
                    raise CliError(str(exc)) from exc
            return created_secretariat, before, await count_people(session)

    created_secretariat, before, after = asyncio.run(_people())
    if created_secretariat:
        typer.echo(f"created the organization {secretariat_name!r} (slug corps, {country})")
    if admin is None:
        typer.echo(f"created the admin {admin_email}")
    if not schema.changed and before == after:
        typer.echo(f"nothing to change: already initialized (admin: {admin})")
    typer.echo(
        f"Sign in at {url.rstrip('/')}/ as {admin or admin_email} "
        f"(API token: POST {url.rstrip('/')}/api/v1/auth/token; API docs: "
        f"{url.rstrip('/')}/docs). Then check the installation with: corps doctor"
    )


def _ask_admin_email() -> str:
    if not sys.stdin.isatty():
        raise CliError(
            "there is no admin yet: give --admin-email EMAIL "
            "(and the password with --password-file FILE, '-' for standard input)"
        )
    return str(typer.prompt("Email of the first admin", err=True)).strip()
