"""Live inbox events: Server-Sent Events to open browsers through Litestar's channels
on Redis. Only ids travel: the browser fetches the notification itself.

A stream says ``ready`` once its Redis subscription is live, sends a comment every
``HEARTBEAT_S`` seconds, and ends when the subscription is lost (Redis restarted): the
browser's EventSource then reconnects, and the page refreshes the inbox once, so what
was published during the outage is not missed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import cast

import msgspec
from litestar.background_tasks import BackgroundTask
from litestar.channels import ChannelsPlugin, Subscriber
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.response import ServerSentEventMessage
from redis.asyncio import Redis
from redis.exceptions import RedisError

from voisins.logs import get_logger
from voisins.notify.live_backend import LOST, ResilientRedisPubSubBackend
from voisins.redis_pool import create_redis
from voisins.settings import Settings
from voisins.shutdown import finish_within

log = get_logger(__name__)

# Seconds between two heartbeats of an idle stream: proxies close silent connections,
# and a stream that lost its subscription notices it at the latest then.
HEARTBEAT_S = 15.0
# How long a browser waits before reconnecting a stream that ended (SSE "retry", ms).
RETRY_MS = 3000

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
    sees it at its next load (or when its stream reconnects)."""
    if not user_ids:
        return
    backend = RedisChannelsPubSubBackend(redis=redis)
    data = msgspec.json.encode({"type": "notification", "event_id": event_id})
    try:
        await backend.publish(data, [inbox_channel(u) for u in user_ids])
    except RedisError as exc:
        log.warning("live push failed", error=type(exc).__name__)


class LiveSubscriber(Subscriber):
    async def next_event(self, timeout_s: float) -> bytes | None:
        """The next event; None once the subscription ended. Raises TimeoutError."""
        # Queue.get, unlike iter_events' generator, survives a timeout's cancellation.
        item = await asyncio.wait_for(self._queue.get(), timeout_s)
        self._queue.task_done()
        return item


class LiveChannels(ChannelsPlugin):
    """Litestar's channels on a backend that reconnects (notify/live_backend.py), whose
    subscribers end when the subscription is lost, and whose shutdown cannot hang.

    Stopping cancels the Redis pub/sub reader and closes its connection; redis-py's
    pub/sub can swallow that cancellation or stall in ``aclose`` (redis/redis-py#3941),
    and then the app never finished shutting down (seen as test clients that hung on
    exit). Live events are best effort: after a few seconds the app goes on without
    them."""

    SHUTDOWN_S = 5.0

    def __init__(self, backend: ResilientRedisPubSubBackend) -> None:
        super().__init__(
            backend=backend,
            arbitrary_channels_allowed=True,
            create_ws_route_handlers=False,
            subscriber_class=LiveSubscriber,
        )
        self.live_backend = backend

    async def _sub_worker(self) -> None:
        # Litestar's reader ends at the first error, and every stream with it: this one
        # never ends before shutdown.
        while not self.live_backend.stopping:
            try:
                async for channel, payload in self._backend.stream_events():
                    if channel == LOST:
                        self._end_subscribers()
                        continue
                    for subscriber in self._channels.get(channel, []):
                        subscriber.put_nowait(payload)
            except Exception as exc:
                self.live_backend.drop(exc)
                self._end_subscribers()
                await asyncio.sleep(1.0)

    def _end_subscribers(self) -> None:
        # Events published from now until the new subscription are lost for these
        # subscribers: end them, their browsers reconnect and reload the inbox.
        ended = {s for subscribers in self._channels.values() for s in subscribers}
        for subscriber in ended:
            subscriber.put_nowait(None)

    async def unsubscribe(
        self, subscriber: Subscriber, channels: str | Iterable[str] | None = None
    ) -> None:
        if isinstance(channels, str):
            channels = [channels]
        names = list(self._channels) if channels is None else list(channels)
        await super().unsubscribe(subscriber, names)
        # One channel per user: forget emptied ones, or the map grows with every user
        # who ever opened a page.
        for channel in names:
            if channel in self._channels and not self._channels[channel]:
                del self._channels[channel]

    async def _on_shutdown(self) -> None:
        self.live_backend.stop()
        await finish_within(super()._on_shutdown(), "live events", self.SHUTDOWN_S)


