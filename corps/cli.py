"""The `corps` command: serve, worker, migrate, create-user, seed-demo."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from corps.auth.actor import Role
from corps.keys_cli import register

app = typer.Typer(
    help="EJ Corps: case management for an Environmental Justice Corps.",
    no_args_is_help=True,
    add_completion=False,
)
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Number of API processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
) -> None:
    """Serve the HTTP API with uvicorn."""
    import uvicorn

    uvicorn.run(
        "corps.main:app",
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        proxy_headers=True,
        log_level="info",
    )


@app.command()
def worker() -> None:
    """Run the arq worker that processes background jobs."""
    from arq.worker import Worker

    from corps.jobs import worker_settings

    Worker(**worker_settings()).run()


def run_migrations(database_url: str | None = None) -> None:
    """Upgrade the database schema to the newest revision."""
    from alembic import command
    from alembic.config import Config

    from corps.settings import get_settings

    settings = get_settings()
    database_url = database_url or settings.migration_database_url or settings.database_url
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic, to head)."""
    run_migrations()
    typer.echo("database schema is up to date")


@app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(help="Sign-in email.")],
    password: Annotated[str, typer.Option(help="Password, at least 10 characters.")],
    role: Annotated[Role, typer.Option(help="Role of the user.")],
    organization: Annotated[str, typer.Option(help="Organization slug.")] = "corps",
    name: Annotated[str | None, typer.Option(help="Display name (defaults to the email).")] = None,
) -> None:
    """Create a user who can sign in."""
    from corps.db import standalone_session
    from corps.members.service import create_from_cli

    async def _create() -> object:
        async with standalone_session() as session:
            return await create_from_cli(
                session,
                email=email,
                password=password,
                role=role,
                organization_slug=organization,
                name=name or email,
            )

    try:
        user_id = asyncio.run(_create())
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"created {role.value} {email} ({user_id})")


@app.command("seed-demo")
def seed_demo(
    cases: Annotated[int, typer.Option(help="Number of demo cases to have in all.")] = 500,
) -> None:
    """Load demo organizations, users and cases (idempotent; refused when EJ_ENV=prod)."""
    from corps.demo_data import DEMO_PASSWORD
    from corps.seed import run_seed
    from corps.settings import get_settings

    if get_settings().env == "prod":
        typer.echo(
            "error: seed-demo makes accounts with known passwords; refused in prod", err=True
        )
        raise typer.Exit(2)
    summary = asyncio.run(run_seed(cases=cases))
    typer.echo(f"{summary['organizations']} organizations, {summary['cases']} cases")
    typer.echo(f"demo logins (password: {DEMO_PASSWORD}):")
    for role, email in summary["users"]:
        typer.echo(f"  {role:<12} {email}")


register(app)  # keys init, verify-dossier, verify-audit (corps/keys_cli.py)
