"""A Litestar channels backend on Redis pub/sub that survives Redis restarts.

Litestar's ``RedisChannelsPubSubBackend`` reads with one pub/sub connection for the
life of the process: when Redis goes away, ``get_message`` raises once, the plugin's
reader task dies with it, and every stream stays open receiving nothing, forever. This
backend keeps reading: on a lost connection it reports ``LOST`` (so the plugin can end
the streams, whose browsers then reconnect), drops the pub/sub connection and opens a
new one with backoff, subscribing again to every channel still wanted."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Iterable
from typing import Any

from litestar.channels.backends.base import ChannelsBackend
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from voisins.logs import get_logger

log = get_logger(__name__)

# Yielded by ``stream_events`` as the channel name when the subscription was lost: no
# real channel can have it (real ones are "inbox:<id>").
LOST = "\x00lost"
# Always subscribed, so the connection is in pub/sub mode (and a lost one noticed) even
# while no stream is open.
CONTROL_CHANNEL = "voisins:live:control"
# Errors that mean "the connection is gone" (OSError: a socket error redis-py let through).
CONNECTION_ERRORS = (RedisError, OSError, asyncio.TimeoutError)


class ResilientRedisPubSubBackend(ChannelsBackend):
    # Attempts to reconnect wait from the least to the most, doubling each time.
    BACKOFF_MIN_S = 0.2
    BACKOFF_MAX_S = 5.0
    # A ping when nothing was heard for this long; three without an answer: lost.
    PING_EVERY_S = 5.0
    # A new connection is live once Redis confirmed the subscription within this.
    CONFIRM_S = 2.0
    # Reads wake up this often to ping and to notice a failed (un)subscribe.
    READ_TIMEOUT_S = 1.0
    CLOSE_TIMEOUT_S = 2.0
    # A connection that lasted this long was healthy: after losing it, reconnecting
    # starts again from the shortest wait.
    STABLE_S = 30.0

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._pubsub: PubSub | None = None
        self._wanted: set[str] = set()
        self._broken = False
        self._lock = asyncio.Lock()
        self._up = asyncio.Event()
        self._closing: set[asyncio.Task[None]] = set()
        self._last_heard = self._last_ping = self._connected_at = 0.0
        self.stopping = False
        # Wall-clock time since when events do not flow (None: they do). Starts "down":
        # nothing is subscribed until the reader first connects.
        self.down_since: float | None = time.time()
        # Bumped at each loss: a stream that subscribed under another generation may have
        # missed events, so it must end.
        self.generation = 0

    @property
    def live(self) -> bool:
        return self._up.is_set()

    async def wait_live(self, timeout_s: float) -> bool:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._up.wait(), timeout_s)
        return self._up.is_set()

    async def on_startup(self) -> None:
        # One attempt, so that a fresh API is ready at once; if Redis is down, the
        # reader keeps trying (Redis down at start-up must not stop the API).
        await self._connect()

    async def on_shutdown(self) -> None:
        self._up.clear()
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            await self._close(pubsub)
        for task in list(self._closing):
            task.cancel()

    async def subscribe(self, channels: Iterable[str]) -> None:
        # Never raises: Litestar's plugin has already registered the subscriber, and a
        # raise here would leave it registered with no Redis subscription behind it.
        async with self._lock:
            channels = set(channels)
            self._wanted |= channels
            if self._pubsub is not None:
                try:
                    await self._pubsub.subscribe(*channels)
                except CONNECTION_ERRORS:
                    self._broken = True

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        async with self._lock:
            channels = set(channels)
            self._wanted -= channels
            if self._pubsub is not None:
                try:
                    await self._pubsub.unsubscribe(*channels)
                except CONNECTION_ERRORS:
                    self._broken = True

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for channel in set(channels):
                pipe.publish(channel, data)
            await pipe.execute()

    async def get_history(self, channel: str, limit: int | None = None) -> list[bytes]:
        raise NotImplementedError("pub/sub keeps no history")

    def stop(self) -> None:
        """Ask the reader to end at its next turn, should a cancellation not reach it
        (redis-py's pub/sub can swallow one, redis/redis-py#3941)."""
        self.stopping = True

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        delay = self.BACKOFF_MIN_S
        while not self.stopping:
            if self._pubsub is None and not await self._connect():
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.BACKOFF_MAX_S)
                continue
            try:
                message = await self._read()
            except CONNECTION_ERRORS as exc:
                if time.monotonic() - self._connected_at > self.STABLE_S:
                    delay = self.BACKOFF_MIN_S
                self.drop(exc)
                yield LOST, b""
                # Never straight back: a connection lost as soon as it was made would
                # otherwise be made again at once, in a loop that never waits for
                # anything (seen in CI: thousands of reconnections a second, the event
                # loop starved, the app never finished stopping).
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.BACKOFF_MAX_S)
                continue
            if message is not None and message.get("type") == "message":
                channel = message["channel"]
                yield (channel.decode() if isinstance(channel, bytes) else channel), message["data"]

    async def _connect(self) -> bool:
        async with self._lock:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(CONTROL_CHANNEL, *self._wanted)
                confirmed = await self._confirmed(pubsub)
            except CONNECTION_ERRORS:
                confirmed = False
            if not confirmed:
                self._close_soon(pubsub)
                return False
            self._pubsub = pubsub
            self._broken = False
            self._last_heard = self._last_ping = self._connected_at = time.monotonic()
            down_since, self.down_since = self.down_since, None
            self._up.set()
            if down_since is not None and self.generation:
                with contextlib.suppress(Exception):
                    log.warning(
                        "live events subscription restored",
                        down_s=round(time.time() - down_since, 1),
                    )
            return True

    async def _confirmed(self, pubsub: PubSub) -> bool:
        # A frozen Redis accepts connections and commands, and answers nothing.
        deadline = time.monotonic() + self.CONFIRM_S
        while (left := deadline - time.monotonic()) > 0:
            message = await pubsub.get_message(timeout=left)
            if message is not None and message.get("type") == "subscribe":
                return True
        return False

    async def _read(self) -> dict[str, Any] | None:
        pubsub = self._pubsub
        assert pubsub is not None
        if self._broken:
            raise ConnectionError("a subscribe or unsubscribe command failed")
        now = time.monotonic()
        # A connection that hears nothing, not even its pongs, is dead without having
        # been closed (a half-open TCP connection): give up on it.
        if now - self._last_heard > 3 * self.PING_EVERY_S:
            raise TimeoutError("no answer to pings")
        if now - self._last_ping > self.PING_EVERY_S:
            self._last_ping = now
            await pubsub.ping()
        message = await pubsub.get_message(
            ignore_subscribe_messages=True, timeout=self.READ_TIMEOUT_S
        )
        if message is not None:
            self._last_heard = time.monotonic()
        return message

    def drop(self, exc: BaseException) -> None:
        """Give the current subscription up (if any): the next read opens a new one."""
        if self._pubsub is None:
            return
        self._up.clear()
        self.generation += 1
        self.down_since = time.time()
        pubsub, self._pubsub = self._pubsub, None
        self._close_soon(pubsub)
        # Once per outage: reconnect attempts are silent until "restored".
        with contextlib.suppress(Exception):  # a failing log must not stop the reader
            log.warning("live events subscription lost; reconnecting", error=type(exc).__name__)

    def _close_soon(self, pubsub: PubSub) -> None:
        task = asyncio.ensure_future(self._close(pubsub))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close(self, pubsub: PubSub) -> None:
        # Bounded: redis-py may stall in aclose on a dead connection (redis/redis-py#3941).
        closing = asyncio.ensure_future(pubsub.aclose())
        done, _ = await asyncio.wait({closing}, timeout=self.CLOSE_TIMEOUT_S)
        if not done:
            closing.cancel()
        elif not closing.cancelled():
            closing.exception()  # retrieved and dropped: the connection is gone anyway
