"""The roles an API client can have, as the headers that make a request theirs."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from .people import Person, register, staff
from .world import World

ROLES = ("anonymous", "resident", "volunteer", "social_worker", "admin")


def role_headers(world: World, role: str) -> dict[str, str]:
    """Bearer tokens of the seeded world's people: Alice (a resident with posts), Vera
    (a vetted volunteer with matches), the Goutte d'Or's social worker and the admin,
    both logged in with their TOTP code."""
    people = {
        "resident": world.alice,
        "volunteer": world.vera,
        "social_worker": world.worker_18,
        "admin": world.admin,
    }
    if role == "anonymous":
        return {}
    return dict(people[role].headers)


async def spare(
    client: AsyncTestClient, engine: AsyncEngine, world: World, role: str
) -> Person | None:
    """Another person of the same role, for the operations that end a session or an
    account (log out, erase my account): run with the role's own token, they would
    leave the rest of a fuzzing run anonymous."""
    if role == "anonymous":
        return None
    if role == "social_worker":
        return await staff(client, engine, centre_ids=(world.centre_18,))
    if role == "admin":
        return await staff(client, engine, role="admin")
    return await register(client, "Spare")


async def with_conversations(client: AsyncTestClient, world: World) -> int:
    """Conversations in the seeded world (after ``with_matches``), so that every
    conversation operation meets real ones: Vera accepts Alice's request (confirmed)
    and they write to each other; worker_18 approves Odile's first visit and writes to
    Vera for her; Alice reports one of Vera's messages, which brings that conversation
    to the Goutte d'Or's social workers: returns that report's id."""

    async def ok(response: Any, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    async def write(who: Person, match: str, words: str) -> int:
        sent = await client.post(
            f"/api/v1/matches/{world.matches[match]}/messages",
            json={"text": words},
            headers=who.headers,
        )
        return int((await ok(sent, 201))["id"])

    alice_vera = world.matches["alice_vera"]
    accepted = await client.post(f"/api/v1/matches/{alice_vera}/accept", headers=world.vera.headers)
    assert (await ok(accepted))["status"] == "confirmed"
    from_vera = await write(world.vera, "alice_vera", "Bonjour Alice, je passe samedi à 10 h ?")
    await write(world.alice, "alice_vera", "Oui, merci beaucoup !")
    approved = await client.post(
        f"/api/v1/matches/{world.matches['odile_vera_1']}/approve",
        json={"reason": "Bénévole vérifiée, connue du centre"},
        headers=world.worker_18.headers,
    )
    assert (await ok(approved))["status"] == "confirmed"
    await write(world.worker_18, "odile_vera_1", "Bonjour, Odile vous attend jeudi.")
    await write(world.vera, "odile_vera_1", "Très bien, à jeudi.")
    report = await client.post(
        "/api/v1/reports",
        json={"message_id": from_vera, "reason": "inappropriate"},
        headers=world.alice.headers,
    )
    return int((await ok(report, 201))["id"])
