"""Running `corps` as a user would: a child process, its own environment, no .env file."""

from __future__ import annotations

import fcntl
import os
import select
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

from corps.settings import Settings

# Outside the checkout, so a developer's .env never leaks into what a test runs.
NEUTRAL_DIR = Path(tempfile.gettempdir())


def corps_env(settings: Settings, **extra: str) -> dict[str, str]:
    """An environment naming the test database (owner and service), Redis and storage."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EJ_", "CORPS_"))}
    env.update(
        {
            "EJ_ENV": "test",
            "EJ_DATABASE_URL": settings.database_url,
            "EJ_MIGRATION_DATABASE_URL": settings.migration_database_url or "",
            "EJ_REDIS_URL": settings.redis_url,
            "EJ_STORAGE_URL": settings.storage_url,
            "EJ_SECRET_KEY": settings.secret_key,
        }
    )
    env.update(extra)
    return {k: v for k, v in env.items() if v != ""}


def run_corps(
    *args: str, env: dict[str, str], stdin: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run `corps ARGS` to completion and capture what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "corps", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=NEUTRAL_DIR,
    )


def _controlling_terminal() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _echoing(primary: int) -> bool:
    return bool(termios.tcgetattr(primary)[3] & termios.ECHO)


def run_corps_in_terminal(
    *args: str, env: dict[str, str], answers: list[str], timeout: float = 120
) -> tuple[int, str]:
    """Run `corps ARGS` on a pseudo-terminal, typing one answer after each prompt."""
    primary, secondary = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "corps", *args],
        env=env,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        cwd=NEUTRAL_DIR,
        preexec_fn=_controlling_terminal,  # the child needs its own tty
    )
    os.close(secondary)
    seen = b""
    pending = list(answers)
    answered_at = 0  # answer a prompt once: only output after the last answer counts
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(primary, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            elif proc.poll() is not None:
                break
            # getpass flushes typed-ahead input, so answer once it has turned echo off
            if pending and seen[answered_at:].rstrip().endswith(b":") and not _echoing(primary):
                os.write(primary, pending.pop(0).encode() + b"\n")
                answered_at = len(seen)
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(primary)
    return code, seen.decode(errors="replace")
