"""Doctor checks of Redis, a live worker and the storage backend."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

from corps.cli.doctor import Check, fail, ok, warn
from corps.settings import Settings


def _redis_where(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or '/0'}"


async def check_redis(settings: Settings) -> list[Check]:
    """Redis answers, keeps queued jobs on disk, and a worker wrote its heartbeat lately."""
    from corps.jobs import HEARTBEAT_KEY

    where = _redis_where(settings.redis_url)
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=3)
    try:
        info = await redis.info("server")
        persistence = await redis.info("persistence")
        beat = await redis.get(HEARTBEAT_KEY)
        snapshots = await _snapshot_rule(redis)
    except (RedisError, OSError) as exc:
        return [
            fail(
                "Redis",
                f"cannot reach {where}: {exc}",
                "start Redis (systemctl start redis-server), or correct EJ_REDIS_URL",
            ),
            fail("worker", "unknown: Redis is down", "start Redis, then corps worker"),
        ]
    finally:
        await redis.aclose()  # type: ignore[attr-defined]
    found = []
    detail = f"{info.get('redis_version', '?')} at {where}"
    if persistence.get("aof_enabled"):
        found.append(ok("Redis", f"{detail}, append-only file on"))
    elif snapshots:
        found.append(ok("Redis", f"{detail}, snapshots ({snapshots})"))
    else:
        found.append(
            warn(
                "Redis",
                f"{detail}, keeps nothing on disk: queued jobs die with a restart",
                "run Redis with appendonly yes",
            )
        )
    max_age = settings.heartbeat_max_age_s
    if beat is None:
        found.append(warn("worker", "no worker has ever written a heartbeat", "corps worker"))
        return found
    age = max(0.0, time.time() - float(beat))
    if age > max_age:
        found.append(
            warn("worker", f"last heartbeat {age:.0f} s ago (no live worker)", "corps worker")
        )
    else:
        found.append(ok("worker", f"alive: heartbeat {age:.0f} s ago"))
    return found


async def _snapshot_rule(redis: Redis) -> str | None:
    """Redis's `save` rule, or None when it keeps no snapshots (or hides its config)."""
    try:
        rule = await redis.config_get("save")
    except RedisError:  # managed Redis services often refuse CONFIG
        return None
    value = rule.get("save") or rule.get(b"save")
    if isinstance(value, bytes):
        value = value.decode()
    return value or None


async def _probe_chunks(payload: bytes) -> AsyncIterator[bytes]:
    yield payload


async def check_storage(settings: Settings) -> list[Check]:
    """The evidence store takes a write, gives it back and lets it go."""
    from corps.storage import storage_from_url

    store = storage_from_url(settings.storage_url)
    payload = b"corps doctor probe " + secrets.token_hex(16).encode()
    try:
        blob = await store.put_stream(_probe_chunks(payload), max_bytes=1024)
        back = b"".join([chunk async for chunk in store.open(blob.key)])
        await store.delete(blob.key)
    except (OSError, ValueError) as exc:
        return [
            fail(
                "storage",
                f"{settings.storage_url} is not writable: {exc}",
                "make EJ_STORAGE_URL's folder writable by the service user, or fix the bucket",
            )
        ]
    if back != payload:
        return [fail("storage", "a written probe read back different", "check the disk")]
    return [ok("storage", f"{settings.storage_url} is writable")]
