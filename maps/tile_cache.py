"""A Redis cache of vector tiles, keyed by the viewer's privacy scope and the data's version.

Every write to `cases` bumps its organization's counter in `case_data_versions` in the same
transaction (a trigger). A tile's key holds the counters its viewer can see, read before the
tile's own statement: a tile rendered from older data can only be stored under an older key,
so a cached tile is never stale after a commit. Entries expire, and the oldest are evicted
past a byte cap, in one Lua script so concurrent writers keep the total honest.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from cases.filters import CaseFilters
from corps.auth.actor import Actor, Role
from corps.auth.policy import reads_corps_wide
from maps.driver_sql import driver_scalar

log = logging.getLogger(__name__)

ALL_VERSIONS = text("SELECT coalesce(sum(version), 0) FROM case_data_versions")
ORG_VERSION = text(
    "SELECT coalesce(max(version), 0) FROM case_data_versions WHERE organization_id = :o"
).bindparams(bindparam("o", type_=Uuid, required=True))

PREFIX = "ej:tile:"
INDEX = PREFIX + "index"  # sorted set: key -> order stored
SIZES = PREFIX + "sizes"  # hash: key -> bytes
TOTAL = PREFIX + "bytes"
SEQUENCE = PREFIX + "sequence"

# KEYS: entry, index, sizes, total, sequence. ARGV: tile, ttl seconds, cap bytes.
# Entries are ordered by a sequence; the oldest go first until the total fits the cap (an
# expired entry still counts until then, so the cache holds at most, never more, than the cap).
_PUT = """
local size = string.len(ARGV[1])
local old = tonumber(redis.call('hget', KEYS[3], KEYS[1]) or '0')
redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('zadd', KEYS[2], redis.call('incr', KEYS[5]), KEYS[1])
redis.call('hset', KEYS[3], KEYS[1], size)
local total = redis.call('incrby', KEYS[4], size - old)
while total > tonumber(ARGV[3]) do
  local oldest = redis.call('zrange', KEYS[2], 0, 0)[1]
  if not oldest then break end
  local bytes = tonumber(redis.call('hget', KEYS[3], oldest) or '0')
  redis.call('zrem', KEYS[2], oldest)
  redis.call('hdel', KEYS[3], oldest)
  redis.call('del', oldest)
  total = redis.call('incrby', KEYS[4], -bytes)
end
return total
"""


async def tile_key(
    session: AsyncSession, actor: Actor, filters: CaseFilters, *, z: int, x: int, y: int
) -> str | None:
    """The cache key of this tile for this viewer, or None where the tile is not cached.

    Campaigners see cases through campaign membership, and `within_layer` through a layer's
    features; neither bumps a case counter, so those tiles are always rendered.
    """
    if actor.role == Role.campaigner or filters.within_layer is not None:
        return None
    if reads_corps_wide(actor):
        version = await driver_scalar(session, "tile-version-all", lambda: ALL_VERSIONS, {})
    else:
        version = await driver_scalar(
            session, "tile-version-org", lambda: ORG_VERSION, {"o": actor.organization_id}
        )
    scope = f"{actor.role}|{actor.organization_id}|{version}"
    wanted = repr(sorted((k, str(v)) for k, v in asdict(filters).items() if v is not None))
    digest = hashlib.sha256(f"{scope}|{wanted}|{z}/{x}/{y}".encode()).hexdigest()
    return PREFIX + digest


class TileCache:
    """Get and put tiles; a Redis failure is a miss, never an error."""

    def __init__(self, redis: Redis, *, ttl_s: int, cap_bytes: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s
        self.cap_bytes = cap_bytes

    async def get(self, key: str) -> bytes | None:
        """The cached tile, or None."""
        try:
            found: Any = await self.redis.get(key)
        except (RedisError, OSError) as exc:
            log.warning("tile cache unavailable: %s", exc)
            return None
        return bytes(found) if found is not None else None

    async def put(self, key: str, tile: bytes) -> None:
        """Store a tile; tiles larger than a tenth of the cap are not kept."""
        if len(tile) > self.cap_bytes // 10:
            return
        try:
            await self.redis.eval(
                _PUT, 5, key, INDEX, SIZES, TOTAL, SEQUENCE, tile, self.ttl_s, self.cap_bytes
            )
        except (RedisError, OSError) as exc:
            log.warning("tile cache unavailable: %s", exc)
