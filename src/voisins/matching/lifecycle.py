"""The match life cycle: accept, decline, confirm, complete, cancel, feedback (a sensitive
match's review decision is moderation/review.decide_match, built on these steps).

The rules live in PostgreSQL (sql/0003_matching.sql: allowed transitions, places never
over-filled, history recorded by trigger); these functions add who may act, lock the
request row first so concurrent accepts queue instead of deadlocking, and write the
outbox rows in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.accounts.access import Viewer
from voisins.accounts.assisted import can_act_for
from voisins.errors import Conflict, NotFound
from voisins.matching.candidates import PLACES_FILLED
from voisins.matching.engine import match_request
from voisins.matching.schemas import Feedback, FeedbackIn
from voisins.outbox import emit
from voisins.posts import status as post_status
from voisins.settings import Settings

HOLDING = ("accepted", "pending_review", "approved", "confirmed")
# Why a suspended person's posts were withdrawn, as their author may read it later:
# the staff's note stays on the person's record (users.suspension_reason).
WITHDRAWN_BY_STAFF = "retirée par le centre social"


async def set_actor(conn: AsyncConnection, actor_id: int | None, reason: str | None = None) -> None:
    """Tell the history trigger who acts (and why) for the rest of this transaction."""
    await conn.execute(
        text(
            "SELECT set_config('voisins.actor_id', :actor, true), "
            "set_config('voisins.reason', :reason, true)"
        ),
        {"actor": "" if actor_id is None else str(actor_id), "reason": reason or ""},
    )


async def lock_match(conn: AsyncConnection, match_id: int, *, lock: bool = True) -> Any:
    """Lock the request, then the match: every writer takes them in this order
    (``lock=False``: read them only)."""
    post_id = (
        await conn.execute(text("SELECT post_id FROM matches WHERE id = :id"), {"id": match_id})
    ).scalar()
    if post_id is None:
        raise NotFound("no such match")
    if lock:
        await conn.execute(text("SELECT 1 FROM posts WHERE id = :id FOR UPDATE"), {"id": post_id})
    return (
        await conn.execute(
            text(
                f"""
                SELECT m.*, p.author_id, p.volunteers_needed, p.status AS post_status,
                       p.schedule_kind,
                       ARRAY(SELECT centre_id FROM post_centres pc WHERE pc.post_id = p.id)
                           AS centre_ids,
                       (SELECT count(*) FROM matches h
                        WHERE h.post_id = m.post_id AND match_holds_place(h.status)) AS held
                FROM matches m JOIN posts p ON p.id = m.post_id
                WHERE m.id = :id {"FOR UPDATE OF m" if lock else ""}
                """
            ),
            {"id": match_id},
        )
    ).one()


async def _speaks_for_author(conn: AsyncConnection, viewer: Viewer, match: Any) -> bool:
    return viewer.id == match.author_id or await can_act_for(conn, viewer, match.author_id)


async def is_participant(conn: AsyncConnection, viewer: Viewer, match: Any) -> bool:
    return viewer.id == match.volunteer_id or await _speaks_for_author(conn, viewer, match)


def covers_match(viewer: Viewer, match: Any) -> bool:
    return viewer.is_social_worker and bool(viewer.centre_ids & set(match.centre_ids))


async def set_match_status(
    conn: AsyncConnection, match_id: int, status: str, **columns: Any
) -> None:
    assignments = ", ".join(["status = :status", *(f"{k} = :{k}" for k in columns)])
    try:
        async with conn.begin_nested():
            await conn.execute(
                text(f"UPDATE matches SET {assignments} WHERE id = :id"),
                {"status": status, "id": match_id, **columns},
            )
    except DBAPIError as exc:
        if "match_places_full" in str(exc.orig) or "already has its" in str(exc.orig):
            raise Conflict("this request already has all the volunteers it needs") from None
        if "cannot go from" in str(exc.orig):
            raise Conflict(f"this match cannot become {status}") from None
        raise


async def _fill_places(conn: AsyncConnection, match: Any, now: datetime) -> None:
    """When the last place is taken, the request is matched and the other open
    propositions are withdrawn."""
    if match.held + 1 < match.volunteers_needed:
        return
    await post_status.mark_matched(conn, match.post_id)
    await conn.execute(
        text("SELECT set_config('voisins.reason', :why, true)"), {"why": PLACES_FILLED}
    )
    # Marked so: these people may be asked again if a place reopens (candidates.py).
    await conn.execute(
        text(
            "UPDATE matches SET status = 'withdrawn', closed_at = :now, close_reason = :why "
            "WHERE post_id = :post AND status = 'proposed'"
        ),
        {"now": now, "post": match.post_id, "why": PLACES_FILLED},
    )
    await emit(conn, "post.matched", post_id=match.post_id)


async def _lock_my_proposition(conn: AsyncConnection, viewer: Viewer, match_id: int) -> Any:
    """The volunteer answers a proposition made to them, still open."""
    await set_actor(conn, viewer.id)
    match = await lock_match(conn, match_id)
    if match.volunteer_id != viewer.id:
        raise NotFound("no such proposition for you")
    if match.status != "proposed":
        raise Conflict(f"this proposition is already {match.status}")
    return match


async def accept(conn: AsyncConnection, viewer: Viewer, match_id: int, *, now: datetime) -> str:
    match = await _lock_my_proposition(conn, viewer, match_id)
    if match.post_status != "published":
        raise Conflict("this request is no longer open")
    if match.deadline_at <= now:
        raise Conflict("this proposition has expired")
    if match.held >= match.volunteers_needed:
        raise Conflict("this request already has all the volunteers it needs")
    await set_match_status(conn, match_id, "accepted", responded_at=now)
    await emit(conn, "match.accepted", match_id=match_id)
    if match.sensitive:
        await set_match_status(conn, match_id, "pending_review")
        await emit(conn, "match.review_needed", match_id=match_id)
        status = "pending_review"
    else:
        await set_match_status(conn, match_id, "confirmed", confirmed_at=now)
        await emit(conn, "match.confirmed", match_id=match_id)
        status = "confirmed"
    await _fill_places(conn, match, now)
    return status


async def reopen_and_rematch(
    conn: AsyncConnection, post_id: int, settings: Settings, now: datetime
) -> None:
    """A place opened again: reopen the request and search afresh (the escalation
    starts over; people who already declined or let it expire are not asked again)."""
    await post_status.reopen(conn, post_id)
    await match_request(conn, post_id, settings, now=now, reopened=True)


async def decline(
    conn: AsyncConnection, viewer: Viewer, match_id: int, settings: Settings, *, now: datetime
) -> str:
    match = await _lock_my_proposition(conn, viewer, match_id)
    await set_match_status(conn, match_id, "declined", responded_at=now, closed_at=now)
    open_left = (
        await conn.execute(
            text("SELECT count(*) FROM matches WHERE post_id = :p AND status = 'proposed'"),
            {"p": match.post_id},
        )
    ).scalar_one()
    if open_left == 0 and match.held < match.volunteers_needed:
        # The whole batch said no: no point waiting for the deadline.
        await match_request(conn, match.post_id, settings, now=now)
    return "declined"


async def cancel(
    conn: AsyncConnection,
    viewer: Viewer,
    match_id: int,
    reason: str,
    settings: Settings,
    *,
    now: datetime,
    message: str | None = None,
) -> str:
    """Cancel a match. A participant's ``reason`` is theirs to give: the other side
    reads it. A covering centre's social worker who takes no part cancels as staff:
    ``reason`` is then their internal note (never sent) and ``message`` what the two
    sides read, if anything."""
    match = await lock_match(conn, match_id)
    participant = await is_participant(conn, viewer, match)
    if not (participant or covers_match(viewer, match)):
        raise NotFound("no such match")
    if match.status not in HOLDING:
        raise Conflict(f"a {match.status} match cannot be cancelled")
    said = {"close_reason": reason} if participant else {"close_note": reason,
                                                         "close_reason": message}  # fmt: skip
    await set_actor(conn, viewer.id, reason)
    await set_match_status(conn, match_id, "cancelled", closed_at=now, closed_by=viewer.id, **said)
    await emit(conn, "match.cancelled", match_id=match_id)
    await reopen_and_rematch(conn, match.post_id, settings, now)
    return "cancelled"


async def complete(conn: AsyncConnection, viewer: Viewer, match_id: int, *, now: datetime) -> str:
    """The help took place («C'est fait»). For a weekly arrangement the pages offer
    ``checkins.record_visit`` and ``stop_arrangement`` instead, which say what they do."""
    await set_actor(conn, viewer.id)
    match = await lock_match(conn, match_id)
    if not await is_participant(conn, viewer, match):
        raise NotFound("no such match")
    return await _finish(conn, viewer, match, now=now)


async def stop_arrangement(
    conn: AsyncConnection, viewer: Viewer, match_id: int, reason: str | None, *, now: datetime
) -> str:
    """«Arrêter l'accompagnement»: a weekly arrangement ends for good (completed, with
    the reason if one is given); the request closes once nobody holds a place."""
    await set_actor(conn, viewer.id, reason)
    match = await lock_match(conn, match_id)
    if not await is_participant(conn, viewer, match):
        raise NotFound("no such match")
    if match.schedule_kind != "weekly":
        raise Conflict("only a weekly arrangement is stopped; one-off help is marked done")
    return await _finish(conn, viewer, match, now=now, reason=reason)


async def _finish(
    conn: AsyncConnection, viewer: Viewer, match: Any, *, now: datetime, reason: str | None = None
) -> str:
    match_id = match.id
    if match.status != "confirmed":
        raise Conflict(f"a {match.status} match cannot be completed")
    await set_match_status(
        conn, match_id, "completed", closed_at=now, closed_by=viewer.id, close_reason=reason
    )
    await emit(conn, "match.completed", match_id=match_id)
    unfinished = (
        await conn.execute(
            text("SELECT count(*) FROM matches WHERE post_id = :p AND match_holds_place(status)"),
            {"p": match.post_id},
        )
    ).scalar_one()
    if unfinished == 0 and match.post_status == "matched":
        await post_status.close_when_done(conn, match.post_id)
    return "completed"


async def give_feedback(
    conn: AsyncConnection, viewer: Viewer, match_id: int, data: FeedbackIn
) -> Feedback:
    match = await lock_match(conn, match_id)
    if not await is_participant(conn, viewer, match):
        raise NotFound("no such match")
    if match.status not in ("completed", "cancelled"):
        raise Conflict("feedback comes after the help took place (or was cancelled)")
    if match.status == "cancelled" and match.confirmed_at is None:
        raise Conflict("this match was never confirmed")
    row = (
        await conn.execute(
            text(
                "INSERT INTO feedback (match_id, author_id, kind, comment) "
                "VALUES (:m, :a, :k, :c) ON CONFLICT DO NOTHING RETURNING created_at"
            ),
            {"m": match_id, "a": viewer.id, "k": data.kind, "c": data.comment},
        )
    ).first()
    if row is None:
        raise Conflict("you already gave your feedback on this match")
    if data.kind == "no_show" and viewer.id != match.volunteer_id:
        await conn.execute(
            text("UPDATE volunteers SET no_show_count = no_show_count + 1 WHERE user_id = :v"),
            {"v": match.volunteer_id},
        )
    return Feedback(match_id, data.kind, data.comment, row.created_at)


async def close_everything_of(
    conn: AsyncConnection,
    person_id: int,
    *,
    actor_id: int,
    reason: str | None,
    settings: Settings,
    now: datetime,
    note: str | None = None,
) -> list[int]:
    """A person leaves the service (suspension, erasure): every match they hold is
    cancelled and the other side told, with ``reason`` if it is one they may read (an
    erasure's) or in neutral words; ``note`` is staff's internal note (a suspension's),
    kept on the match and in its history, which shows it to staff only. Requests that
    lose their volunteer search again; their own open posts are withdrawn (which
    withdraws the propositions made for them). Returns the cancelled match ids."""
    await set_actor(conn, actor_id, note or reason)
    held = (
        await conn.execute(
            text(
                "SELECT m.id, m.post_id, m.volunteer_id = :p AS as_volunteer "
                "FROM matches m JOIN posts p ON p.id = m.post_id "
                "WHERE (m.volunteer_id = :p OR p.author_id = :p) AND m.status = ANY(:holding) "
                "ORDER BY m.post_id, m.id"
            ),
            {"p": person_id, "holding": list(HOLDING)},
        )
    ).all()
    cancelled = []
    # The request row first, then the match (the order accept() uses): no deadlock.
    for match in held:
        if (await lock_match(conn, match.id)).status not in HOLDING:
            continue  # closed meanwhile
        await set_match_status(
            conn, match.id, "cancelled", closed_at=now, closed_by=actor_id,
            close_reason=reason, close_note=note,
        )  # fmt: skip
        await emit(conn, "match.cancelled", match_id=match.id)
        cancelled.append(match.id)
    posts = await post_status.withdraw_all_of(conn, person_id, (reason or WITHDRAWN_BY_STAFF)[:300])
    for post_id in posts:
        await emit(conn, "post.withdrawn", post_id=post_id)
    for post_id in sorted({m.post_id for m in held if m.as_volunteer and m.id in cancelled}):
        await reopen_and_rematch(conn, post_id, settings, now)
    return cancelled
