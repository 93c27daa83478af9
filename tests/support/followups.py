"""A request on a centre's follow-up list, as the job that finds unanswered requests
would put it there (``no_response_followup``)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def no_response_followup(engine: AsyncEngine, post_id: int, centre_id: int) -> int:
    """The follow-up item's id."""
    async with engine.begin() as conn:
        return int(
            (
                await conn.execute(
                    text(
                        "INSERT INTO followups (reason, post_id, centre_id) "
                        "VALUES ('no_response', :p, :c) RETURNING id"
                    ),
                    {"p": post_id, "c": centre_id},
                )
            ).scalar_one()
        )
