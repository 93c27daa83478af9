"""Live events through Redis restarts (issue 13): a real uvicorn server, real HTTP
streams, a private redis-server killed and started again."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from structlog.testing import capture_logs

from voisins.app import create_app
from voisins.notify import live
from voisins.notify.live import LiveChannels, publish_inbox_events
from voisins.notify.live_backend import ResilientRedisPubSubBackend
from voisins.settings import Settings

from ..support.people import Person, register
from ..support.redis_server import PrivateRedis, private_redis
from ..support.servers import serving
from .sse import is_notification, is_ping, is_ready, never, next_event, sse_events

# Reconnection backs off to at most 5 s between attempts (notify/live_backend.py).
RECONNECT_S = 15.0


@pytest.fixture
def redis_server() -> Iterator[PrivateRedis]:
    with private_redis() as server:
        yield server


@pytest.fixture
def private_settings(settings: Settings, redis_server: PrivateRedis) -> Settings:
    return msgspec.structs.replace(settings, redis_url=redis_server.url(0))


@pytest.fixture(autouse=True)
def fast_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "HEARTBEAT_S", 0.5)


@pytest.fixture
async def vera(private_settings: Settings) -> Person:
    async with AsyncTestClient(create_app(private_settings)) as setup:
        return await register(setup, "Vera")


@pytest.fixture
async def api(private_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        serving(private_settings) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(10.0)) as client,
    ):
        yield client


async def publish(server: PrivateRedis, user_id: int, event_id: int) -> None:
    # A client of its own each time: a pooled connection would be dead after a restart.
    redis = Redis.from_url(server.url(0))
    try:
        await publish_inbox_events(redis, [user_id], event_id)
    finally:
        await redis.aclose()


def notification(event_id: int) -> str:
    return msgspec.json.encode({"type": "notification", "event_id": event_id}).decode()


async def test_an_open_stream_ends_when_redis_goes_and_a_new_one_gets_events_when_it_is_back(
    api: httpx.AsyncClient,
    vera: Person,
    redis_server: PrivateRedis,
) -> None:
    with capture_logs() as logs:
        await outage_and_return(api, vera, redis_server)
    warnings = [entry["event"] for entry in logs if entry["log_level"] == "warning"]
    # Once per outage, and never whose inbox it was.
    assert warnings.count("live events subscription lost; reconnecting") == 1
    assert warnings.count("live events subscription restored") == 1
    assert "inbox:" not in repr(logs)


async def outage_and_return(
    api: httpx.AsyncClient, vera: Person, redis_server: PrivateRedis
) -> None:
    async with api.stream("GET", "/api/v1/me/events", headers=vera.headers) as before:
        events = sse_events(before)
        assert await next_event(events, is_ready, 10)
        await publish(redis_server, vera.id, 1)
        received = await next_event(events, is_notification, 5)
        assert received is not None and received["data"] == notification(1)

        redis_server.kill()
        # The stream ends (its browser reconnects) instead of staying open and silent.
        assert await next_event(events, never, 10) is None

    down = await api.get("/health/ready")
    assert down.status_code == 503
    assert down.json()["checks"]["live_events"]["ok"] is False
    assert down.json()["checks"]["live_events"]["detail"].startswith("reconnecting since ")

    async with api.stream("GET", "/api/v1/me/events", headers=vera.headers) as during:
        events = sse_events(during)
        # Held open with heartbeats, not "ready" while nothing can arrive.
        first = await next_event(events, lambda e: is_ping(e) or is_ready(e), 5)
        assert first is not None and is_ping(first)

        redis_server.start()
        assert await next_event(events, is_ready, RECONNECT_S)
        await publish(redis_server, vera.id, 2)
        received = await next_event(events, is_notification, 5)
        assert received is not None and received["data"] == notification(2)

    up = await api.get("/health/ready")
    assert up.status_code == 200, up.text
    assert up.json()["checks"]["live_events"] == {"ok": True}


async def test_after_a_quick_restart_a_reconnecting_stream_receives_events(
    api: httpx.AsyncClient, vera: Person, redis_server: PrivateRedis
) -> None:
    async with api.stream("GET", "/api/v1/me/events", headers=vera.headers) as before:
        events = sse_events(before)
        assert await next_event(events, is_ready, 10)
        redis_server.restart()
        assert await next_event(events, never, 10) is None

    # What the browser's EventSource does when its stream ended.
    async with api.stream("GET", "/api/v1/me/events", headers=vera.headers) as after:
        events = sse_events(after)
        assert await next_event(events, is_ready, RECONNECT_S)
        await publish(redis_server, vera.id, 3)
        received = await next_event(events, is_notification, 5)
        assert received is not None and received["data"] == notification(3)


async def test_the_app_stops_within_bounds_when_redis_stops_answering(
    private_settings: Settings, redis_server: PrivateRedis
) -> None:
    assert redis_server.process is not None
    client = AsyncTestClient(create_app(private_settings))
    await client.__aenter__()
    try:
        assert (await client.get("/health/ready")).json()["checks"]["live_events"]["ok"]
        # Frozen, not gone: its connections stay open and nothing answers.
        redis_server.process.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        await client.__aexit__(None, None, None)
        stopped_in = time.monotonic() - started
    finally:
        redis_server.process.send_signal(signal.SIGCONT)
    assert stopped_in < LiveChannels.SHUTDOWN_S + 3, stopped_in


async def test_a_frozen_redis_is_noticed_by_its_silence_and_streams_resume_after(
    api: httpx.AsyncClient,
    vera: Person,
    redis_server: PrivateRedis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Frozen, the server keeps its connections open: only unanswered pings tell.
    monkeypatch.setattr(ResilientRedisPubSubBackend, "PING_EVERY_S", 0.3)
    assert redis_server.process is not None
    async with api.stream("GET", "/api/v1/me/events", headers=vera.headers) as before:
        events = sse_events(before)
        assert await next_event(events, is_ready, 10)
        redis_server.process.send_signal(signal.SIGSTOP)
        try:
            assert await next_event(events, never, 10) is None
            down = await api.get("/health/ready")
            assert down.json()["checks"]["live_events"]["ok"] is False
        finally:
            redis_server.process.send_signal(signal.SIGCONT)

    async with api.stream("GET", "/api/v1/me/events", headers=vera.headers) as after:
        events = sse_events(after)
        assert await next_event(events, is_ready, RECONNECT_S)
        await publish(redis_server, vera.id, 4)
        received = await next_event(events, is_notification, 5)
        assert received is not None and received["data"] == notification(4)


async def test_a_subscription_lost_as_soon_as_made_is_not_made_again_at_once(
    redis_server: PrivateRedis,
) -> None:
    # Every pub/sub connection killed within ~10 ms of its making: the reader must wait
    # between attempts (a loop reconnecting at once starved the event loop in CI), and
    # end when asked to even without a cancellation.
    redis = Redis.from_url(redis_server.url(0))
    killer = Redis.from_url(redis_server.url(0))
    backend = ResilientRedisPubSubBackend(redis)
    await backend.on_startup()

    async def read_everything() -> None:
        async for _ in backend.stream_events():
            pass

    reader = asyncio.ensure_future(read_everything())
    try:
        kills = 0
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            kills += await killer.client_kill_filter(_type="pubsub")
            await asyncio.sleep(0.01)
        backend.stop()
        ends_within = ResilientRedisPubSubBackend.BACKOFF_MAX_S + 2
        await asyncio.wait_for(asyncio.shield(reader), ends_within)
    finally:
        reader.cancel()
        await backend.on_shutdown()
        await killer.aclose()
        await redis.aclose()
    # Waits of 0.2, 0.4, 0.8 and 1.6 s fit in 3 s: a handful of losses, not one per kill.
    assert 1 <= backend.generation <= 5, (backend.generation, kills)
