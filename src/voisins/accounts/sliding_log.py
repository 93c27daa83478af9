"""Counting actions in Redis over sliding windows, shared by every API process: the one
machinery behind the quotas per account (accounts/quotas.py) and the rate limits per
address, IP and account (accounts/ratelimit.py).

Each bucket is a sorted set holding the moments (Redis's own clock, so API servers'
clocks do not matter) of the actions still inside its window. A Lua script checks every
bucket an action touches and records it in all of them, or in none: a refused action
costs nothing and leaves nothing behind. A recorded action may be taken back (a
successful login is not held against its network).

Redis down: the action goes through and a warning is logged. An outage must not stop a
person from logging in or asking for help; the readiness probe reports the outage.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from voisins.logs import get_logger

log = get_logger(__name__)

HOUR_S = 3600
DAY_S = 86400
MINUTE_S = 60


@dataclass(frozen=True)
class Limit:
    count: int
    window_s: int

    def __str__(self) -> str:
        span = {MINUTE_S: "minute", HOUR_S: "hour", DAY_S: "day"}.get(
            self.window_s, f"{self.window_s} s"
        )
        return f"{self.count} per {span}"


@dataclass(frozen=True)
class Bucket:
    """One count: its Redis key and the limit it keeps."""

    key: str
    limit: Limit


@dataclass(frozen=True)
class Refused:
    """The action was not recorded: ``bucket`` is full for ``retry_after_s`` more."""

    bucket: Bucket
    retry_after_s: int


@dataclass(frozen=True)
class Recorded:
    """The action was recorded (``entry`` names it for ``take_back``), or Redis was
    unavailable and nothing was (``entry`` None)."""

    entry: str | None


# KEYS: the sorted sets; ARGV: the entry's name, then each key's limit and window (ms).
# Returns 0 when recorded, else {milliseconds to wait, index of the key that refused}.
_SPEND = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local wait, refused = 0, 0
for i = 1, #KEYS do
    local limit = tonumber(ARGV[2 * i])
    local window = tonumber(ARGV[2 * i + 1])
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
    local count = redis.call('ZCARD', KEYS[i])
    if count >= limit then
        -- Allowed again once the entry that keeps the count at the limit leaves the window.
        local entry = redis.call('ZRANGE', KEYS[i], count - limit, count - limit, 'WITHSCORES')
        local until_free = tonumber(entry[2]) + window - now
        if until_free > wait then
            wait, refused = until_free, i
        end
    end
end
if refused > 0 then
    return {wait, refused}
end
for i = 1, #KEYS do
    redis.call('ZADD', KEYS[i], now, ARGV[1])
    redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2 * i + 1]))
end
return 0
"""


class SlidingLog:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._script = redis.register_script(_SPEND)

    async def spend(self, buckets: Sequence[Bucket], *, what: str) -> Recorded | Refused:
        """Record one action in every bucket, or in none when any is full. ``what``
        names the action in the warning logged when Redis is unavailable."""
        if not buckets:
            return Recorded(None)
        entry = secrets.token_hex(8)
        args: list[int | str] = [entry]
        for bucket in buckets:
            args += [bucket.limit.count, bucket.limit.window_s * 1000]
        try:
            outcome = await self._script(keys=[b.key for b in buckets], args=args)
        except RedisError as exc:
            # Failing open: see the module's docstring.
            log.warning("rate limit unavailable", action=what, error=type(exc).__name__)
            return Recorded(None)
        if not outcome:
            return Recorded(entry)
        wait_ms, index = int(outcome[0]), int(outcome[1])
        return Refused(buckets[index - 1], max(math.ceil(wait_ms / 1000), 1))

    async def take_back(self, keys: Sequence[str], recorded: Recorded) -> None:
        """Remove a recorded action from these buckets (nothing when Redis is down)."""
        if recorded.entry is None or not keys:
            return
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for key in keys:
                    pipe.zrem(key, recorded.entry)
                await pipe.execute()
        except RedisError as exc:
            log.warning("rate limit unavailable", action="take back", error=type(exc).__name__)

    async def forget(self, *keys: str) -> None:
        """Empty these buckets (a successful login wipes its account's failures)."""
        try:
            await self.redis.delete(*keys)
        except RedisError as exc:
            log.warning("rate limit unavailable", action="forget", error=type(exc).__name__)
