"""The seeded neighbourhood builds through the API (the other tests rely on it)."""

from __future__ import annotations

from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from .support.world import build_world


async def test_world_builds(client: AsyncTestClient, engine: AsyncEngine) -> None:
    world = await build_world(client, engine)
    odile_post = await client.get(
        f"/api/v1/posts/{world.posts['odile']}", headers=world.worker_18.headers
    )
    print(odile_post.json())
    assert odile_post.json()["sensitive"] is True
