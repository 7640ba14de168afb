"""Against a real server process: a 300 MB upload in bounded memory, and a real worker's job."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import case_body, make_person, photo_with_gps
from testing.live import live_server, live_worker

# Committed rows: a live server or worker process reads them.
pytestmark = pytest.mark.committed

MB = 1024 * 1024
UPLOAD_MB = 300
RSS_GROWTH_LIMIT_KB = 64 * 1024


def multipart_stream(size: int, boundary: str) -> tuple[AsyncIterator[bytes], int, str]:
    """A multipart body with a `size`-byte PDF-looking file, generated on the fly."""
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\ndocument\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    block = b"%PDF-1.7\n" + b"x" * (MB - 9)
    filler = b"0123456789abcdef" * (MB // 16)

    async def body() -> AsyncIterator[bytes]:
        yield head
        yield block
        for _ in range(size // MB - 1):
            yield filler
        yield tail

    return (
        body(),
        len(head) + size + len(tail),
        hashlib.sha256(block + filler * (size // MB - 1)).hexdigest(),
    )


async def test_a_300_mb_upload_keeps_the_servers_memory_flat(
    db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    async with (
        live_server(settings, EJ_MAX_UPLOAD_MB="400") as server,
        httpx.AsyncClient(base_url=server.url, headers=paralegal.headers, timeout=300) as client,
    ):
        case = (await client.post("/api/v1/cases", json=case_body())).json()
        warm_body, warm_length, _ = multipart_stream(2 * MB, "warmup")
        warm = await client.post(
            f"/api/v1/cases/{case['id']}/evidence",
            content=warm_body,
            headers={
                "content-type": "multipart/form-data; boundary=warmup",
                "content-length": str(warm_length),
            },
        )
        assert warm.status_code == 201, warm.text
        baseline = server.memory_kb("VmRSS")
        body, length, expected = multipart_stream(UPLOAD_MB * MB, "ejcorps-boundary")
        response = await client.post(
            f"/api/v1/cases/{case['id']}/evidence",
            content=body,
            headers={
                "content-type": "multipart/form-data; boundary=ejcorps-boundary",
                "content-length": str(length),
            },
        )
        peak = server.memory_kb("VmHWM")
    assert response.status_code == 201, response.text
    assert response.json()["sha256"] == expected and response.json()["size"] == UPLOAD_MB * MB
    assert peak - baseline < RSS_GROWTH_LIMIT_KB, f"grew {(peak - baseline) // 1024} MB"


async def test_a_real_worker_describes_an_uploaded_photo(
    db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    async with (
        live_server(settings) as server,
        live_worker(settings),
        httpx.AsyncClient(base_url=server.url, headers=paralegal.headers, timeout=60) as client,
    ):
        case = (await client.post("/api/v1/cases", json=case_body())).json()
        uploaded = await client.post(
            f"/api/v1/cases/{case['id']}/evidence",
            data={"kind": "photo"},
            files={
                "file": ("p.jpg", photo_with_gps(36.7855, -1.2855, taken="2026:07:07 07:07:07"))
            },
        )
        assert uploaded.status_code == 201, uploaded.text
        item = uploaded.json()
        for _ in range(200):
            answer = await client.get(f"/api/v1/evidence/{item['id']}")
            # any answer but a record is a failure worth reading: show the body we got
            assert answer.status_code == 200, f"{answer.status_code}: {answer.text}"
            seen = answer.json()
            if seen["processed"]:
                break
            await asyncio.sleep(0.1)
    assert seen["processed"] is True, seen
    assert seen["metadata"]["gps"]["lat"] < 0 and seen["metadata"]["distance_to_case_m"] == 0
