"""Quotas per account on the actions that probe the matcher.

Whoever publishes a post, watches who is proposed, withdraws it and publishes again —
or pauses and resumes their volunteer profile to see what changes — learns something
about the volunteers around them each time. A resident needs these actions a few times
a week; a prober needs them hundreds of times. Each account may therefore do each of
them only so often (limits in settings), counted in Redis so that every API process
shares one count.

The count is a sliding log: one sorted set per account, action and window, holding the
moments (Redis's own clock, so API servers' clocks do not matter) of the actions still
inside the window. A Lua script checks every limit an action touches and records it in
all of them, or in none: a refused action costs nothing and leaves nothing behind.

Redis down: the action goes through and a warning is logged (as for the login limiter).
A Redis outage must not stop an elderly person's request for help, and probing in the
meantime is still caught afterwards: short-lived posts are counted in PostgreSQL
(posts/short_lived.py), which raises a follow-up whatever Redis does.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis
from redis.exceptions import RedisError

from voisins.errors import TooManyRequests
from voisins.logs import get_logger
from voisins.settings import Settings

log = get_logger(__name__)

# publish: a post goes out (created published, or a draft published; also a post sent to
# a centre that reviews every post). republish: a post that was online before goes out
# again — counted as a publication too. pause: the volunteer profile's pause switched
# either way.
Action = Literal["publish", "republish", "withdraw", "pause"]

_WORDS: dict[Action, str] = {
    "publish": "publications",
    "republish": "re-publications",
    "withdraw": "withdrawals",
    "pause": "pauses and resumptions of your volunteer profile",
}

HOUR_S = 3600
DAY_S = 86400


@dataclass(frozen=True)
class Limit:
    count: int
    window_s: int

    def __str__(self) -> str:
        span = {HOUR_S: "hour", DAY_S: "day"}.get(self.window_s, f"{self.window_s} s")
        return f"{self.count} per {span}"


def limits_from(settings: Settings) -> dict[Action, tuple[Limit, ...]]:
    return {
        "publish": (
            Limit(settings.quota_publish_per_hour, HOUR_S),
            Limit(settings.quota_publish_per_day, DAY_S),
        ),
        "republish": (Limit(settings.quota_republish_per_hour, HOUR_S),),
        "withdraw": (Limit(settings.quota_withdraw_per_hour, HOUR_S),),
        "pause": (Limit(settings.quota_pause_per_hour, HOUR_S),),
    }


def quota_key(user_id: int, action: Action, window_s: int) -> str:
    # The id between braces is a Redis Cluster hash tag: one account's keys share a slot,
    # which the script needs. The user id is a pseudonym already (no e-mail, no name).
    return f"voisins:quota:{{{user_id}}}:{action}:{window_s}"


def quota_keys(user_id: int, settings: Settings) -> list[str]:
    """Every key counting this account's actions (GDPR erasure deletes them)."""
    return [
        quota_key(user_id, action, limit.window_s)
        for action, limits in limits_from(settings).items()
        for limit in limits
    ]


# KEYS: the sorted sets; ARGV: a random tag, then each key's limit and window (ms).
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
    redis.call('ZADD', KEYS[i], now, now .. ':' .. ARGV[1])
    redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2 * i + 1]))
end
return 0
"""


class Quotas:
    def __init__(self, redis: Redis, limits: Mapping[Action, Sequence[Limit]]) -> None:
        self.redis = redis
        self.limits = limits
        self._script = redis.register_script(_SPEND)

    @classmethod
    def from_settings(cls, redis: Redis, settings: Settings) -> Quotas:
        return cls(redis, limits_from(settings))

    async def spend(self, user_id: int, *actions: Action) -> None:
        """Count these actions of one account, all of them or none: raise
        ``TooManyRequests`` (with the seconds to wait) when any limit is reached."""
        planned = [(a, limit) for a in actions for limit in self.limits[a]]
        if not planned:
            return
        keys = [quota_key(user_id, a, limit.window_s) for a, limit in planned]
        args: list[int | str] = [secrets.token_hex(8)]
        for _, limit in planned:
            args += [limit.count, limit.window_s * 1000]
        try:
            outcome = await self._script(keys=keys, args=args)
        except RedisError as exc:
            # Failing open: see the module's docstring.
            log.warning("action quota unavailable", actions=list(actions), error=type(exc).__name__)
            return
        if not outcome:
            return
        wait_ms, index = int(outcome[0]), int(outcome[1])
        action, limit = planned[index - 1]
        retry = max(math.ceil(wait_ms / 1000), 1)
        raise TooManyRequests(
            f"too many {_WORDS[action]} from this account (at most {limit}); "
            f"try again in {retry} seconds",
            retry_after_s=retry,
        )
