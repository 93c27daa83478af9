"""A social worker acting for an assisted resident (no digital access) on the answers
to their requests: «c'est fait», cancelling, and the feedback, as the resident would
from their own pages.

The life cycle's own functions do the work (matching/lifecycle.py: the same rules, the
history records the worker as the one who acted); this module checks that the answer is
to this resident's request and that the worker acts for them (a consent recorded
through one of their centres), and traces every act in the audit log, since someone
acts in another person's name. The feedback is the resident's: one per answer, whoever
of the centre gives it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import audit
from voisins.accounts.access import Viewer
from voisins.accounts.assisted import can_act_for
from voisins.errors import Conflict, Forbidden, NotFound
from voisins.matching import lifecycle
from voisins.matching.schemas import Feedback, FeedbackIn
from voisins.settings import Settings


async def resident_for(conn: AsyncConnection, viewer: Viewer, post_id: int) -> int | None:
    """The assisted resident who wrote ``post_id`` when ``viewer`` acts for them;
    None otherwise (someone else's post, or a social worker of another centre)."""
    if not viewer.is_social_worker:
        return None
    author = (
        await conn.execute(
            text(
                "SELECT p.author_id FROM posts p JOIN users a ON a.id = p.author_id "
                "WHERE p.id = :p AND a.assisted"
            ),
            {"p": post_id},
        )
    ).scalar()
    if author is None or not await can_act_for(conn, viewer, author):
        return None
    return int(author)


async def _answer_of(conn: AsyncConnection, viewer: Viewer, resident_id: int, match_id: int) -> Any:
    if not await can_act_for(conn, viewer, resident_id):
        raise Forbidden("you do not act for this resident")
    row = (
        await conn.execute(
            text(
                "SELECT m.post_id, m.volunteer_id FROM matches m JOIN posts p ON p.id = m.post_id "
                "WHERE m.id = :m AND p.author_id = :r"
            ),
            {"m": match_id, "r": resident_id},
        )
    ).first()
    if row is None:
        raise NotFound("no such answer to this resident's requests")
    return row


async def complete(
    conn: AsyncConnection, viewer: Viewer, resident_id: int, match_id: int, *, now: datetime
) -> str:
    await _answer_of(conn, viewer, resident_id, match_id)
    done = await lifecycle.complete(conn, viewer, match_id, now=now)
    await audit.record(conn, viewer, "match.complete_for_resident", "match", match_id)
    return done


async def cancel(
    conn: AsyncConnection,
    viewer: Viewer,
    resident_id: int,
    match_id: int,
    reason: str,
    settings: Settings,
    *,
    now: datetime,
) -> str:
    await _answer_of(conn, viewer, resident_id, match_id)
    done = await lifecycle.cancel(conn, viewer, match_id, reason, settings, now=now)
    await audit.record(conn, viewer, "match.cancel_for_resident", "match", match_id)
    return done


async def give_feedback(
    conn: AsyncConnection, viewer: Viewer, resident_id: int, match_id: int, data: FeedbackIn
) -> Feedback:
    answer = await _answer_of(conn, viewer, resident_id, match_id)
    # Locked with the match by the life cycle's own lock order (request, then match):
    # two colleagues giving it at once queue, and the second finds the first's.
    await conn.execute(text("SELECT 1 FROM posts WHERE id = :p FOR UPDATE"), {"p": answer.post_id})
    if match_id in await feedback_given(conn, [match_id]):
        raise Conflict("the feedback for this resident was already given")
    given = await lifecycle.give_feedback(conn, viewer, match_id, data)
    await audit.record(conn, viewer, "match.feedback_for_resident", "match", match_id)
    return given


async def feedback_given(conn: AsyncConnection, match_ids: list[int]) -> dict[int, str]:
    """The request side's feedback on these answers (the resident's, given by whoever
    acted for them): match id → thanks / no_show."""
    rows = await conn.execute(
        text(
            "SELECT f.match_id, f.kind FROM feedback f JOIN matches m ON m.id = f.match_id "
            "WHERE f.match_id = ANY(:ids) AND f.author_id <> m.volunteer_id"
        ),
        {"ids": match_ids},
    )
    return {r.match_id: r.kind for r in rows}


async def post_of_answer(
    conn: AsyncConnection, viewer: Viewer, resident_id: int, match_id: int
) -> int:
    """The request an answer is to, when it is this resident's and ``viewer`` acts for
    them."""
    return int((await _answer_of(conn, viewer, resident_id, match_id)).post_id)
