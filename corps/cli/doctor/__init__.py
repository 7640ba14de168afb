"""`corps doctor`'s checks: each says what it found and, when not ok, the fix in one line.

A check is an async function taking the settings and returning one or more `Check`s;
`ALL_CHECKS` lists them in the order they are printed. A check that raises is reported
as a failure with the exception's first line, so one broken part never hides the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from corps.cli.database import first_line
from corps.settings import Settings

CHECK_TIMEOUT_S = 20.0


class Status(StrEnum):
    """How a check came out; the worst one decides the exit code."""

    ok = "ok"
    warn = "warn"
    fail = "FAIL"


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, what was found, and the fix when it is not ok."""

    name: str
    status: Status
    detail: str
    fix: str = ""


CheckFunc = Callable[[Settings], Awaitable[Sequence[Check]]]


def ok(name: str, detail: str) -> Check:
    """A passed check."""
    return Check(name, Status.ok, detail)


def warn(name: str, detail: str, fix: str) -> Check:
    """A check that passed with a caveat the operator should act on."""
    return Check(name, Status.warn, detail, fix)


def fail(name: str, detail: str, fix: str) -> Check:
    """A failed check."""
    return Check(name, Status.fail, detail, fix)


async def run_check(name: str, func: CheckFunc, settings: Settings) -> list[Check]:
    """Run one check with a timeout; an exception becomes a failure naming it."""
    try:
        return list(await asyncio.wait_for(func(settings), CHECK_TIMEOUT_S))
    except TimeoutError:
        return [fail(name, f"no answer within {CHECK_TIMEOUT_S:.0f} s", "see the lines above")]
    except Exception as exc:
        return [fail(name, f"{type(exc).__name__}: {first_line(exc)}", "see the message")]


async def run_all(settings: Settings) -> list[Check]:
    """Every check, in order."""
    from corps.cli.doctor.database import check_database, check_roles
    from corps.cli.doctor.platform import check_gdal, check_pdf, check_secrets
    from corps.cli.doctor.services import check_redis, check_storage

    checks: list[tuple[str, CheckFunc]] = [
        ("database", check_database),
        ("roles", check_roles),
        ("redis", check_redis),
        ("storage", check_storage),
        ("pdf", check_pdf),
        ("gdal", check_gdal),
        ("secrets", check_secrets),
    ]
    found: list[Check] = []
    for name, func in checks:
        found += await run_check(name, func, settings)
    return found


def exit_code(checks: Sequence[Check]) -> int:
    """0 when all is ok, 1 with warnings only, 2 with any failure."""
    statuses = {check.status for check in checks}
    if Status.fail in statuses:
        return 2
    return 1 if Status.warn in statuses else 0
