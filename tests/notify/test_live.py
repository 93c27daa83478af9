"""Server-Sent Events: a connected browser receives its inbox events live (a real
uvicorn server, a real HTTP stream, Redis pub/sub in between)."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest
import uvicorn
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from voisins.app import create_app
from voisins.notify import live
from voisins.notify.live import publish_inbox_events
from voisins.settings import Settings

from ..support.people import register
from ..support.ports import free_port
from ..support.servers import serving
from .sse import is_ready, next_event, sse_events


async def test_a_connected_client_receives_its_event_and_not_others(settings: Settings) -> None:
    app = create_app(settings)
    async with AsyncTestClient(create_app(settings)) as setup:
        vera = await register(setup, "Vera")
        other = await register(setup, "Other")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    serving = asyncio.create_task(server.serve())
    redis = Redis.from_url(settings.redis_url)
    try:
        for _ in range(200):  # uvicorn exposes no "started" event to wait on
            if server.started:
                break
            await asyncio.sleep(0.05)
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client,
            client.stream("GET", "/api/v1/me/events", headers=vera.headers) as stream,
        ):
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()

            async def next_data() -> str:
                async for line in lines:
                    if line.startswith("data:"):
                        return line[5:].strip()
                raise AssertionError("stream ended")

            assert await asyncio.wait_for(next_data(), 5) == "ready"
            await publish_inbox_events(redis, [other.id], 41)
            await publish_inbox_events(redis, [vera.id], 42)
            received = await asyncio.wait_for(next_data(), 5)
        assert received == '{"type":"notification","event_id":42}'
    finally:
        await redis.aclose()
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(serving, 10)


async def test_events_need_a_login(client: AsyncTestClient) -> None:
    response = await client.get("/api/v1/me/events")
    assert response.status_code == 401


async def test_an_idle_stream_sends_heartbeats_and_is_counted_while_open(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "HEARTBEAT_S", 0.2)
    async with AsyncTestClient(create_app(settings)) as setup:
        vera = await register(setup, "Vera")
    async with (
        serving(settings) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=10) as client,
    ):
        async with client.stream("GET", "/api/v1/me/events", headers=vera.headers) as response:
            events = sse_events(response)
            # Browsers wait this long before reconnecting a stream that ended.
            assert await next_event(events, lambda e: True, 5) == {"retry": str(live.RETRY_MS)}
            assert await next_event(events, is_ready, 5)
            assert live.open_streams() == 1
            for _ in range(3):
                assert await next_event(events, lambda e: True, 2) == {"comment": "ping"}
        for _ in range(100):  # the server notices the browser left
            if live.open_streams() == 0:
                break
            await asyncio.sleep(0.05)
        assert live.open_streams() == 0


async def test_a_user_s_channel_is_forgotten_once_their_last_stream_ends(
    settings: Settings,
) -> None:
    channels = live.live_channels(settings)
    async with channels:
        async with channels.start_subscription([live.inbox_channel(7)]):
            async with channels.start_subscription([live.inbox_channel(7)]):
                pass
            assert live.inbox_channel(7) in channels._channels  # one stream still open
        # Otherwise the map would hold every user who ever opened a page.
        assert live.inbox_channel(7) not in channels._channels
