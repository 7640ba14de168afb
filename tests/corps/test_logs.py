"""Logs of a running server and worker: JSON lines per request and job, no secrets in them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from corps.jobs import QUEUE_NAME, create_job_pool
from corps.settings import Settings
from testing.factories import PASSWORD, case_body, make_person
from testing.live import live_server, live_worker

# Committed rows: a live server or worker process reads them.
pytestmark = pytest.mark.committed

WRONG_PASSWORD = "not-the-password-9x7"
SECRET_LON, SECRET_LAT = 36.913579, -1.246813  # a high-risk case's place


async def _wait_for(log: Path, needle: str, seconds: float = 30) -> str:
    for _ in range(int(seconds * 10)):
        text = log.read_text(errors="replace")
        if needle in text:
            return text
        await asyncio.sleep(0.1)
    raise AssertionError(f"{needle!r} never logged:\n{log.read_text(errors='replace')}")


def _json_lines(text: str) -> list[dict[str, object]]:
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines
    return [json.loads(line) for line in lines]  # every line is one JSON object


async def test_a_login_is_logged_as_json_without_the_password(
    db: AsyncSession, settings: Settings
) -> None:
    person = await make_person(db, settings, "paralegal")
    async with live_server(settings) as server, httpx.AsyncClient(base_url=server.url) as client:
        denied = await client.post(
            "/api/v1/auth/token", data={"username": person.email, "password": WRONG_PASSWORD}
        )
        assert denied.status_code == 401
        login = await client.post(
            "/api/v1/auth/token", data={"username": person.email, "password": PASSWORD}
        )
        assert login.status_code == 200
        token = login.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "X-Request-ID": "trace-me-42"}
        point = {"type": "Point", "coordinates": [SECRET_LON, SECRET_LAT]}
        made = await client.post(
            "/api/v1/cases",
            headers=headers,
            json=case_body(geometry=point, sensitivity="high_risk"),
        )
        assert made.status_code == 201, made.text
        assert made.headers["x-request-id"] == "trace-me-42"
        bbox = (
            f"{SECRET_LON - 0.001},{SECRET_LAT - 0.001},{SECRET_LON + 0.001},{SECRET_LAT + 0.001}"
        )
        assert (await client.get(f"/api/v1/cases?bbox={bbox}", headers=headers)).status_code == 200
        text = await _wait_for(server.log, '"status": 200, "duration_ms"')
        await _wait_for(server.log, '"method": "GET", "route": "/api/v1/cases"')
        text = server.log.read_text()

    lines = _json_lines(text)
    requests = [line for line in lines if line["logger"] == "corps.request"]
    logins = [line for line in requests if line["route"] == "/api/v1/auth/token"]
    assert [line["status"] for line in logins] == [401, 200]
    for line in requests:
        assert {"request_id", "user_id", "method", "route", "status", "duration_ms"} <= set(line)
    created = next(
        line for line in requests if line["method"] == "POST" and line["route"] == "/api/v1/cases"
    )
    assert created["request_id"] == "trace-me-42" and created["status"] == 201
    assert created["user_id"] == str(person.id)
    for secret in (PASSWORD, WRONG_PASSWORD, token, token.split(".")[2], str(SECRET_LON)[:7]):
        assert secret not in text
    assert str(SECRET_LAT)[:7] not in text


async def test_text_format_is_readable_lines(settings: Settings) -> None:
    async with (
        live_server(settings, EJ_LOG_FORMAT="text") as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        await client.get("/api/v1/me")
        text = await _wait_for(server.log, "route=/api/v1/me")
    line = next(line for line in text.splitlines() if "route=/api/v1/me" in line)
    assert "corps.request: request" in line and "status=401" in line
    assert not line.startswith("{")


async def test_the_worker_says_it_started_took_and_finished_a_job(settings: Settings) -> None:
    async with live_worker(settings) as worker:
        log = worker.log
        await _wait_for(log, '"msg": "worker started"')
        pool = await create_job_pool(settings.redis_url)
        try:
            job = await pool.enqueue_job("corps.heartbeat", _queue_name=QUEUE_NAME)
            assert job is not None
        finally:
            await pool.aclose()
        text = await _wait_for(log, f'"job_id": "{job.job_id}", "attempt": 1, "outcome"')
    lines = [line for line in _json_lines(text) if line.get("job_id") == job.job_id]
    assert [line["msg"] for line in lines] == ["job taken", "job finished"]
    assert lines[1]["job"] == "corps.heartbeat" and lines[1]["outcome"] == "ok"
    assert isinstance(lines[1]["duration_ms"], float)