def live_channels(settings: Settings) -> LiveChannels:
    # Its own client (and pool): the subscription holds a connection for good.
    return LiveChannels(ResilientRedisPubSubBackend(create_redis(settings)))


_PING = ServerSentEventMessage(data=None, comment="ping")


async def inbox_stream(
    channels: LiveChannels, user_id: int
) -> AsyncIterator[ServerSentEventMessage]:
    """One browser's live inbox: ``retry``, heartbeats while Redis is away, ``ready``
    once subscribed, then one ``inbox`` event per notification, until the subscription
    is lost or the browser leaves."""

    async def forward(event: bytes | None) -> list[ServerSentEventMessage]:
        if event is None:
            return [ServerSentEventMessage(event="inbox", data="ready")]
        return [ServerSentEventMessage(event="inbox", data=event.decode())]

    async for message in live_stream(channels, inbox_channel(user_id), forward):
        yield message


# What a stream sends: ``forward(None)`` once subscribed (the ``ready`` event, and any
# backlog), then ``forward(event)`` for each event published on its channel; None ends
# the stream (its reader may no longer read it).
Forward = Callable[[bytes | None], Awaitable[list[ServerSentEventMessage] | None]]


async def live_stream(
    channels: LiveChannels, channel: str, forward: Forward
) -> AsyncIterator[ServerSentEventMessage]:
    """The mechanics of every live stream: ``retry``, heartbeats while Redis is away,
    ``forward(None)`` once subscribed, then ``forward(event)`` per event, until the
    subscription is lost or the browser leaves."""
    backend = channels.live_backend
    with counted_stream():
        yield ServerSentEventMessage(data=None, retry=RETRY_MS)
        # Redis away: hold the connection (a browser reconnecting in a loop would only
        # add load) and subscribe as soon as it is back.
        while not await backend.wait_live(HEARTBEAT_S):
            yield _PING
        generation = backend.generation
        async with channels.start_subscription([channel]) as subscription:
            if backend.generation != generation:
                return
            subscriber = cast(LiveSubscriber, subscription)
            first = await forward(None)
            if first is None:
                return
            for message in first:
                yield message
            while True:
                try:
                    event = await subscriber.next_event(HEARTBEAT_S)
                except TimeoutError:
                    # A loss between reading the generation and subscribing sent no
                    # end to this subscriber: the generation tells.
                    if backend.generation != generation:
                        return
                    yield _PING
                    continue
                if event is None:
                    return
                sent = await forward(event)
                if sent is None:
                    return
                for message in sent:
                    yield message


def conversation_channel(match_id: int) -> str:
    return f"conversation:{match_id}"


def conversation_push(redis: Redis, match_id: int, kind: str, ref: int) -> BackgroundTask:
    """The push of a conversation event as a response's background task: it runs once
    the request's transaction committed, so an open page reading the message on this
    push finds it (the API and the pages both answer with it)."""
    return BackgroundTask(publish_conversation_event, redis, match_id, kind, ref)


async def publish_conversation_event(redis: Redis, match_id: int, kind: str, ref: int) -> None:
    """Best effort, after the commit: a new message (``ref``: its id) or a change of the
    shared contacts. Only ids travel: each open page reads the message from PostgreSQL,
    so its text is never in Redis. A page that misses the push gets the message when
    its stream reconnects (it asks for what came after the last one it has)."""
    backend = RedisChannelsPubSubBackend(redis=redis)
    data = msgspec.json.encode({"type": kind, "id": ref})
    try:
        await backend.publish(data, [conversation_channel(match_id)])
    except RedisError as exc:
        log.warning("live push failed", error=type(exc).__name__)
