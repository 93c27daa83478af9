"""What every delivery channel receives and raises.

The worker hands a channel one ``Message`` (ids, a locale and the few values the
templates need) and an address. A channel either returns, or raises
``TransientError`` (try again later, with backoff) or ``PermanentError`` (record a
dead letter). The messages of these errors carry a class name and a status code
only: they end up in logs and in the dead-letter table, where no address, phone
number or message text belongs.
"""

from __future__ import annotations

from typing import Literal

import msgspec

Scalar = str | int | None
# Digests carry a list of small records (title, url, …); every other value is a scalar.
ContextValue = str | int | None | list[dict[str, Scalar]]
Locale = Literal["fr", "en"]

# A tripwire, not a filter: no template shows these, and a caller passing them is a bug
# that would one day leak a location into a mail or an SMS (see DESIGN.md, location privacy).
FORBIDDEN_CONTEXT_KEYS = frozenset(
    {
        "address",
        "street",
        "postcode",
        "lat",
        "lon",
        "lng",
        "latitude",
        "longitude",
        "coordinates",
        "point",
        "geom",
        "location",
    }
)


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """One notification to render for one recipient on one channel."""

    delivery_id: int
    recipient_id: int
    kind: str
    locale: Locale
    recipient_name: str
    context: dict[str, ContextValue] = {}

    def __post_init__(self) -> None:
        keys = set(self.context)
        for value in self.context.values():
            if isinstance(value, list):
                for item in value:
                    keys.update(item)
        forbidden = sorted(keys & FORBIDDEN_CONTEXT_KEYS)
        if forbidden:
            raise ValueError(f"location fields must not reach a channel: {', '.join(forbidden)}")


class ChannelError(Exception):
    """A delivery failed. ``reason`` names a class and a status code, nothing personal."""

    def __init__(self, reason: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        # A server's own hint (HTTP Retry-After), for the worker's backoff.
        self.retry_after_s = retry_after_s


class TransientError(ChannelError):
    """Try again later: connection refused, timeout, SMTP 4xx, HTTP 408/429/5xx."""


class PermanentError(ChannelError):
    """Retrying cannot help: bad address, SMTP 5xx, HTTP 4xx, no template for the kind."""
