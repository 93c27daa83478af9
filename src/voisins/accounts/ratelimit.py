"""Login attempt limits in Redis, per account and per IP, shared by every API process."""

from __future__ import annotations

import contextlib

from redis.asyncio import Redis
from redis.exceptions import RedisError

from voisins.accounts.tokens import keyed_digest
from voisins.errors import TooManyRequests
from voisins.logs import get_logger

log = get_logger(__name__)

# An IP may try several accounts (a centre's shared computer), hence the wider allowance.
IP_FACTOR = 4


def account_key(secret_key: str, email: str) -> str:
    """The Redis key counting one account's attempts (a pseudonym of the e-mail); GDPR
    erasure deletes it too."""
    return f"voisins:login:account:{keyed_digest(secret_key, email.lower())}"


class LoginLimiter:
    def __init__(self, redis: Redis, secret_key: str, max_attempts: int, window_s: int) -> None:
        self.redis = redis
        self.secret_key = secret_key
        self.max_attempts = max_attempts
        self.window_s = window_s

    def _keys(self, email: str, ip: str) -> tuple[str, str]:
        return (
            account_key(self.secret_key, email),
            f"voisins:login:ip:{keyed_digest(self.secret_key, ip)}",
        )

    async def hit(self, email: str, ip: str) -> None:
        """Count one attempt; refuse with 429 once either limit is passed."""
        account_key, ip_key = self._keys(email, ip)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(account_key)
                pipe.expire(account_key, self.window_s, nx=True)
                pipe.incr(ip_key)
                pipe.expire(ip_key, self.window_s, nx=True)
                pipe.ttl(account_key)
                account_count, _, ip_count, _, ttl = await pipe.execute()
        except RedisError as exc:
            # Failing open keeps people able to log in during a Redis outage; the
            # outage itself is reported by the readiness probe.
            log.warning("login rate limit unavailable", error=type(exc).__name__)
            return
        if account_count > self.max_attempts or ip_count > self.max_attempts * IP_FACTOR:
            retry = max(int(ttl), 1)
            raise TooManyRequests(
                f"too many login attempts; try again in {retry} seconds", retry_after_s=retry
            )

    async def clear_account(self, email: str, ip: str) -> None:
        account_key, _ = self._keys(email, ip)
        with contextlib.suppress(RedisError):
            await self.redis.delete(account_key)
