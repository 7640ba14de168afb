"""Sign-in throttling in Redis, atomic under concurrent guesses.

Two counters per window: attempts from one client address (a flood from one place), and
failures against one account from one address (guessing one password). The account
counter never locks the owner out: past the allowance each further guess from that
address waits an exponentially growing back-off, and the owner signing in from anywhere
else is not affected. One Lua script counts and decides, so concurrent guesses each get
their own number and are not all checked against the same old count.
"""

from __future__ import annotations

import hashlib
import math

from redis.asyncio import Redis

from corps.errors import TooManyRequests
from corps.settings import Settings

PREFIX = "ejcorps:sign-in:"

# KEYS: address counter, account+address counter, account+address back-off lock.
# ARGV: window seconds, address limit, account allowance, back-off cap seconds.
# Returns {0, n} to go ahead (n = this attempt's number for the account), or {1|2, wait_ms}.
_ATTEMPT = """
local window = tonumber(ARGV[1])
local by_address = redis.call('INCR', KEYS[1])
if by_address == 1 then redis.call('EXPIRE', KEYS[1], window) end
if by_address > tonumber(ARGV[2]) then
  return {1, redis.call('PTTL', KEYS[1])}
end
local wait = redis.call('PTTL', KEYS[3])
if wait > 0 then return {2, wait} end
local n = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], window)
local allowed = tonumber(ARGV[3])
if n > allowed then
  local backoff = math.min(2 ^ (n - allowed - 1), tonumber(ARGV[4]))
  redis.call('SET', KEYS[3], '1', 'PX', math.floor(backoff * 1000))
end
return {0, n}
"""


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


class SignInThrottle:
    """The throttle for one sign-in attempt of `email` from `client`."""

    def __init__(self, redis: Redis, settings: Settings, *, email: str, client: str) -> None:
        self.redis, self.settings = redis, settings
        account = _digest(email.strip().lower())
        address = _digest(client)
        self.address_key = f"{PREFIX}address:{address}"
        self.account_key = f"{PREFIX}account:{account}:{address}"
        self.lock_key = f"{PREFIX}backoff:{account}:{address}"
        self.attempt = 0

    async def admit(self) -> None:
        """Count this attempt, or raise 429 with Retry-After when it must wait."""
        settings = self.settings
        verdict, value = await self.redis.eval(
            _ATTEMPT,
            3,
            self.address_key,
            self.account_key,
            self.lock_key,
            settings.login_failure_window_s,
            settings.login_attempts_per_address,
            settings.login_failures_allowed,
            settings.login_backoff_max_s,
        )
        if verdict == 0:
            self.attempt = int(value)
            return
        retry_after = str(max(math.ceil(int(value) / 1000), 1))
        detail = (
            "Too many sign-in attempts from your address; try again later."
            if verdict == 1
            else "Too many failed sign-ins for this account; wait before trying again."
        )
        raise TooManyRequests(detail, headers={"Retry-After": retry_after})

    async def failed(self) -> None:
        """After a wrong password past the allowance, make the next guess wait."""
        over = self.attempt - self.settings.login_failures_allowed
        if over >= 0:
            backoff = min(2**over, self.settings.login_backoff_max_s)
            await self.redis.set(self.lock_key, "1", px=int(backoff * 1000))

    async def succeeded(self) -> None:
        """A right password clears the account's failures and does not count against the address."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.account_key, self.lock_key)
            pipe.decr(self.address_key)
            await pipe.execute()
