"""Quotas per account on the actions that probe the matcher.

Whoever publishes a post, watches who is proposed, withdraws it and publishes again —
or pauses and resumes their volunteer profile to see what changes — learns something
about the volunteers around them each time. A resident needs these actions a few times
a week; a prober needs them hundreds of times. Each account may therefore do each of
them only so often (limits in settings), counted in Redis so that every API process
shares one count.

The count is a sliding log in Redis (accounts/sliding_log.py, the machinery the rate
limits share): every limit an action touches is checked and spent together, or none is,
so a refused action costs nothing and leaves nothing behind.

Redis down: the action goes through and a warning is logged (as for the login limiter).
A Redis outage must not stop an elderly person's request for help, and probing in the
meantime is still caught afterwards: short-lived posts are counted in PostgreSQL
(posts/short_lived.py), which raises a follow-up whatever Redis does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from redis.asyncio import Redis

from voisins.accounts.sliding_log import DAY_S, HOUR_S, Bucket, Limit, Refused, SlidingLog
from voisins.errors import TooManyRequests
from voisins.settings import Settings

__all__ = ["Action", "Limit", "Quotas", "limits_from", "quota_key", "quota_keys"]

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


class Quotas:
    def __init__(self, redis: Redis, limits: Mapping[Action, Sequence[Limit]]) -> None:
        self.log = SlidingLog(redis)
        self.limits = limits

    @classmethod
    def from_settings(cls, redis: Redis, settings: Settings) -> Quotas:
        return cls(redis, limits_from(settings))

    async def spend(self, user_id: int, *actions: Action) -> None:
        """Count these actions of one account, all of them or none: raise
        ``TooManyRequests`` (with the seconds to wait) when any limit is reached."""
        planned = {
            Bucket(quota_key(user_id, a, limit.window_s), limit): a
            for a in actions
            for limit in self.limits[a]
        }
        outcome = await self.log.spend(list(planned), what=f"quota {'+'.join(actions)}")
        if isinstance(outcome, Refused):
            retry = outcome.retry_after_s
            raise TooManyRequests(
                f"too many {_WORDS[planned[outcome.bucket]]} from this account "
                f"(at most {outcome.bucket.limit}); try again in {retry} seconds",
                retry_after_s=retry,
            )
