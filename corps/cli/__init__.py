"""The `corps` command line.

Each command group is one module in `corps/cli/commands/`; it imports `app` from
`corps.cli.base` and registers its commands with `@app.command(...)` (or a sub-group with
`app.add_typer(...)`). Every module there is imported in name order, so adding a command is
adding a module: nothing else to edit. Expected failures raise `CliError`, which `main`
prints as one line on stderr with exit code 2.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import sys

import typer
from pydantic import ValidationError

from corps.cli import commands
from corps.cli.base import CliError, app, tidy_help
from corps.cli.database import first_line, run_migrations, settings_error

__all__ = ["CliError", "app", "main", "run_migrations"]


def _register_commands() -> None:
    for module in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not module.name.startswith("_"):
            importlib.import_module(f"{commands.__name__}.{module.name}")


def one_line(exc: BaseException) -> str:
    """An unexpected exception as one readable line."""
    if isinstance(exc, CliError):
        return str(exc)
    if isinstance(exc, ValidationError) and exc.title == "Settings":
        return settings_error(exc)
    return f"{type(exc).__name__}: {first_line(exc)}"


def main() -> None:
    """Run the command line: errors are one line on stderr and exit code 2."""
    try:
        command = tidy_help(typer.main.get_command(app))
        code = command.main(prog_name="corps", standalone_mode=False)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        sys.exit(2)
    except typer.TyperException as exc:  # bad usage: the parser's message, on one line
        ctx = getattr(exc, "ctx", None)
        usage = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
        message = re.sub(r"\s+", " ", exc.format_message()).strip()
        typer.echo(f"error: {message}{usage}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("CORPS_TRACEBACK") == "1":
            raise
        message = re.sub(r"\s+", " ", one_line(exc)).strip()
        hint = "" if isinstance(exc, CliError) else " (CORPS_TRACEBACK=1 shows the traceback)"
        typer.echo(f"error: {message}{hint}", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


_register_commands()
