"""Posts put in a state by hand, as time would leave them: a published request whose
expiry has passed (``due_post``), a post the expiry job already closed (``expire``)."""

from __future__ import annotations

from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .people import Person, register
from .world import HOME_ALICE, post_body


async def due_post(client: AsyncTestClient, engine: AsyncEngine) -> tuple[Person, int]:
    """A new resident's published request whose expiry has passed (its author, its id)."""
    alice = await register(client)
    post = (
        await client.post("/api/v1/posts", json=post_body(HOME_ALICE), headers=alice.headers)
    ).json()
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE posts SET expires_at = now() - interval '1 minute' WHERE id = :id"),
            {"id": post["id"]},
        )
    return alice, int(post["id"])


async def expire(engine: AsyncEngine, post_id: int) -> None:
    """The post expired a day ago."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE posts SET status = 'expired', expires_at = now() - interval '1 day' "
                "WHERE id = :p"
            ),
            {"p": post_id},
        )
