"""A conversation's live stream delivers every message, also one committed after a
later one (both sides writing at once): a real uvicorn server, a real HTTP stream,
Redis pub/sub in between."""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx
import uvicorn
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.notify.live import publish_conversation_event
from voisins.settings import Settings

from ..support.conversations import confirmed_pair
from .conftest import unused_port
from .sse import next_event, sse_events


def _message(event: dict[str, str]) -> bool:
    return event.get("event") == "message"


async def test_a_message_committed_after_a_later_one_still_arrives(
    settings: Settings, engine: AsyncEngine
) -> None:
    app = create_app(settings)
    async with AsyncTestClient(create_app(settings)) as setup:
        alice, vera, match_id = await confirmed_pair(setup)
    port = unused_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    serving = asyncio.create_task(server.serve())
    redis = Redis.from_url(settings.redis_url)
    try:
        for _ in range(200):  # uvicorn exposes no "started" event to wait on
            if server.started:
                break
            await asyncio.sleep(0.05)
        path = f"/api/v1/matches/{match_id}/conversation/events"
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client,
            client.stream("GET", path, headers=vera.headers) as stream,
            engine.connect() as slow,
        ):
            events = sse_events(stream)
            assert await next_event(events, lambda e: e.get("event") == "ready", 5)
            # Alice's first message takes its id, and is not committed yet...
            early = (
                await slow.execute(
                    text(
                        "INSERT INTO conversation_messages (match_id, side, author_id, body) "
                        "VALUES (:m, 'requester', :a, 'Premier') RETURNING id"
                    ),
                    {"m": match_id, "a": alice.id},
                )
            ).scalar_one()
            # ...when her second one is committed and pushed: the stream reads it.
            later = await client.post(
                f"/api/v1/matches/{match_id}/messages",
                json={"text": "Second"},
                headers=alice.headers,
            )
            assert later.status_code == 201, later.text
            got = await next_event(events, _message, 5)
            assert got is not None and got["id"] == str(later.json()["id"])
            # The first one is committed and pushed now: it must still come.
            await slow.commit()
            await publish_conversation_event(redis, match_id, "message", early)
            got = await next_event(events, _message, 5)
            assert got is not None and got["id"] == str(early)
            assert json.loads(got["data"])["text"] == "Premier"
            # A push for a message the stream sent already sends nothing again.
            await publish_conversation_event(redis, match_id, "message", early)
            third = await client.post(
                f"/api/v1/matches/{match_id}/messages",
                json={"text": "Troisième"},
                headers=alice.headers,
            )
            got = await next_event(events, _message, 5)
            assert got is not None and got["id"] == str(third.json()["id"])
    finally:
        await redis.aclose()
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(serving, 10)
