"""Conversations between the two sides of a confirmed match (issue 15): who may read
and write, contacts as a choice, and what a message report brings to the centre."""

from __future__ import annotations

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .support.conversations import confirmed_pair


async def test_two_sides_write_and_read_without_sharing_numbers(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    alice, vera, match_id = await confirmed_pair(client)
    sent = await client.post(
        f"/api/v1/matches/{match_id}/messages", json={"text": "Bonjour Alice"}, headers=vera.headers
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["mine"] is True and sent.json()["side"] == "volunteer"
    conversation = (
        await client.get(f"/api/v1/matches/{match_id}/conversation", headers=alice.headers)
    ).json()
    assert conversation["unread"] == 1 and conversation["my_side"] == "requester"
    assert conversation["their_contacts"] == {"phone": None, "email": None}
    messages = (
        await client.get(f"/api/v1/matches/{match_id}/messages", headers=alice.headers)
    ).json()
    assert [m["text"] for m in messages] == ["Bonjour Alice"]
    assert messages[0]["mine"] is False
    # Nothing shared by default: the proposition names Alice, without her number.
    mine = (await client.get(f"/api/v1/me/propositions/{match_id}", headers=vera.headers)).json()
    assert mine["requester"]["phone"] is None and mine["requester"]["email"] is None
    shared = await client.put(
        f"/api/v1/matches/{match_id}/contacts",
        json={"phone": True, "email": False},
        headers=alice.headers,
    )
    assert shared.status_code == 200, shared.text
    mine = (await client.get(f"/api/v1/me/propositions/{match_id}", headers=vera.headers)).json()
    assert mine["requester"]["phone"] == "06 55 66 77 88" and mine["requester"]["email"] is None
    async with engine.connect() as conn:
        topics = (
            await conn.execute(text("SELECT topic, payload::text FROM outbox ORDER BY id"))
        ).all()
    assert ("conversation.to_requester") in [t.topic for t in topics]
    assert all("Bonjour" not in t.payload for t in topics)
