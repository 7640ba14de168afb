"""Finding 9: request bodies are capped before they are read (JSON, forms, uploads): 413."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from corps.settings import Settings
from testing.factories import make_case, make_person
from testing.live import live_server

# Committed rows: a live server or worker process reads them.
pytestmark = pytest.mark.committed

MB = 1024 * 1024


async def test_a_150_mb_case_is_answered_413_without_being_read(
    db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    async with live_server(settings) as server:
        host, port = server.url.removeprefix("http://").split(":")
        baseline = server.memory_kb("VmRSS")
        reader, writer = await asyncio.open_connection(host, int(port))
        head = (
            f"POST /api/v1/cases HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: {paralegal.headers['Authorization']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {150 * MB}\r\n\r\n"
        )
        writer.write(head.encode())  # the body is never sent: the answer must not wait for it
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
        answer = await asyncio.wait_for(reader.read(), 10)  # to the end: Connection: close
        writer.close()
        peak = server.memory_kb("VmHWM")
    assert status_line.startswith(b"HTTP/1.1 413"), status_line
    assert b"application/problem+json" in answer and b"JSON bodies are limited to" in answer
    assert peak - baseline < 32 * 1024, f"the server grew {(peak - baseline) // 1024} MB"


async def test_a_streamed_json_body_past_the_limit_is_413(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        yield b'{"title": "'
        for _ in range(settings.max_json_mb + 1):
            yield b"x" * MB

    response = await client.post(
        "/api/v1/cases",
        content=chunks(),
        headers={**paralegal.headers, "content-type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_forms_and_uploads_have_their_own_limits(
    client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    form = await client.post(
        "/api/v1/auth/token",
        content=b"username=a&password=" + b"x" * (settings.max_form_kb * 1024),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 413 and "Form bodies" in form.json()["detail"]
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    too_big = str(settings.max_upload_bytes + 2 * MB)
    upload = await client.post(
        f"/api/v1/cases/{case['id']}/evidence",
        content=b"--b\r\n",
        headers={
            **paralegal.headers,
            "content-type": "multipart/form-data; boundary=b",
            "content-length": too_big,
        },
    )
    assert upload.status_code == 413 and "Uploads" in upload.json()["detail"]
    small = await client.post(
        "/api/v1/cases", json={"title": "x" * 1000}, headers=paralegal.headers
    )
    assert small.status_code == 422  # under the limit, the route validates as before
