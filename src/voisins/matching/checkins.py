"""Weekly arrangements: «la visite d'aujourd'hui a eu lieu» (a check-in) keeps the
arrangement going; ending it for good is ``lifecycle.stop_arrangement``.

A check-in is recorded by either side of a confirmed weekly match (or a social worker
acting for the resident): the day, who, an optional short note. One per arrangement and
day (``UNIQUE (match_id, visited_on)``, sql/0008): saying it twice the same day is one
check-in, whose note the second may add. The centre's follow-up list reads these rows
to find missed visits (moderation/followups.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import msgspec
from msgspec import Meta
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.accounts.access import Viewer
from voisins.errors import Conflict, Invalid, NotFound
from voisins.matching.lifecycle import is_participant, lock_match
from voisins.request_bodies import Input
from voisins.schedule import paris_today

Note = Annotated[str, Meta(max_length=280)]


class VisitIn(Input):
    """Today's visit took place (the day defaults to today, Europe/Paris)."""

    note: Note | None = None
    visited_on: date | None = None


class StopIn(Input):
    """Ending a weekly arrangement for good (``lifecycle.stop_arrangement``); why is
    optional."""

    reason: Annotated[str, Meta(min_length=2, max_length=500)] | None = None


class CheckinEntry(msgspec.Struct, kw_only=True):
    id: int
    match_id: int
    visited_on: date
    # Who said it: the two sides know each other's names once the match is confirmed.
    by_name: str | None
    by_volunteer: bool
    note: str | None
    recorded_at: datetime


_ENTRY = """
SELECT c.id, c.match_id, c.visited_on, u.display_name AS by_name,
       c.author_id IS NOT DISTINCT FROM m.volunteer_id AS by_volunteer, c.note,
       c.created_at AS recorded_at
FROM checkins c JOIN matches m ON m.id = c.match_id
LEFT JOIN users u ON u.id = c.author_id AND u.status = 'active'
"""


async def record_visit(
    conn: AsyncConnection,
    viewer: Viewer,
    match_id: int,
    data: VisitIn,
    *,
    now: datetime,
    today: date | None = None,
) -> CheckinEntry:
    """Record that a visit of a weekly arrangement took place; the match stays
    confirmed. Only a confirmed match of a weekly post has visits. ``today``: the
    caller's day, when it has one (else today in Paris)."""
    match = await lock_match(conn, match_id)
    if not await is_participant(conn, viewer, match):
        raise NotFound("no such match")
    if match.schedule_kind != "weekly":
        raise Conflict("only weekly arrangements have visits to record; one-off help is done")
    if match.status != "confirmed":
        raise Conflict(f"a {match.status} arrangement has no visits to record")
    today = today or paris_today(now)
    day = data.visited_on or today
    if day > today:
        raise Invalid.field("visited_on", "cannot be in the future")
    if day < paris_today(match.confirmed_at) - timedelta(days=1):
        raise Invalid.field("visited_on", "is before the match was confirmed")
    note = (data.note or "").strip() or None
    await conn.execute(
        text(
            "INSERT INTO checkins (match_id, author_id, visited_on, note) "
            "VALUES (:m, :me, :d, :note) "
            "ON CONFLICT (match_id, visited_on) "
            "DO UPDATE SET note = COALESCE(EXCLUDED.note, checkins.note)"
        ),
        {"m": match_id, "me": viewer.id, "d": day, "note": note},
    )
    row = (
        await conn.execute(
            text(f"{_ENTRY} WHERE c.match_id = :m AND c.visited_on = :d"), {"m": match_id, "d": day}
        )
    ).one()
    return _entry(row)


def _entry(row: Any) -> CheckinEntry:
    return CheckinEntry(
        id=row.id,
        match_id=row.match_id,
        visited_on=row.visited_on,
        by_name=row.by_name,
        by_volunteer=row.by_volunteer,
        note=row.note,
        recorded_at=row.recorded_at,
    )


async def list_visits(conn: AsyncConnection, viewer: Viewer, match_id: int) -> list[CheckinEntry]:
    """The visits of one arrangement, newest first, for its two sides."""
    match = await lock_match(conn, match_id, lock=False)
    if not await is_participant(conn, viewer, match):
        raise NotFound("no such match")
    return (await visits_of(conn, [match_id])).get(match_id, [])


async def visits_of(
    conn: AsyncConnection, match_ids: Sequence[int], *, limit: int = 20
) -> dict[int, list[CheckinEntry]]:
    """The latest visits of each of ``match_ids``, newest first. For pages that list the
    viewer's own matches: the caller has already checked they are theirs."""
    if not match_ids:
        return {}
    rows = (
        await conn.execute(
            text(
                f"SELECT * FROM ({_ENTRY} WHERE c.match_id = ANY(:ids)) AS e "
                "ORDER BY e.match_id, e.visited_on DESC"
            ),
            {"ids": list(match_ids)},
        )
    ).all()
    found: dict[int, list[CheckinEntry]] = {}
    for row in rows:
        entries = found.setdefault(row.match_id, [])
        if len(entries) < limit:
            entries.append(_entry(row))
    return found
