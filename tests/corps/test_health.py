"""/health reports each part, and a stopped Redis as 503 (a real Redis, stopped for real)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis

from corps.app import create_app
from corps.jobs import HEARTBEAT_KEY
from corps.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisProcess:
    """A throwaway redis-server on its own port."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port, self.workdir = port, workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                import time

                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(_free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


async def test_health_is_ok_with_the_postgis_version(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    redis = Redis.from_url(settings.redis_url)
    await redis.set(HEARTBEAT_KEY, str(time.time()))  # a worker is alive
    await redis.aclose()
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == body["database"] == body["redis"] == "ok"
    assert body["postgis"][0] == "3"


async def test_a_stopped_redis_is_a_503_naming_redis_and_recovery_follows(
    settings: Settings, own_redis: RedisProcess
) -> None:
    app = create_app(
        settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{own_redis.port}/0"})
    )
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/health")).status_code == 200
            own_redis.stop()
            down = await client.get("/health")
            assert down.status_code == 503
            body = down.json()
            assert body["redis"].startswith("down") and body["database"] == "ok"
            assert "redis" in body["detail"]
            own_redis.start()
            await asyncio.sleep(0.1)
            assert (await client.get("/health")).status_code == 200


async def test_a_database_that_cannot_be_reached_is_a_503_naming_the_database(
    settings: Settings,
) -> None:
    url = f"postgresql+asyncpg://ejcorps:ejcorps@127.0.0.1:{_free_port()}/nothing"
    app = create_app(settings.model_copy(update={"database_url": url}))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["database"].startswith("down") and response.json()["redis"] == "ok"


async def test_the_openapi_document_and_docs_are_served(client: httpx.AsyncClient) -> None:
    spec = await client.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    for path in [
        "/api/v1/cases",
        "/api/v1/cases/{case_id}/evidence",
        "/api/v1/hotspots",
        "/api/v1/tiles/cases/{z}/{x}/{y}.mvt",
        "/ogc/collections/cases/items",
        "/api/v1/campaigns",
        "/api/v1/layers",
    ]:
        assert path in paths, path
    assert (await client.get("/docs")).status_code == 200
