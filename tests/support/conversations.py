"""Two people with a confirmed match, hence an open conversation, made through the API
(tests/test_conversations.py, tests/test_conversation_lifecycle.py)."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from .people import Person, register
from .world import HOME_ALICE, HOME_VERA, post_body, volunteer_body


async def confirmed_pair(client: AsyncTestClient) -> tuple[Person, Person, int]:
    """Alice's request (peer to peer: not sensitive) accepted by the volunteer Vera:
    (alice, vera, match id). Both have a phone number on their account."""
    vera = await register(client, "Vera", phone="06 11 22 33 44")
    response = await client.put(
        "/api/v1/me/volunteer", json=volunteer_body(HOME_VERA), headers=vera.headers
    )
    assert response.status_code == 200, response.text
    alice = await register(client, "Alice", phone="06 55 66 77 88")
    created = await client.post("/api/v1/posts", json=post_body(HOME_ALICE), headers=alice.headers)
    assert created.status_code == 201, created.text
    [proposition] = (await client.get("/api/v1/me/propositions", headers=vera.headers)).json()[
        "items"
    ]
    accepted = await client.post(
        f"/api/v1/matches/{proposition['id']}/accept", headers=vera.headers
    )
    assert accepted.json()["status"] == "confirmed"
    return alice, vera, int(proposition["id"])
