"""`voisins demo` loads a living neighbourhood once, and only once."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.demo import load_demo
from voisins.settings import Settings


async def test_demo_loads_people_posts_and_propositions_idempotently(
    engine: AsyncEngine, settings: Settings
) -> None:
    first = await load_demo(engine, settings)
    assert first.created is True
    second = await load_demo(engine, settings)
    assert second.created is False
    async with engine.connect() as conn:
        counts = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM centres), (SELECT count(*) FROM volunteers), "
                    "(SELECT count(*) FROM posts WHERE status = 'published'), "
                    "(SELECT count(*) FROM matches), (SELECT count(*) FROM consents)"
                )
            )
        ).one()
    centres, volunteers, published, matches, consents = counts
    assert (centres, volunteers, consents) == (2, 14, 1)
    assert published >= 20
    assert matches > 0, "demo volunteers should have propositions to look at"
