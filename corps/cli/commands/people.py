"""`corps create-organization` and `corps create-user`."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

import typer

from corps.auth.actor import Role
from corps.cli.base import CliError, app, exit_codes
from corps.cli.database import cli_session, load_settings
from corps.cli.passwords import PasswordFileOption, PasswordOption, read_new_password
from corps.cli.setup import create_organization as create_organization_row


@app.command("create-organization", epilog=exit_codes(ok="created"))
def create_organization(
    name: Annotated[str, typer.Option(metavar="NAME", help="The organization's full name.")],
    slug: Annotated[
        str,
        typer.Option(
            metavar="SLUG",
            help="Short lowercase id, 3-40 of a-z 0-9 '-'; starts case references (fixed).",
        ),
    ],
    country: Annotated[
        str, typer.Option(metavar="CC", help="ISO 3166-1 alpha-2 country code, e.g. KE.")
    ],
    region: Annotated[
        str | None, typer.Option(metavar="REGION", help="Region or district.")
    ] = None,
) -> None:
    """Create an organization of the corps."""
    load_settings()

    async def _create() -> uuid.UUID:
        async with cli_session() as session:
            return await create_organization_row(
                session, name=name, slug=slug, country=country, region=region
            )

    organization_id = asyncio.run(_create())
    typer.echo(f"created organization {slug.lower()} ({organization_id})")


@app.command("create-user", epilog=exit_codes(ok="created"))
def create_user(
    email: Annotated[str, typer.Option(metavar="EMAIL", help="Sign-in email.")],
    role: Annotated[Role, typer.Option(help="Role of the user.")],
    organization: Annotated[str, typer.Option(metavar="SLUG", help="Organization slug.")] = "corps",
    name: Annotated[
        str | None, typer.Option(metavar="NAME", help="Display name (defaults to the email).")
    ] = None,
    password_file: PasswordFileOption = None,
    password: PasswordOption = None,
) -> None:
    """Create a user who can sign in; the password is prompted for twice, hidden."""
    from corps.members.service import create_from_cli

    load_settings()
    secret = read_new_password(password=password, password_file=password_file, whose=email)

    async def _create() -> uuid.UUID:
        async with cli_session() as session:
            return await create_from_cli(
                session,
                email=email,
                password=secret,
                role=role,
                organization_slug=organization,
                name=name or email,
            )

    try:
        user_id = asyncio.run(_create())
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    typer.echo(f"created {role.value} {email} ({user_id})")
