"""Evidence upload throughput against sha256sum on the same file, and the server's peak memory."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from bench.common import Table
from corps.settings import Settings
from testing.live import live_server

CHUNK = 1 << 20


def make_file(path: Path, megabytes: int) -> str:
    """A PDF-looking file of the given size; returns its SHA-256."""
    digest = hashlib.sha256()
    block = bytes(range(256)) * (CHUNK // 256)
    with path.open("wb") as out:
        head = b"%PDF-1.7\n" + block[9:]
        out.write(head)
        digest.update(head)
        for _ in range(megabytes - 1):
            out.write(block)
            digest.update(block)
    return digest.hexdigest()


async def sha256sum_seconds(path: Path) -> float:
    """How long coreutils' sha256sum takes on the file."""
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        "sha256sum", str(path), stdout=asyncio.subprocess.DEVNULL
    )
    await proc.wait()
    return time.perf_counter() - start


def multipart(path: Path, boundary: str) -> tuple[AsyncIterator[bytes], int]:
    """A streamed multipart body carrying the file, and its length."""
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\ndocument\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="b.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    async def body() -> AsyncIterator[bytes]:
        yield head
        with path.open("rb") as source:
            while chunk := source.read(CHUNK):
                yield chunk
        yield tail

    return body(), len(head) + path.stat().st_size + len(tail)


async def run(
    settings: Settings,
    token: str,
    case_id: str,
    workdir: Path,
    table: Table,
    megabytes: int = 200,
    repeat: int = 3,
) -> None:
    """Upload the same-sized files `repeat` times and compare with sha256sum."""
    async with (
        live_server(settings) as server,
        httpx.AsyncClient(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=600
        ) as client,
    ):
        baseline_rss = server.memory_kb("VmRSS")
        upload_s, hash_s = [], []
        for n in range(repeat):
            path = workdir / f"upload-{n}.pdf"
            expected = make_file(path, megabytes)  # a new file each time: no dedupe shortcut
            hash_s.append(await sha256sum_seconds(path))
            body, length = multipart(path, "benchboundary")
            start = time.perf_counter()
            response = await client.post(
                f"/api/v1/cases/{case_id}/evidence",
                content=body,
                headers={
                    "content-type": "multipart/form-data; boundary=benchboundary",
                    "content-length": str(length),
                },
            )
            upload_s.append(time.perf_counter() - start)
            assert response.status_code == 201 and response.json()["sha256"] == expected
            path.unlink()
        peak = server.memory_kb("VmHWM")
    best_upload, best_hash = min(upload_s), min(hash_s)
    table.add(
        f"evidence upload, {megabytes} MB (best of {repeat})",
        f"{megabytes / best_upload:.0f} MB/s",
        f"sha256sum {megabytes / best_hash:.0f} MB/s",
        f"{best_upload / best_hash:.1f}x sha256sum time",
        "<= 5x",
        "streamed, hashed, sniffed, fsynced, committed",
    )
    table.add(
        "API server peak memory during uploads",
        f"+{(peak - baseline_rss) / 1024:.0f} MB",
        f"{baseline_rss / 1024:.0f} MB resident at rest",
        "",
        "< +64 MB",
        "VmHWM minus VmRSS before the first upload",
    )
