"""The transactional outbox: the one way lower modules ask for a notification.

A state change that must notify someone calls ``emit`` on the connection of its own
transaction, so the event exists if and only if the change committed. The
notification worker reads these rows; nothing here knows about channels.
"""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def emit(conn: AsyncConnection, topic: str, **payload: int | str | None) -> int:
    """Write one outbox row; ``payload`` holds ids (never addresses or coordinates)."""
    return int(
        (
            await conn.execute(
                text(
                    "INSERT INTO outbox (topic, payload) VALUES (:topic, CAST(:payload AS jsonb)) "
                    "RETURNING id"
                ),
                {"topic": topic, "payload": json.dumps(payload)},
            )
        ).scalar_one()
    )
