"""The daily digest: what waited in status 'digest' goes out as one message a day.

Once a person's quiet hours end (their morning: 08:00 Europe/Paris by default), the
messages held for them since before that moment are gathered under one outbox event
``digest``; the fan-out then delivers that event like any other, on the channels the
gathered messages were meant for. Gathering marks the deliveries 'digested' with the
event's id, in the same transaction, so a sweep that runs twice gathers once and the
digest lists exactly what it took.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from voisins.logs import get_logger
from voisins.notify.preferences import in_quiet_hours, last_end_of_quiet, preferences_from_row
from voisins.outbox import emit

log = get_logger(__name__)

_WAITING = """
SELECT d.user_id, min(d.created_at) AS oldest,
       p.channels, p.quiet_start, p.quiet_end, p.urgent_breaks_quiet, p.digest, p.daily_cap,
       p.email_unsubscribed, p.last_digest_at
FROM deliveries d LEFT JOIN notification_preferences p ON p.user_id = d.user_id
WHERE d.status = 'digest'
GROUP BY d.user_id, p.user_id
"""


def digest_morning(row: Any, now: datetime) -> datetime | None:
    """The morning a digest is due for (once a day, after quiet hours, when something
    waits since before that morning and no digest went out since); None when not due."""
    prefs = preferences_from_row(row)
    if in_quiet_hours(now, prefs):
        return None
    morning = last_end_of_quiet(now, prefs)
    if row.last_digest_at is not None and row.last_digest_at >= morning:
        return None
    return morning if row.oldest < morning else None


async def _gather(
    conn: AsyncConnection, user_id: int, *, morning: datetime, now: datetime
) -> int | None:
    """One person's digest event, or None when another sweep gathered it first."""
    # Locking the preferences row serialises concurrent sweeps for this person.
    await conn.execute(
        text(
            "INSERT INTO notification_preferences (user_id) VALUES (:u) "
            "ON CONFLICT (user_id) DO NOTHING"
        ),
        {"u": user_id},
    )
    last = (
        await conn.execute(
            text(
                "SELECT last_digest_at FROM notification_preferences WHERE user_id = :u FOR UPDATE"
            ),
            {"u": user_id},
        )
    ).scalar()
    if last is not None and last >= morning:
        return None
    channels = list(
        (
            await conn.execute(
                text(
                    "SELECT DISTINCT channel FROM deliveries "
                    "WHERE user_id = :u AND status = 'digest' ORDER BY channel"
                ),
                {"u": user_id},
            )
        ).scalars()
    )
    if not channels:
        return None
    event_id = await emit(conn, "digest", user_id=user_id, channels=",".join(channels))
    await conn.execute(
        text(
            "UPDATE deliveries SET status = 'digested', digest_id = :event "
            "WHERE user_id = :u AND status = 'digest'"
        ),
        {"event": event_id, "u": user_id},
    )
    await conn.execute(
        text("UPDATE notification_preferences SET last_digest_at = :now WHERE user_id = :u"),
        {"now": now, "u": user_id},
    )
    return event_id


async def compose_digests(engine: AsyncEngine, *, now: datetime) -> list[int]:
    """Write the digest events that are due; the relay then dispatches them."""
    async with engine.connect() as conn:
        waiting = (await conn.execute(text(_WAITING))).all()
    events = []
    for row in waiting:
        morning = digest_morning(row, now)
        if morning is None:
            continue
        # One transaction per person: one person's failure does not hold the others.
        async with engine.begin() as conn:
            event_id = await _gather(conn, row.user_id, morning=morning, now=now)
        if event_id is not None:
            events.append(event_id)
    if events:
        log.info("digests composed", count=len(events))
    return events
