"""A real arq worker process picks up jobs from a real Redis."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest
from redis.asyncio import Redis

from corps.jobs import HEARTBEAT_KEY, create_job_pool
from corps.settings import Settings

# Committed rows: a live server or worker process reads them.
pytestmark = pytest.mark.committed


async def test_the_worker_beats_and_runs_an_enqueued_job(settings: Settings) -> None:
    redis = Redis.from_url(settings.redis_url)
    await redis.delete(HEARTBEAT_KEY)
    env = {
        **os.environ,
        "EJ_DATABASE_URL": settings.database_url,
        "EJ_ENV": "test",
        "EJ_REDIS_URL": settings.redis_url,
    }
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "corps",
        "worker",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            if await redis.get(HEARTBEAT_KEY):
                break
            await asyncio.sleep(0.1)
        assert await redis.get(HEARTBEAT_KEY), "the worker never wrote its heartbeat"
        pool = await create_job_pool(settings.redis_url)
        job = await pool.enqueue_job("corps.heartbeat")
        assert job is not None
        beat = await job.result(timeout=30)
        assert isinstance(beat, float) and beat > 0
        await pool.aclose()
    finally:
        worker.terminate()
        await asyncio.wait_for(worker.wait(), 20)
        await redis.aclose()
