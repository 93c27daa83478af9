"""Live inbox events: Server-Sent Events to open browsers through Litestar's channels
on Redis. Only ids travel: the browser fetches the notification itself."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import msgspec
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis
from redis.exceptions import RedisError

from voisins.logs import get_logger

log = get_logger(__name__)


_open_streams = 0


def open_streams() -> int:
    """How many live-event streams this process holds open (read by /metrics)."""
    return _open_streams


@contextlib.contextmanager
def counted_stream() -> Iterator[None]:
    global _open_streams
    _open_streams += 1
    try:
        yield
    finally:
        _open_streams -= 1


def inbox_channel(user_id: int) -> str:
    return f"inbox:{user_id}"


async def publish_inbox_events(redis: Redis, user_ids: list[int], event_id: int) -> None:
    """Best effort: the notification is stored already; a browser that misses the push
    sees it at its next load."""
    if not user_ids:
        return
    backend = RedisChannelsPubSubBackend(redis=redis)
    data = msgspec.json.encode({"type": "notification", "event_id": event_id})
    try:
        await backend.publish(data, [inbox_channel(u) for u in user_ids])
    except RedisError as exc:
        log.warning("live push failed", error=type(exc).__name__)
