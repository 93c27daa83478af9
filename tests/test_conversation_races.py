"""Both sides of a conversation writing at once, 50 messages in flight on a real
server: no 500, each account held exactly to its limit, every accepted message stored
once, and each side told, at most once a message."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.settings import Settings

from .support.conversations import confirmed_pair
from .support.people import Person
from .support.servers import serving

EACH = 25  # per side; the default limit lets 20 a minute through


async def test_fifty_messages_at_once_from_both_sides(
    settings: Settings, engine: AsyncEngine
) -> None:
    async with AsyncTestClient(create_app(settings)) as setup:
        alice, vera, match_id = await confirmed_pair(setup)
    url = f"/api/v1/matches/{match_id}/messages"
    async with (
        serving(settings) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as client,
    ):

        async def write(who: Person, n: int) -> int:
            answer = await client.post(
                url,
                json={"text": f"Message {n}"},
                headers=who.headers,
            )
            return answer.status_code

        statuses = await asyncio.gather(
            *(write(person, n) for n in range(EACH) for person in (alice, vera))
        )
        writers = [who for _ in range(EACH) for who in ("alice", "vera")]
        by_side = Counter(zip(writers, statuses, strict=True))
        assert set(statuses) <= {201, 429}, Counter(statuses)
        limit = settings.limit_message_per_minute
        assert by_side[("alice", 201)] == by_side[("vera", 201)] == min(EACH, limit)
        conversation = {
            who: (await client.get(f"/api/v1/matches/{match_id}/conversation",
                                   headers=person.headers)).json()
            for who, person in (("alice", alice), ("vera", vera))
        }  # fmt: skip
    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT side, count(*) FROM conversation_messages WHERE match_id = :m "
                     "GROUP BY side"),
                {"m": match_id},
            )
        ).all()  # fmt: skip
        told = (
            await conn.execute(
                text("SELECT topic, count(*) FROM outbox WHERE topic LIKE 'conversation.%' "
                     "GROUP BY topic"),
            )
        ).all()  # fmt: skip
    assert dict(stored) == {"requester": min(EACH, limit), "volunteer": min(EACH, limit)}
    # What each side wrote, it has read; the other side's messages before its own last
    # one may be read or not depending on the order: never more than the other wrote.
    for who in ("alice", "vera"):
        assert 0 <= conversation[who]["unread"] <= min(EACH, limit)
    # Each side was told at least once, and never more than once a message: writing
    # marks read what came before, so when both sides alternate, each message may open
    # a new unread stretch.
    topics = dict(told)
    assert 1 <= topics["conversation.to_requester"] <= min(EACH, limit)
    assert 1 <= topics["conversation.to_volunteer"] <= min(EACH, limit)
