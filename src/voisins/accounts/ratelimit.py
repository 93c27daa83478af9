"""Rate limits on the actions anyone can repeat at no cost to themselves, counted in
Redis (accounts/sliding_log.py) so that every API process shares one count; each limit
is a setting. Refused: ``TooManyRequests`` (429 with Retry-After), nothing recorded.

- Login and second-factor codes (``LoginLimiter``): failures per account and per
  client IP. A successful attempt is taken back from its IP's count (a centre's shared
  computer signs many people in), and wipes its account's failures. A device that
  already signed in to the account (accounts/known_devices.py) is spared the account's
  count, so someone else's wrong passwords never lock the owner out of it.
- Registration per client IP; password-reset requests per address and per IP (a
  mailbox must not be flooded with links); reports and blocks per account; anonymous
  searches of the public listing per IP (``ActionLimits``).

Keys hold no personal data: addresses and IPs are keyed HMAC pseudonyms, accounts
their user id.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis

from voisins.accounts import known_devices
from voisins.accounts.sliding_log import (
    HOUR_S,
    MINUTE_S,
    Bucket,
    Limit,
    Recorded,
    Refused,
    SlidingLog,
)
from voisins.accounts.tokens import keyed_digest
from voisins.errors import TooManyRequests
from voisins.settings import Settings


# An attempt is counted in two keys at once, by one script: on a Redis Cluster they must
# share a slot, hence the hash tag (between braces) common to every login key, and one
# common to both keys of a reset request.
def account_key(secret_key: str, email: str) -> str:
    """The Redis key counting one account's failed attempts (a pseudonym of the
    e-mail); GDPR erasure deletes it too."""
    return f"voisins:{{login}}:failures:{keyed_digest(secret_key, email.lower())}"


def network_of(ip: str) -> str:
    """What a per-address limit counts: an IPv4 address, or the /64 an IPv6 address is
    in (a home or a host is given a whole /64 and picks its source address in it at
    will: counted per address, it would have as many budgets as it likes); an
    IPv4-mapped IPv6 address is its IPv4 address."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _ip_key(secret_key: str, ip: str) -> str:
    return f"voisins:{{login}}:ip-failures:{keyed_digest(secret_key, network_of(ip))}"


def _refusal(what: str, refused: Refused) -> TooManyRequests:
    retry = refused.retry_after_s
    return TooManyRequests(
        f"too many {what} (at most {refused.bucket.limit}); try again in {retry} seconds",
        retry_after_s=retry,
    )


class LoginLimiter:
    """One request's view of the login limits (a new one per request: it remembers the
    attempt it recorded, to take it back from the IP's count on success)."""

    def __init__(
        self,
        redis: Redis,
        secret_key: str,
        max_attempts: int,
        window_s: int,
        *,
        ip_max_attempts: int,
        device: str | None = None,
    ) -> None:
        self.log = SlidingLog(redis)
        self.secret_key = secret_key
        self.account_limit = Limit(max_attempts, window_s)
        self.ip_limit = Limit(ip_max_attempts, window_s)
        # The known-device cookie's value; only login handlers pass it (the spared
        # count is the password's at login, never a second-factor code's).
        self.device = device
        self._recorded: Recorded | None = None

    def _buckets(self, email: str, ip: str) -> list[Bucket]:
        buckets = [Bucket(_ip_key(self.secret_key, ip), self.ip_limit)]
        if not known_devices.knows(self.secret_key, self.device, email):
            buckets.append(Bucket(account_key(self.secret_key, email), self.account_limit))
        return buckets

    async def hit(self, email: str, ip: str) -> None:
        """Count one attempt, before its outcome is known (parallel guesses are counted
        too); refuse with 429 once the account's or the IP's failures reach the limit."""
        outcome = await self.log.spend(self._buckets(email, ip), what="login")
        if isinstance(outcome, Refused):
            raise _refusal("login attempts", outcome)
        self._recorded = outcome

    async def clear_account(self, email: str, ip: str) -> None:
        """The attempt succeeded: the account's failures are wiped, and this attempt is
        not held against the IP."""
        await self.log.forget(account_key(self.secret_key, email))
        if self._recorded is not None:
            await self.log.take_back([_ip_key(self.secret_key, ip)], self._recorded)
            self._recorded = None


LimitedAction = Literal[
    "register", "reset_address", "reset_ip", "report", "block", "message", "anonymous_search"
]

_WORDS: dict[LimitedAction, str] = {
    "register": "registrations from this network",
    "reset_address": "password reset requests for this address",
    "reset_ip": "password reset requests from this network",
    "report": "reports from this account",
    "block": "blocks from this account",
    "message": "messages from this account",
    "anonymous_search": "searches from this network without signing in",
}


def action_limits_from(settings: Settings) -> dict[LimitedAction, Limit]:
    return {
        "register": Limit(settings.limit_register_per_ip_per_hour, HOUR_S),
        "reset_address": Limit(settings.limit_reset_per_address_per_hour, HOUR_S),
        "reset_ip": Limit(settings.limit_reset_per_ip_per_hour, HOUR_S),
        "report": Limit(settings.limit_report_per_hour, HOUR_S),
        "block": Limit(settings.limit_block_per_hour, HOUR_S),
        "message": Limit(settings.limit_message_per_minute, MINUTE_S),
        "anonymous_search": Limit(settings.limit_anonymous_search_per_ip_per_minute, MINUTE_S),
    }


@dataclass(frozen=True)
class ActionLimits:
    log: SlidingLog
    secret_key: str
    limits: dict[LimitedAction, Limit]

    @classmethod
    def from_settings(cls, redis: Redis, settings: Settings) -> ActionLimits:
        return cls(SlidingLog(redis), settings.secret_key, action_limits_from(settings))

    def _bucket(self, action: LimitedAction, who: str) -> Bucket:
        # ``who``: an account id, or a pseudonym of an address or IP (no personal data).
        limit = self.limits[action]
        # A reset request's two keys share a slot (see above); the others spread out.
        tag = "{reset}:" if action.startswith("reset_") else ""
        return Bucket(f"voisins:limit:{tag}{action}:{who}:{limit.window_s}", limit)

    def _pseudonym(self, value: str) -> str:
        return keyed_digest(self.secret_key, value.strip().lower())

    async def _spend(self, *buckets: tuple[LimitedAction, Bucket]) -> None:
        # Every bucket of the action is spent together or none is (sliding_log.py).
        names = {bucket: action for action, bucket in buckets}
        outcome = await self.log.spend(list(names), what="+".join(names.values()))
        if isinstance(outcome, Refused):
            raise _refusal(_WORDS[names[outcome.bucket]], outcome)

    async def register(self, ip: str) -> None:
        await self._spend(("register", self._bucket("register", self._pseudonym(network_of(ip)))))

    async def reset_request(self, email: str | None, ip: str) -> None:
        """Counted whether or not an account has the address: a refusal reveals nothing.
        ``email`` None: a form without one (counted against the IP only)."""
        buckets: list[tuple[LimitedAction, Bucket]] = [
            ("reset_ip", self._bucket("reset_ip", self._pseudonym(network_of(ip))))
        ]
        if email:
            buckets.append(("reset_address", self._bucket("reset_address", self._pseudonym(email))))
        await self._spend(*buckets)

    async def by_account(self, action: Literal["report", "block", "message"], user_id: int) -> None:
        await self._spend((action, self._bucket(action, str(user_id))))

    async def anonymous_search(self, ip: str) -> None:
        await self._spend(
            ("anonymous_search", self._bucket("anonymous_search", self._pseudonym(network_of(ip))))
        )
