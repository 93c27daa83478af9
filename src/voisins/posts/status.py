"""Every change of a post's status, in one place.

A post is born ``draft``, ``in_review`` or ``published`` (posts/writing.create_post);
every later status is written here and nowhere else:

- its author (or a social worker acting for them): ``publish``, ``withdraw``, ``close``,
  and an edit that sends a published post back to review (``save_edit``);
- the review of a centre: ``review`` (moderation/review.py);
- the match life cycle: ``mark_matched`` when the last place is taken, ``reopen``
  when one opens again, ``close_when_done`` when the help took place, and
  ``withdraw_all_of`` a person who leaves (matching/lifecycle.py);
- the clock: ``expire_due`` (the housekeeping job ``expire_posts``).

The allowed transitions are checked in PostgreSQL too (sql/); the conditional updates
below keep their ``WHERE status`` guards, so a post that moved meanwhile is left alone.
The callers lock the post row first and write the outbox rows that go with a change
(except here, where the change is the whole service: ``_move``, ``expire_due``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.accounts.access import Viewer
from voisins.accounts.quotas import Action, Quotas
from voisins.errors import Conflict
from voisins.outbox import emit
from voisins.posts import short_lived
from voisins.posts.reads import fetch_row, lock_managed, private_view
from voisins.posts.schemas import CloseIn, PostPrivate
from voisins.posts.writing import needs_review
from voisins.settings import Settings


async def _move(
    conn: AsyncConnection,
    viewer: Viewer,
    post_id: int,
    allowed_from: tuple[str, ...],
    to: str,
    reason: str | None = None,
    quotas: Quotas | None = None,
) -> PostPrivate:
    row = await lock_managed(conn, viewer, post_id)
    if row.status not in allowed_from:
        raise Conflict(f"a {row.status} post cannot become {to}")
    if quotas is not None:  # once the move is allowed, before anything is written
        await quotas.spend(viewer.id, *_quota_actions(row, to))
    await conn.execute(
        text(
            "UPDATE posts SET status = :to, closed_reason = COALESCE(:reason, closed_reason), "
            "published_at = CASE WHEN :to = 'published' THEN now() ELSE published_at END, "
            "expires_at = CASE WHEN :to = 'published' AND expires_at <= now() "
            "THEN now() + make_interval(days => 14) ELSE expires_at END, "
            "withdrawn_at = CASE WHEN :to = 'withdrawn' THEN now() ELSE withdrawn_at END, "
            "withdrawn_by = CASE WHEN :to = 'withdrawn' THEN CAST(:actor AS bigint) "
            "ELSE withdrawn_by END "
            "WHERE id = :id"
        ),
        {"to": to, "reason": reason, "id": post_id, "actor": viewer.id},
    )
    if to == "published":
        await emit(conn, "post.published", post_id=post_id)
    elif to == "in_review":
        await emit(conn, "post.review_needed", post_id=post_id)
    elif to in ("withdrawn", "closed"):
        await emit(conn, f"post.{to}", post_id=post_id)
    return private_view(await fetch_row(conn, post_id, private=True), viewer)


def _quota_actions(row: Any, to: str) -> tuple[Action, ...]:
    if to == "withdrawn":
        return ("withdraw",)
    if to in ("published", "in_review"):
        # A post that was online before and goes out again is what a prober repeats.
        return ("publish", "republish") if row.published_at is not None else ("publish",)
    return ()


async def publish(
    conn: AsyncConnection, viewer: Viewer, post_id: int, *, quotas: Quotas | None = None
) -> PostPrivate:
    """Publish, or submit for review where a covering centre reviews every post (a
    rejected post, once edited, may be submitted again)."""
    centre_ids = list(
        (
            await conn.execute(
                text("SELECT centre_id FROM post_centres WHERE post_id = :p"), {"p": post_id}
            )
        ).scalars()
    )
    to = "in_review" if await needs_review(conn, viewer, centre_ids) else "published"
    return await _move(conn, viewer, post_id, ("draft", "expired", "rejected"), to, quotas=quotas)


async def withdraw(
    conn: AsyncConnection,
    viewer: Viewer,
    post_id: int,
    *,
    settings: Settings,
    quotas: Quotas | None = None,
) -> PostPrivate:
    """Withdraw a post; the acting account's withdrawals of posts just published may
    put it on the follow-up list (posts/short_lived.py)."""
    post = await _move(
        conn,
        viewer,
        post_id,
        ("draft", "in_review", "rejected", "published", "matched", "expired"),
        "withdrawn",
        quotas=quotas,
    )
    await short_lived.note_withdrawal(conn, viewer.id, post_id, settings)
    return post


async def close(conn: AsyncConnection, viewer: Viewer, post_id: int, data: CloseIn) -> PostPrivate:
    return await _move(conn, viewer, post_id, ("published", "matched"), "closed", data.reason)


async def expire_due(conn: AsyncConnection) -> int:
    """Published posts past their expiry become expired (run by a worker cron job)."""
    rows = (
        await conn.execute(
            text(
                "UPDATE posts SET status = 'expired' WHERE status = 'published' "
                "AND expires_at <= now() RETURNING id"
            )
        )
    ).all()
    for row in rows:
        await emit(conn, "post.expired", post_id=row.id)
    return len(rows)


async def save_edit(
    conn: AsyncConnection,
    post_id: int,
    changes: dict[str, Any],
    to: str,
    *,
    now: datetime,
    editor: int,
) -> None:
    """An edit's columns, its new version and ``to`` (its status as it was, or
    ``in_review`` when the changed text goes back to review) in one statement."""
    assignments = ", ".join(
        f"{k} = CAST(:{k} AS int4multirange)" if k == "slots" else f"{k} = :{k}" for k in changes
    )
    await conn.execute(
        text(
            f"UPDATE posts SET {assignments}, status = :status, version = version + 1, "
            "edited_at = :now, edited_by = :editor WHERE id = :id"
        ),
        {**changes, "status": to, "now": now, "editor": editor, "id": post_id},
    )


async def review(
    conn: AsyncConnection,
    post_id: int,
    *,
    approve: bool,
    reviewer: int,
    now: datetime,
    note: str,
    message: str | None,
) -> None:
    """A centre's decision on a post waiting for review: let through, it is published
    (and stays online at least a day); refused, it is rejected."""
    if approve:
        sql = (
            "UPDATE posts SET status = 'published', published_at = :now, reviewed_by = :me, "
            "reviewed_at = :now, review_note = :note, review_reason = :message, "
            "expires_at = GREATEST(expires_at, CAST(:now AS timestamptz) + interval '1 day') "
            "WHERE id = :id"
        )
    else:
        sql = (
            "UPDATE posts SET status = 'rejected', reviewed_by = :me, reviewed_at = :now, "
            "review_note = :note, review_reason = :message WHERE id = :id"
        )
    await conn.execute(
        text(sql), {"now": now, "me": reviewer, "note": note, "message": message, "id": post_id}
    )


async def mark_matched(conn: AsyncConnection, post_id: int) -> None:
    """The last place is taken."""
    await conn.execute(
        text("UPDATE posts SET status = 'matched' WHERE id = :id AND status = 'published'"),
        {"id": post_id},
    )


async def reopen(conn: AsyncConnection, post_id: int) -> None:
    """A place opened again: published, its escalation starting over."""
    await conn.execute(
        text(
            "UPDATE posts SET status = 'published', match_batch = 0, match_radius_m = NULL, "
            "match_exhausted_at = NULL WHERE id = :id AND status IN ('matched', 'published')"
        ),
        {"id": post_id},
    )


async def close_when_done(conn: AsyncConnection, post_id: int) -> None:
    """The help took place and nobody holds a place any more."""
    await conn.execute(
        text(
            "UPDATE posts SET status = 'closed', closed_reason = 'aide réalisée' "
            "WHERE id = :id AND status = 'matched'"
        ),
        {"id": post_id},
    )


async def withdraw_all_of(conn: AsyncConnection, person_id: int, reason: str) -> list[int]:
    """A person leaves the service: every post of theirs not over yet is withdrawn.
    Returns their ids."""
    return list(
        (
            await conn.execute(
                text(
                    "UPDATE posts SET status = 'withdrawn', closed_reason = :reason "
                    "WHERE author_id = :p AND status IN ('draft', 'in_review', 'rejected', "
                    "'published', 'matched', 'expired') RETURNING id"
                ),
                {"p": person_id, "reason": reason},
            )
        ).scalars()
    )
