"""Finding 15: a full store answers 507 and keeps nothing; /health names a stale worker or a
store short of space."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from corps.app import create_app
from corps.jobs import HEARTBEAT_KEY
from corps.settings import Settings
from testing.factories import make_case, make_person, upload
from tests.faults.services import RedisServer

# Committed rows: faults hit real processes, connections and concurrent writers.
pytestmark = pytest.mark.committed

MB = 1024 * 1024


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 1 MB tmpfs. Mounting it needs root, as `make test`'s own set-up (apt, PostgreSQL) does."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.fail("the full-disk test mounts a 1 MB tmpfs: run `make test` as root")
    mount_point = Path(tempfile.mkdtemp(prefix="ejcorps-full-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        mount_point.rmdir()
        pytest.fail(f"cannot mount a 1 MB tmpfs: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
        mount_point.rmdir()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.remove()


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings)
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def files_in(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


async def test_a_full_store_answers_507_and_keeps_nothing(
    db: AsyncSession, settings: Settings, small_disk: Path
) -> None:
    own = settings.model_copy(update={"storage_url": f"file://{small_disk}"})
    paralegal = await make_person(db, settings, "paralegal")
    async with app_client(own) as client:
        case = await make_case(client, paralegal)
        big = b"%PDF-1.4\n" + os.urandom(2 * MB)
        full = await upload(client, paralegal, case["id"], big, kind="document")
        assert isinstance(full, httpx.Response)
        assert full.status_code == 507, full.text
        assert full.headers["content-type"].startswith("application/problem+json")
        assert "full" in full.json()["detail"] and int(full.headers["retry-after"]) > 0
        assert files_in(small_disk) == []  # no half file, no .part
        listed = await client.get(f"/api/v1/cases/{case['id']}/evidence", headers=paralegal.headers)
        assert listed.json()["items"] == []  # no record

        small = await upload(client, paralegal, case["id"], b"%PDF-1.4\n" + os.urandom(20_000))
        assert isinstance(small, httpx.Response) and small.status_code == 201, small.text


async def test_health_names_a_store_short_of_space(
    settings: Settings, small_disk: Path, own_redis: RedisServer
) -> None:
    redis = Redis.from_url(own_redis.url)
    await redis.set(HEARTBEAT_KEY, str(time.time()))
    own = settings.model_copy(
        update={
            "storage_url": f"file://{small_disk}",
            "redis_url": own_redis.url,
            "storage_min_free_mb": 2,
        }
    )
    async with app_client(own) as client:
        answer = await client.get("/health")
    await redis.aclose()
    body = answer.json()
    assert answer.status_code == 200, body
    assert body["status"] == "degraded" and body["degraded"] == ["storage"], body
    assert body["storage"].startswith("low") and body["storage_free_mb"] <= 1.0
    assert body["worker"] == "ok" and body["worker_heartbeat_age_s"] < 60


async def test_health_names_a_worker_without_a_recent_heartbeat(
    settings: Settings, own_redis: RedisServer
) -> None:
    redis = Redis.from_url(own_redis.url)
    own = settings.model_copy(update={"redis_url": own_redis.url, "storage_min_free_mb": 0})
    async with app_client(own) as client:
        never = (await client.get("/health")).json()
        await redis.set(HEARTBEAT_KEY, str(time.time() - 600))
        stale = (await client.get("/health")).json()
        await redis.set(HEARTBEAT_KEY, str(time.time()))
        fresh = (await client.get("/health")).json()
    await redis.aclose()
    assert never["status"] == "degraded" and never["degraded"] == ["worker"], never
    assert stale["degraded"] == ["worker"] and "no heartbeat for" in stale["worker"], stale
    assert stale["worker_heartbeat_age_s"] >= 600
    assert fresh["status"] == "ok" and "degraded" not in fresh, fresh
