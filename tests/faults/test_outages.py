"""Finding 12: a database or Redis outage answers 503 problem+json with Retry-After.

Sign-in and suggestions without Redis keep working or say 503, never 500; and a live server
keeps the client's keep-alive connection open across such answers.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncSession

from corps.app import create_app
from corps.auth.tokens import issue_token
from corps.settings import Settings
from testing.factories import PASSWORD, make_person
from testing.live import free_port, process_env

# Committed rows: faults hit real processes, connections and concurrent writers.
pytestmark = pytest.mark.committed


def dead_database(settings: Settings) -> str:
    return settings.database_url.replace("127.0.0.1:5432", f"127.0.0.1:{free_port()}")


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings)
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def assert_outage(response: httpx.Response) -> None:
    assert response.status_code == 503, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["status"] == 503


async def test_without_the_database_requests_are_503_with_retry_after(settings: Settings) -> None:
    down = settings.model_copy(update={"database_url": dead_database(settings)})
    token, _ = issue_token(settings, uuid.uuid4())
    async with app_client(down) as client:
        me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        sign_in = await client.post(
            "/api/v1/auth/token", data={"username": "a@example.org", "password": "x"}
        )
        health = await client.get("/health")
    assert_outage(me)
    assert_outage(sign_in)
    assert health.status_code == 503 and health.json()["database"].startswith("down")
    assert int(health.headers["retry-after"]) > 0


async def test_without_redis_sign_in_and_suggestions_never_answer_500(
    db: AsyncSession, settings: Settings
) -> None:
    person = await make_person(db, settings, "coordinator")
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    async with app_client(down) as client:
        right = await client.post(
            "/api/v1/auth/token", data={"username": person.email, "password": PASSWORD}
        )
        wrong = await client.post(
            "/api/v1/auth/token", data={"username": person.email, "password": "wrong"}
        )
        suggestions = await client.get("/api/v1/advocacy/suggestions", headers=person.headers)
    for answer, works in ((right, 200), (wrong, 401)):
        if answer.status_code != works:
            assert_outage(answer)
    assert suggestions.status_code == 200, suggestions.text
    assert suggestions.headers["x-suggestions-state"] == "stale"


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def test_a_live_server_keeps_the_connection_open_through_503s(settings: Settings) -> None:
    port = free_port()
    env = process_env(settings, EJ_DATABASE_URL=dead_database(settings))
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "corps",
        "serve",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    token, _ = issue_token(settings, uuid.uuid4())
    try:
        for _ in range(150):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        else:
            raise RuntimeError("the API server did not start")
        request = (
            f"GET /api/v1/me HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode()
        answers = []
        for _ in range(3):  # three requests, one connection
            writer.write(request)
            await writer.drain()
            answers.append(await asyncio.wait_for(read_answer(reader), 30))
        writer.close()
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 20)
    for status, headers, body in answers:
        assert status == 503, body
        assert headers.get("connection", "").lower() != "close" and int(headers["retry-after"]) > 0
