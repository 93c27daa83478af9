"""Reminders: a proposition still unanswered half-way to its deadline is recalled to
the volunteer, once.

The sweep marks the match (``reminded_at``) and writes the outbox row in one
transaction, so a reminder happens once however many sweeps run; the fan-out asks
again whether the proposition still waits, so an answer given in between silences it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.outbox import emit

# SKIP LOCKED: a proposition being answered right now is not reminded.
_DUE = """
UPDATE matches SET reminded_at = :now
WHERE id IN (
    SELECT id FROM matches
    WHERE status = 'proposed' AND reminded_at IS NULL AND deadline_at > :now
      AND proposed_at + (deadline_at - proposed_at) / 2 <= :now
    ORDER BY deadline_at
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
)
RETURNING id
"""


async def remind_propositions(conn: AsyncConnection, *, now: datetime, limit: int = 1000) -> int:
    """Write one ``reminder`` event per proposition due for one; returns how many."""
    due = list((await conn.execute(text(_DUE), {"now": now, "limit": limit})).scalars())
    for match_id in due:
        await emit(conn, "reminder", match_id=match_id)
    return len(due)
