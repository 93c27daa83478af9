"""The roles an API client can have, as the headers that make a request theirs."""

from __future__ import annotations

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
