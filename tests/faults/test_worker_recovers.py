"""Finding 13: a Redis outage neither kills the worker nor loses work; a dead worker restarts."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from cases.evidence.sweeps import requeue_unprocessed
from corps.app import create_app
from corps.jobs import HEARTBEAT_KEY, QUEUE_NAME, create_job_pool
from corps.settings import Settings
from maps.hotspot_cache import requeue_unfinished
from maps.models import HotspotResult
from testing.factories import make_case, make_person, photo_with_gps, upload
from testing.live import live_worker
from tests.faults.services import RedisServer

# Committed rows: faults hit real processes, connections and concurrent writers.
pytestmark = pytest.mark.committed

ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings)
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def wait_until(check: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def test_the_worker_outlives_a_redis_outage_and_does_the_work_accepted_during_it(
    db: AsyncSession, settings: Settings
) -> None:
    redis_server = RedisServer()
    redis_server.start()
    own = settings.model_copy(update={"redis_url": redis_server.url})
    paralegal = await make_person(db, settings, "paralegal")
    try:
        async with (
            app_client(own) as client,
            live_worker(own, EJ_WORK_SWEEP_GRACE_S="0") as worker,
        ):
            redis = Redis.from_url(redis_server.url)

            async def beating() -> bool:
                return bool(await redis.get(HEARTBEAT_KEY))

            await wait_until(beating, 60, "the worker's first heartbeat")
            case = await make_case(client, paralegal)
            redis_server.stop()

            accepted = await upload(client, paralegal, case["id"], photo_with_gps(36.7855, -1.2855))
            assert isinstance(accepted, httpx.Response)
            assert accepted.status_code == 201, accepted.text  # the row is committed
            item = accepted.json()
            await asyncio.sleep(3)
            assert worker.proc.returncode is None, "the worker exited when Redis went away"

            redis_server.start()  # empty: the job queued during the outage never reached it

            async def processed() -> bool:
                seen = await client.get(f"/api/v1/evidence/{item['id']}", headers=paralegal.headers)
                assert seen.status_code == 200, seen.text
                return bool(seen.json()["processed"])

            await wait_until(processed, 90, "the re-queued evidence job")
            assert worker.proc.returncode is None
            await redis.aclose()
    finally:
        redis_server.remove()


async def test_the_sweeps_queue_again_evidence_and_hotspots_left_unfinished(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    paralegal = await make_person(db, settings, "paralegal")
    case = await make_case(client, paralegal)
    answer = await upload(client, paralegal, case["id"], photo_with_gps(36.78, -1.28))
    assert isinstance(answer, httpx.Response) and answer.status_code == 201, answer.text
    evidence_id = answer.json()["id"]
    spec = {
        "scope": {"role": "admin", "organization_id": str(paralegal.organization_id)},
        "params": {"method": "dbscan", "distance_km": 25.0, "min_cases": 3, "cell_km": 50.0},
        "filters": {},
    }
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    stuck, busy, lost = (uuid.uuid4().hex for _ in range(3))
    await db.execute(
        insert(HotspotResult),
        [
            {"cache_key": stuck, "params": spec, "status": "running", "requested_at": long_ago},
            {"cache_key": busy, "params": spec, "status": "running"},
            {"cache_key": lost, "params": spec, "status": "queued", "requested_at": long_ago},
        ],
    )
    await db.commit()
    pool = await create_job_pool(settings.redis_url)
    factory = app.state.sessionmaker
    try:
        evidence = await requeue_unprocessed(factory, pool, grace_s=0)
        again = await requeue_unprocessed(factory, pool, grace_s=0)
        hotspots = await requeue_unfinished(factory, pool, grace_s=60)
        assert evidence_id in evidence and evidence_id not in again  # once per window
        assert stuck in hotspots and lost in hotspots and busy not in hotspots
    finally:
        for job_id in await pool.zrange(QUEUE_NAME, 0, -1):
            if job_id.decode().startswith("sweep:"):
                await pool.zrem(QUEUE_NAME, job_id)
                await pool.delete(f"arq:job:{job_id.decode()}")
        await pool.aclose()
        await db.execute(
            text("DELETE FROM hotspot_results WHERE cache_key = ANY(:keys)"),
            {"keys": [stuck, busy, lost]},
        )
        await db.commit()


def test_make_run_starts_a_worker_again_when_it_dies(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    child = "import os, sys; open(sys.argv[1], 'a').write(f'{os.getpid()}\\n'); os._exit(9)"
    supervisor = subprocess.Popen(
        ["bash", str(ROOT / "scripts/supervise.sh"), "python3", "-c", child, str(runs)],
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if runs.exists() and len(runs.read_text().split()) >= 3:
                break
            time.sleep(0.1)
        assert runs.exists() and len(set(runs.read_text().split())) >= 3
    finally:
        os.kill(supervisor.pid, signal.SIGTERM)
        supervisor.wait(timeout=10)
    assert "exited with status 9" in supervisor.stderr.read().decode()  # type: ignore[union-attr]
    run_recipe = (ROOT / "Makefile").read_text().split("\nrun:")[1].split("\n\n")[0]
    assert "scripts/supervise.sh $(VENV)/corps worker" in run_recipe
