"""Real server and worker processes for tests that need them (memory, end-to-end jobs)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from corps.settings import Settings


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment that points a child process at the test database, Redis and storage."""
    return {
        **os.environ,
        "EJ_ENV": "test",
        "EJ_DATABASE_URL": settings.database_url,
        "EJ_REDIS_URL": settings.redis_url,
        "EJ_STORAGE_URL": settings.storage_url,
        "EJ_SECRET_KEY": settings.secret_key,
        **extra,
    }


def _log_file(kind: str) -> Path:
    """A file a child process writes its output to, shown when its test fails."""
    handle, name = tempfile.mkstemp(prefix=f"ejcorps-{kind}-", suffix=".log")
    os.close(handle)
    return Path(name)


def _show_log(kind: str, log: Path, lines: int = 60) -> None:
    """Print the tail of a child's output to stderr, where pytest shows it for a failure."""
    try:
        tail = log.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return
    print(f"--- last {len(tail)} lines of the {kind}'s output ---", file=sys.stderr)
    print("\n".join(tail), file=sys.stderr)


@dataclass
class LiveServer:
    """A uvicorn process serving the API."""

    url: str
    pid: int
    log: Path

    def memory_kb(self, field: str) -> int:
        """VmRSS or VmHWM of the server process, in KiB."""
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise LookupError(field)


@asynccontextmanager
async def _corps_process(
    kind: str, settings: Settings, args: list[str], extra: dict[str, str], stop_s: float
) -> AsyncIterator[tuple[asyncio.subprocess.Process, Path]]:
    """Run `corps <args>` until the block ends; its output is shown if the block fails."""
    log = _log_file(kind)
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "corps",
            *args,
            env=process_env(settings, **extra),
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    failed = False
    try:
        yield proc, log
    except BaseException:
        failed = True
        raise
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # a test may have killed it
                proc.terminate()
        await asyncio.wait_for(proc.wait(), stop_s)
        if failed:
            _show_log(kind, log)
        log.unlink(missing_ok=True)


@asynccontextmanager
async def live_server(
    settings: Settings, *, workers: int = 1, **extra: str
) -> AsyncIterator[LiveServer]:
    """Run `corps serve` on a free port until the block ends (one process: its memory is ours)."""
    port = free_port()
    args = ["serve", "--port", str(port), "--workers", str(workers)]
    async with _corps_process("server", settings, args, extra, stop_s=20) as (proc, log):
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient() as client:
            for _ in range(600):  # a loaded machine starts slowly; 60 s at most
                try:
                    if (await client.get(f"{url}/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("the API server did not start")
        yield LiveServer(url=url, pid=proc.pid, log=log)


@dataclass
class LiveWorker:
    """A `corps worker` process and the file its output goes to."""

    proc: asyncio.subprocess.Process
    log: Path


@asynccontextmanager
async def live_worker(settings: Settings, **extra: str) -> AsyncIterator[LiveWorker]:
    """Run `corps worker` until the block ends; its output is shown if the block fails."""
    async with _corps_process("worker", settings, ["worker"], extra, stop_s=30) as (proc, log):
        yield LiveWorker(proc, log)
