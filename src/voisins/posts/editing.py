"""Editing a post after (or before) publication: what an edit would set off, and the
edit itself (a changed text may send a published post back to review; volunteers who
said yes are told of changes to what they agreed to).
"""

from __future__ import annotations

from typing import Any

from msgspec import UNSET
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import clock
from voisins.accounts.access import Viewer
from voisins.errors import Conflict, Invalid
from voisins.outbox import emit
from voisins.posts import screening, status
from voisins.posts.reads import fetch_row, lock_managed, private_view
from voisins.posts.schemas import PostPrivate, PostUpdate
from voisins.posts.writing import (
    PostSaved,
    expiry,
    needs_review,
    normalised_tags,
    saved,
    schedule_columns,
)

# A post can be edited until it is over: closed and withdrawn posts are history.
EDITABLE = ("draft", "in_review", "rejected", "published", "matched", "expired")
# What the volunteers who said yes agreed to: a change of these is told to them.
_AGREED = ("title", "description", "schedule_kind", "starts_at", "ends_at", "weekly_days",
           "weekly_start", "weekly_end")  # fmt: skip


async def edit_outlook(
    conn: AsyncConnection, viewer: Viewer, post: PostPrivate
) -> tuple[int, bool]:
    """What an edit of ``post`` would set off, for the form to say it first: how many
    volunteers said yes (they will be told), and whether a new text goes back to the
    centre's review."""
    held = await _places_held(conn, post.id)
    review = post.status == "published" and await _review_again(
        conn, viewer, post.id, post.centre_ids, post.sensitive
    )
    return held, review


async def _review_again(
    conn: AsyncConnection, viewer: Viewer, post_id: int, centre_ids: list[int], sensitive: bool
) -> bool:
    """Whether a published post whose text changed goes back to the centre's review: when
    its centre reviews every post (the text it let through is not the one online any
    more), or when it is sensitive and a social worker already approved it or one of
    its matches on the strength of its text. A covering centre's own social worker
    editing needs no review (as at publication, ``needs_review``)."""
    if viewer.is_social_worker and viewer.centre_ids & set(centre_ids):
        return False
    if await needs_review(conn, viewer, centre_ids):
        return True
    if not sensitive:
        return False
    return bool(
        (
            await conn.execute(
                text(
                    "SELECT reviewed_at IS NOT NULL OR EXISTS (SELECT 1 FROM matches m "
                    "WHERE m.post_id = p.id AND m.reviewed_by IS NOT NULL "
                    "AND m.status IN ('approved', 'confirmed', 'completed')) "
                    "FROM posts p WHERE p.id = :id"
                ),
                {"id": post_id},
            )
        ).scalar()
    )


async def update_post(
    conn: AsyncConnection, viewer: Viewer, post_id: int, data: PostUpdate
) -> PostSaved:
    """Edit a post after (or before) publication: its text, its schedule, its needs.

    The row is locked first, so concurrent edits queue; an edit that names the
    ``version`` it read is refused when another edit came in between (409), so no edit
    is lost silently. A published post whose text changed may go back to the centre's
    review (``_review_again``); volunteers who already said yes are told of any change
    to what they agreed to (outbox ``post.updated``)."""
    row = await lock_managed(conn, viewer, post_id)
    if row.status not in EDITABLE:
        raise Conflict(
            f"a {row.status} post can no longer be edited", {"status": f"is {row.status}"}
        )
    if data.version is not UNSET and data.version != row.version:
        raise Conflict(
            "this post was changed meanwhile: read it again, then make your change",
            {"version": f"is now {row.version}"},
        )
    warnings = screening.check(
        screening.PublicTexts(
            title=None if data.title is UNSET else data.title,
            description=None if data.description is UNSET else data.description,
            skill_tags=None if data.skill_tags is UNSET else data.skill_tags,
        )
    )
    now = clock.now()
    changes: dict[str, Any] = {}
    for field in ("title", "description", "volunteers_needed", "urgency", "language_required"):
        value = getattr(data, field)
        if value is not UNSET:
            changes[field] = value.strip() if isinstance(value, str) else value
    if "title" in changes and len(changes["title"]) < 3:
        raise Invalid.field("title", "at least 3 characters besides spaces")
    if data.skill_tags is not UNSET:
        changes["skill_tags"] = normalised_tags(data.skill_tags)
    if data.languages is not UNSET:
        changes["languages"] = sorted(set(data.languages))
    if data.expires_at is not UNSET:
        changes["expires_at"] = expiry(data.expires_at, now)
    if data.schedule is not UNSET:
        changes.update(schedule_columns(data.schedule, now, "schedule"))
    changes = {k: v for k, v in changes.items() if k == "slots" or _differs(getattr(row, k), v)}
    if set(changes) == {"slots"}:  # the same schedule, written again
        changes = {}
    if not changes:
        return saved(private_view(row, viewer), warnings)
    held = await _places_held(conn, post_id)
    if changes.get("volunteers_needed", held) < held:
        raise Invalid.field("volunteers_needed", f"{held} volunteer(s) already said yes")
    to = row.status
    if (
        row.status == "published"
        and ("title" in changes or "description" in changes)
        and await _review_again(conn, viewer, post_id, list(row.centre_ids), row.sensitive)
    ):
        to = "in_review"
    await status.save_edit(conn, post_id, changes, to, now=now, editor=viewer.id)
    if to != row.status:
        await emit(conn, "post.review_needed", post_id=post_id)
    if held and any(k in changes for k in _AGREED):
        await emit(conn, "post.updated", post_id=post_id, version=row.version + 1)
    return saved(private_view(await fetch_row(conn, post_id, private=True), viewer), warnings)


def _differs(current: Any, new: Any) -> bool:
    if isinstance(current, list | tuple) and isinstance(new, list | tuple):
        return list(current) != list(new)
    return bool(current != new)


async def _places_held(conn: AsyncConnection, post_id: int) -> int:
    return int(
        (
            await conn.execute(
                text(
                    "SELECT count(*) FROM matches WHERE post_id = :p AND match_holds_place(status)"
                ),
                {"p": post_id},
            )
        ).scalar_one()
    )
