"""A conversation's live stream delivers every message, also one committed after a
later one (both sides writing at once): a real uvicorn server, a real HTTP stream,
Redis pub/sub in between."""

from __future__ import annotations

import json

import httpx
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.notify.live import publish_conversation_event
from voisins.settings import Settings

from ..support.conversations import confirmed_pair
from ..support.servers import serving
from .sse import next_event, sse_events


def _message(event: dict[str, str]) -> bool:
    return event.get("event") == "message"


async def test_a_message_committed_after_a_later_one_still_arrives(
    settings: Settings, engine: AsyncEngine
) -> None:
    async with AsyncTestClient(create_app(settings)) as setup:
        alice, vera, match_id = await confirmed_pair(setup)
    redis = Redis.from_url(settings.redis_url)
    path = f"/api/v1/matches/{match_id}/conversation/events"
    try:
        async with (
            serving(settings) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=10) as client,
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


async def test_a_stream_opened_without_a_starting_point_sends_what_comes_next(
    settings: Settings,
) -> None:
    """No ``after`` and no Last-Event-ID: the stream starts at the latest message, not
    at the beginning of the conversation (whose oldest 200 would come first)."""
    async with AsyncTestClient(create_app(settings)) as setup:
        alice, vera, match_id = await confirmed_pair(setup)
        for words in ("Un", "Deux"):
            old = await setup.post(
                f"/api/v1/matches/{match_id}/messages", json={"text": words}, headers=alice.headers
            )
            assert old.status_code == 201
    path = f"/api/v1/matches/{match_id}/conversation/events"
    async with (
        serving(settings) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=10) as client,
        client.stream("GET", path, headers=vera.headers) as stream,
    ):
        events = sse_events(stream)
        assert await next_event(events, lambda e: e.get("event") == "ready", 5)
        new = await client.post(
            f"/api/v1/matches/{match_id}/messages", json={"text": "Trois"}, headers=alice.headers
        )
        got = await next_event(events, _message, 5)
        assert got is not None and got["id"] == str(new.json()["id"])
        assert json.loads(got["data"])["text"] == "Trois"


async def test_a_stream_ends_once_its_session_ends(settings: Settings) -> None:
    """Signed out (or suspended: the sessions end) while a stream is open: the next
    message is not sent on it, the stream ends, and reopening it is refused."""
    async with AsyncTestClient(create_app(settings)) as setup:
        alice, vera, match_id = await confirmed_pair(setup)
    path = f"/api/v1/matches/{match_id}/conversation/events?after=0"
    async with (
        serving(settings) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=10) as client,
    ):
        async with client.stream("GET", path, headers=vera.headers) as stream:
            events = sse_events(stream)
            assert await next_event(events, lambda e: e.get("event") == "ready", 5)
            ended = await client.post("/api/v1/auth/logout", headers=vera.headers)
            assert ended.status_code == 200
            sent = await client.post(
                f"/api/v1/matches/{match_id}/messages",
                json={"text": "Vous êtes là ?"},
                headers=alice.headers,
            )
            assert sent.status_code == 201
            assert await next_event(events, _message, 5) is None  # ended, nothing sent
        reopened = await client.get(path, headers=vera.headers)
        assert reopened.status_code == 401
