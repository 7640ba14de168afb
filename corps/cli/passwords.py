"""Reading a new password: a hidden prompt twice, a file or stdin, or (warned) the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from corps.cli.base import CliError

MIN_LENGTH = 10
MAX_LENGTH = 256

PasswordFileOption = Annotated[
    str | None,
    typer.Option(
        "--password-file",
        metavar="FILE",
        help="Read the password from the first line of FILE ('-' for standard input).",
    ),
]
PasswordOption = Annotated[
    str | None,
    typer.Option(
        "--password",
        metavar="PASSWORD",
        help="The password itself (discouraged: it stays in shell history and ps).",
    ),
]


def read_new_password(*, password: str | None, password_file: str | None, whose: str) -> str:
    """The new password for `whose`, checked; prompt (hidden, twice) when none is given."""
    if password is not None and password_file is not None:
        raise CliError("give --password or --password-file, not both")
    if password is not None:
        typer.echo(
            "warning: a password given with --password stays in shell history and is "
            "visible in ps; prefer the prompt or --password-file",
            err=True,
        )
        value = password
    elif password_file is not None:
        value = _read_file(password_file)
    elif sys.stdin.isatty():
        value = typer.prompt(
            f"Password for {whose}", hide_input=True, confirmation_prompt=True, err=True
        )
    else:
        raise CliError(
            f"no password for {whose}: run in a terminal to be prompted, "
            "or pass --password-file FILE ('-' reads standard input)"
        )
    return check_password(value)


def check_password(value: str) -> str:
    """Refuse a password the API would refuse, naming the password."""
    if len(value) < MIN_LENGTH:
        raise CliError(f"the password must have at least {MIN_LENGTH} characters")
    if len(value) > MAX_LENGTH:
        raise CliError(f"the password must have at most {MAX_LENGTH} characters")
    return value


def _read_file(name: str) -> str:
    if name == "-":
        line = sys.stdin.readline()
    else:
        try:
            with Path(name).open(encoding="utf-8") as handle:
                line = handle.readline()
        except OSError as exc:
            raise CliError(f"cannot read the password file {name}: {exc.strerror}") from exc
    value = line.rstrip("\r\n")
    if not value:
        raise CliError(f"the password file {name} is empty")
    return value
