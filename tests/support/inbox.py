"""An inbox message stored as the notification worker would leave it, without running
the worker (``unread_proposition``)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def unread_proposition(engine: AsyncEngine, user_id: int) -> int:
    """A new, unread «Nouvelle proposition» in ``user_id``'s inbox; answers its event."""
    async with engine.begin() as conn:
        event = (
            await conn.execute(
                text("INSERT INTO outbox (topic, payload) VALUES ('match.proposed', '{}') "
                     "RETURNING id")
            )
        ).scalar_one()  # fmt: skip
        await conn.execute(
            text(
                "INSERT INTO notifications (user_id, event_id, kind, title, body) "
                "VALUES (:u, :e, 'match.proposed', 'Nouvelle proposition', 'Pouvez-vous aider ?')"
            ),
            {"u": user_id, "e": event},
        )
    return int(event)
