"""Dossier build time and the worker's peak memory, and its ZIP step against `zip -0`.

The API runs in this process (so the bench works before the dossier router is in
corps/app.py) and the worker is a real process: cases and evidence go in through the API, the
dossier is asked for and polled like a client would, and the worker's VmHWM is read from
/proc before it stops (the PDF renderer is a child process and is not counted). The baseline,
`zip -0` over the very files in the evidence store, runs in the same run on the same disk;
the ZIP step it is compared with is the build's own timing of copying and re-hashing the
evidence into the bundle (the job returns its timings, read back from arq's result).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from arq.jobs import Job
from asgi_lifespan import LifespanManager

from bench.common import Table
from bench.upload import multipart
from corps.jobs import HEARTBEAT_KEY, create_job_pool
from corps.settings import Settings
from testing.factories import case_body
from testing.live import process_env

MB = 1 << 20


@asynccontextmanager
async def api_client(settings: Settings, token: str) -> AsyncIterator[httpx.AsyncClient]:
    """The API in this process, with the dossier routes, and a client signed in with token."""
    from cases.dossiers.api import router
    from corps.app import create_app

    app = create_app(settings)
    if not any(getattr(r, "path", "") == "/api/v1/dossiers" for r in app.routes):
        app.include_router(router)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://bench",
            headers={"Authorization": f"Bearer {token}"},
            timeout=600,
        ) as client,
    ):
        yield client


def make_evidence(path: Path, size: int) -> None:
    """A PDF-looking file of incompressible bytes (as photos and videos are)."""
    block = os.urandom(MB)
    with path.open("wb") as out:
        out.write(b"%PDF-1.7\n% " + uuid.uuid4().hex.encode() + b"\n")
        written = 0
        while written < size:
            out.write(block[: min(MB, size - written)])
            written += MB


def memory_kb(pid: int, field: str) -> int:
    """VmRSS or VmHWM of a process, in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


async def _seed(
    client: httpx.AsyncClient, workdir: Path, cases: int, total_mb: int
) -> tuple[list[str], list[str]]:
    """Create the cases, one evidence file each; return case ids and evidence SHA-256s."""
    case_ids, hashes = [], []
    per_case = max(1, total_mb * MB // cases)
    for number in range(cases):
        body = case_body(title=f"Bench dossier case {number}")
        case_ids.append((await client.post("/api/v1/cases", json=body)).json()["id"])
        path = workdir / f"evidence-{number}.pdf"
        await asyncio.to_thread(make_evidence, path, per_case)
        stream, length = multipart(path, "dossierbench")
        response = await client.post(
            f"/api/v1/cases/{case_ids[-1]}/evidence",
            content=stream,
            headers={
                "content-type": "multipart/form-data; boundary=dossierbench",
                "content-length": str(length),
            },
        )
        assert response.status_code == 201, response.text
        hashes.append(response.json()["sha256"])
        await asyncio.to_thread(path.unlink)
    return case_ids, hashes


async def _zip0_seconds(storage_root: Path, hashes: list[str], out: Path) -> float:
    files = [str(storage_root / "sha256" / h[:2] / h[2:4] / h) for h in hashes]
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        "zip", "-0", "-q", "-j", str(out), *files, stdout=asyncio.subprocess.DEVNULL
    )
    await proc.wait()
    seconds = time.perf_counter() - start
    await asyncio.to_thread(out.unlink, True)
    return seconds


async def _worker(settings: Settings) -> asyncio.subprocess.Process:
    pool = await create_job_pool(settings.redis_url)
    await pool.delete(HEARTBEAT_KEY)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "corps",
        "worker",
        env=process_env(settings),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    for _ in range(300):
        if await pool.get(HEARTBEAT_KEY):
            break
        await asyncio.sleep(0.1)
    await pool.aclose()
    return proc


async def run(
    settings: Settings,
    token: str,
    table: Table,
    cases: int = 100,
    total_mb: int = 1024,
    workdir: Path | None = None,
) -> dict[str, Any]:
    """Build one internal dossier of `cases` cases holding `total_mb` MB of evidence."""
    workdir = workdir or Path(settings.storage_url.removeprefix("file://")).parent
    storage_root = Path(settings.storage_url.removeprefix("file://"))
    async with api_client(settings, token) as client:
        case_ids, hashes = await _seed(client, workdir, cases, total_mb)
        worker = await _worker(settings)
        try:
            await asyncio.sleep(1)
            at_rest = memory_kb(worker.pid, "VmRSS")
            start = time.perf_counter()
            asked = await client.post(
                "/api/v1/dossiers", json={"case_ids": case_ids, "level": "internal"}
            )
            assert asked.status_code == 202, asked.text
            dossier_id = asked.json()["id"]
            while True:
                status = (await client.get(f"/api/v1/dossiers/{dossier_id}")).json()
                if status["status"] in ("done", "failed"):
                    break
                await asyncio.sleep(0.2)
            wall = time.perf_counter() - start
            assert status["status"] == "done", status
            # The job returns its timings a moment after the row says done: wait for them.
            pool = await create_job_pool(settings.redis_url)
            result = await Job(f"dossier:{dossier_id}", pool).result(timeout=60)
            await pool.aclose()
            peak = memory_kb(worker.pid, "VmHWM")
        finally:
            worker.terminate()
            await worker.wait()
    timings = result["timings"]
    zip0 = await _zip0_seconds(storage_root, hashes, workdir / "zip0.zip")
    size_mb = status["size"] / MB
    table.add(
        f"dossier, {cases} cases, {total_mb} MB of evidence, all formats",
        f"{wall:.1f} s",
        "",
        "",
        "",
        f"request to done; bundle {size_mb:.0f} MB; "
        f"pdf {timings.get('pdf_s', 0):.1f} s, seal {timings.get('seal_s', 0):.1f} s",
    )
    table.add(
        "worker peak memory during the dossier",
        f"{peak / 1024:.0f} MB",
        f"{at_rest / 1024:.0f} MB resident at rest",
        f"+{(peak - at_rest) / 1024:.0f} MB",
        "flat in evidence size",
        "VmHWM of the worker; the PDF renders in a child process",
    )
    table.add(
        "dossier ZIP step (copy + SHA-256 re-verify)",
        f"{timings['evidence_s']:.1f} s",
        f"zip -0 {zip0:.1f} s",
        f"{timings['evidence_s'] / zip0:.1f}x zip -0 time",
        "<= 3x",
        "same evidence files, same disk, same run",
    )
    return {
        "wall_s": wall,
        "peak_kb": peak,
        "rest_kb": at_rest,
        "timings": timings,
        "zip0_s": zip0,
        "size": status["size"],
    }
