"""The `corps` Typer application, its error type and the help text every command shares."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

import typer
from typer.core import TyperGroup


class _SortedGroup(TyperGroup):
    """Lists commands in name order, whatever order their modules registered them."""

    def list_commands(self, ctx: object) -> list[str]:
        return sorted(self.commands)


app = typer.Typer(
    cls=_SortedGroup,
    help=(
        "EJ Corps: case management for an Environmental Justice Corps. "
        "Settings come from EJ_* environment variables (and a .env file in this folder)."
    ),
    no_args_is_help=True,
    add_completion=False,
    # click's plain help: no type tags on flags, no boxes that break in narrow terminals
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def tidy_help(command: Any) -> Any:
    """Name every option's value in capitals (FILE, SLUG) instead of a type tag like <str>."""
    for param in getattr(command, "params", []):
        if getattr(param, "param_type_name", "") == "argument":
            param.display_type_rich = lambda ctx: None  # "FILE", not "FILE <path>"
        if param.metavar is not None or getattr(param, "is_flag", False):
            continue
        descriptor = getattr(param, "type_descriptor", None)
        choices = getattr(descriptor, "choices", None) if descriptor is not None else None
        if choices:
            param.metavar = "[" + "|".join(str(getattr(c, "value", c)) for c in choices) + "]"
        else:
            param.metavar = (param.name or "value").upper()
    for sub in getattr(command, "commands", {}).values():
        tidy_help(sub)
    return command


class CliError(Exception):
    """An expected failure: printed as one line on stderr, exit code 2."""


def exit_codes(
    *extra: str, ok: str = "done", error: str = "error (bad input or setting, unreachable service)"
) -> str:
    """An epilog listing a command's exit codes: 0, then `extra` ("1  ..."), then 2."""
    lines = [f"0  {ok}", *extra, f"2  {error}"]
    return "\b\nExit codes:\n" + "\n".join(f"  {line}" for line in lines)


def project_version() -> str:
    """The installed package version."""
    try:
        return version("ejcorps")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"corps {project_version()}")
        raise typer.Exit(0)


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    # the app's own help text is shown; this only adds --version
    return None
