"""Review, in one place: the social worker's queue of sensitive matches waiting for
approval and, in centres that review every post, posts waiting to be let through —
oldest first, with what is needed to decide (both sides' history, the vetting record,
open reports) — and the decisions on both: ``decide_match`` and ``approve_post`` /
``reject_post``. Every item shown is traced in the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import audit
from voisins.accounts.access import Viewer, acts_for_any, require_social_worker
from voisins.accounts.assisted import can_act_for
from voisins.accounts.volunteer import Vetting, vetting_of
from voisins.errors import Conflict, Forbidden, Invalid, NotFound
from voisins.matching import lifecycle
from voisins.matching.engine import match_post
from voisins.matching.scoring import MatchScore, match_score
from voisins.outbox import emit
from voisins.pagination import Page, paginate, window
from voisins.posts import status as post_status
from voisins.request_bodies import Input
from voisins.settings import Settings

# A match's review took 2 characters or more before the note and the message were
# told apart (matching/schemas.ReasonIn), a post's 3: each keeps its minimum.
Note = Annotated[str, Meta(min_length=2, max_length=1000)]
PostNote = Annotated[str, Meta(min_length=3, max_length=1000)]
# The matches' columns hold 500 characters of a message (sql/0003_matching.sql).
Message = Annotated[str, Meta(max_length=500)]


class NoteIn(Input):
    """A staff decision's internal note, kept for the centres and audited, never sent
    to anyone. ``reason`` is its former name (clients written before the note and the
    message were told apart): never sent either."""

    note_min: ClassVar[int] = 2
    note: Note | None = None
    reason: Note | None = None

    def internal(self) -> str:
        """The note (required, one of ``note`` or ``reason``)."""
        given = [v.strip() for v in (self.note, self.reason) if v is not None]
        if len(given) != 1:
            raise Invalid("give the internal note (note), once", {"note": "required"})
        if len(given[0]) < self.note_min:
            raise Invalid.field("note", f"{self.note_min} characters or more")
        return given[0]


class StaffReasonIn(NoteIn):
    """A staff decision's reason in two parts: the note (``NoteIn``) and ``message``,
    optional, the only words the person reads (without one they are told in neutral
    words)."""

    message: Message | None = None

    def outward(self) -> str | None:
        """The message to the person, or None."""
        return (self.message or "").strip() or None


class ReviewDecisionIn(StaffReasonIn):
    """A decision on a post (API) or on any item of the queue (pages) always carries
    its note; the message is what the author of a refused post, or the two sides of a
    reviewed match, read."""

    note_min: ClassVar[int] = 3
    note: PostNote | None = None
    reason: PostNote | None = None


class PersonRecord(msgspec.Struct, kw_only=True):
    """One side of an item: who, since when, and how their past matches went."""

    user_id: int
    display_name: str
    member_since: date
    assisted: bool
    completed: int
    no_shows: int
    cancelled_by_them: int
    open_reports: int


class VolunteerRecord(PersonRecord, kw_only=True):
    vetting: Vetting


class ReportBrief(msgspec.Struct, kw_only=True):
    id: int
    about: Literal["post", "author", "volunteer"]
    reason: str
    created_at: datetime


class PostBrief(msgspec.Struct, kw_only=True):
    id: int
    kind: str
    title: str
    category: str
    sensitive: bool
    beneficiary: list[str]
    cell_key: str
    centre_ids: list[int]


class QueueItem(msgspec.Struct, kw_only=True):
    type: Literal["match", "post"]
    id: int
    waiting_since: datetime
    post: PostBrief
    author: PersonRecord
    volunteer: VolunteerRecord | None
    reports: list[ReportBrief]
    # For a match: how the matcher scored this volunteer for this request.
    score: MatchScore | None = None


_PENDING = """
SELECT * FROM (
    SELECT 'match' AS type, m.id, m.post_id, m.volunteer_id, m.responded_at AS since,
           m.score_breakdown, m.distance_m
    FROM matches m
    WHERE m.status = 'pending_review'
      AND EXISTS (SELECT 1 FROM post_centres pc
                  WHERE pc.post_id = m.post_id AND pc.centre_id = ANY(:centres))
    UNION ALL
    SELECT 'post', p.id, p.id, NULL, p.updated_at, NULL, NULL
    FROM posts p
    WHERE p.status = 'in_review'
      AND EXISTS (SELECT 1 FROM post_centres pc
                  WHERE pc.post_id = p.id AND pc.centre_id = ANY(:centres))
) AS items
ORDER BY since, type, id
LIMIT :limit OFFSET :offset
"""

_POSTS = """
SELECT p.id, p.kind, p.title, p.category, p.sensitive, p.beneficiary_flags, p.cell_key,
       p.author_id,
       ARRAY(SELECT centre_id FROM post_centres pc WHERE pc.post_id = p.id ORDER BY 1)
           AS centre_ids
FROM posts p WHERE p.id = ANY(:ids)
"""

# A person's record across every match they took part in, on either side.
_PEOPLE = """
SELECT u.id, u.display_name, u.created_at, u.assisted,
       v.id_checked_at, v.record_extract_date, v.id_checked_by, v.record_checked_by,
       (SELECT count(*) FROM matches m JOIN posts p ON p.id = m.post_id
        WHERE (m.volunteer_id = u.id OR p.author_id = u.id) AND m.status = 'completed')
           AS completed,
       (SELECT count(*) FROM feedback f JOIN matches m ON m.id = f.match_id
        JOIN posts p ON p.id = m.post_id
        WHERE f.kind = 'no_show' AND f.author_id <> u.id
          AND (m.volunteer_id = u.id OR p.author_id = u.id)) AS no_shows,
       (SELECT count(*) FROM matches m WHERE m.status = 'cancelled' AND m.closed_by = u.id)
           AS cancelled_by_them,
       (SELECT count(*) FROM reports r WHERE r.reported_id = u.id AND r.resolved_at IS NULL)
           AS open_reports
FROM users u LEFT JOIN volunteers v ON v.user_id = u.id
WHERE u.id = ANY(:ids)
"""

_REPORTS = """
SELECT r.id, r.reason, r.created_at, r.post_id, r.reported_id
FROM reports r
WHERE r.resolved_at IS NULL AND (r.post_id = ANY(:posts) OR r.reported_id = ANY(:people))
ORDER BY r.created_at
"""


def _person(row: Any) -> PersonRecord:
    return PersonRecord(
        user_id=row.id,
        display_name=row.display_name,
        member_since=row.created_at.date(),
        assisted=row.assisted,
        completed=row.completed,
        no_shows=row.no_shows,
        cancelled_by_them=row.cancelled_by_them,
        open_reports=row.open_reports,
    )


def _volunteer(row: Any) -> VolunteerRecord:
    return VolunteerRecord(
        **msgspec.structs.asdict(_person(row)),
        vetting=vetting_of(
            row.id_checked_at, row.record_extract_date, row.id_checked_by, row.record_checked_by
        ),
    )


def _reports_for(
    rows: Sequence[Any], post_id: int, author: int, volunteer: int | None
) -> list[ReportBrief]:
    briefs = []
    for r in rows:
        if r.post_id == post_id:
            about: Literal["post", "author", "volunteer"] = "post"
        elif r.reported_id == author:
            about = "author"
        elif volunteer is not None and r.reported_id == volunteer:
            about = "volunteer"
        else:
            continue
        briefs.append(ReportBrief(id=r.id, about=about, reason=r.reason, created_at=r.created_at))
    return briefs


async def review_queue(
    conn: AsyncConnection, viewer: Viewer, *, page: int, per_page: int
) -> Page[QueueItem]:
    require_social_worker(viewer)
    pending = (
        await conn.execute(
            text(_PENDING), {"centres": sorted(viewer.centre_ids), **window(page, per_page)}
        )
    ).all()
    post_ids = sorted({p.post_id for p in pending})
    posts = {r.id: r for r in (await conn.execute(text(_POSTS), {"ids": post_ids})).all()}
    people_ids = sorted(
        {posts[p.post_id].author_id for p in pending}
        | {p.volunteer_id for p in pending if p.volunteer_id is not None}
    )
    people = {r.id: r for r in (await conn.execute(text(_PEOPLE), {"ids": people_ids})).all()}
    reports = (await conn.execute(text(_REPORTS), {"posts": post_ids, "people": people_ids})).all()
    items = []
    for p in pending:
        post = posts[p.post_id]
        items.append(
            QueueItem(
                type=p.type,
                id=p.id,
                waiting_since=p.since,
                post=PostBrief(
                    id=post.id,
                    kind=post.kind,
                    title=post.title,
                    category=post.category,
                    sensitive=post.sensitive,
                    beneficiary=list(post.beneficiary_flags),
                    cell_key=post.cell_key,
                    centre_ids=list(post.centre_ids),
                ),
                author=_person(people[post.author_id]),
                volunteer=_volunteer(people[p.volunteer_id]) if p.volunteer_id else None,
                reports=_reports_for(reports, post.id, post.author_id, p.volunteer_id),
                score=match_score(p.score_breakdown, p.distance_m) if p.type == "match" else None,
            )
        )
        await audit.record(conn, viewer, "review_queue.view", p.type, p.id)
    return paginate(items, page, per_page)


async def _lock_in_review(conn: AsyncConnection, viewer: Viewer, post_id: int) -> Any:
    require_social_worker(viewer)
    row = (
        await conn.execute(
            text(
                "SELECT p.id, p.status, ARRAY(SELECT centre_id FROM post_centres pc "
                "WHERE pc.post_id = p.id) AS centre_ids FROM posts p WHERE p.id = :id "
                "FOR UPDATE"
            ),
            {"id": post_id},
        )
    ).first()
    if row is None:
        raise NotFound("no such post")
    if not acts_for_any(viewer, set(row.centre_ids)):
        raise Forbidden("only the covering centre's social workers review this post")
    if row.status != "in_review":
        raise Conflict(f"this post is {row.status}, not waiting for review")
    return row


async def approve_post(
    conn: AsyncConnection, viewer: Viewer, post_id: int, note: str, *, settings: Settings,
    now: datetime, message: str | None = None,
) -> str:  # fmt: skip
    """Let a post through: it is published and matched at once. ``note`` is kept, never
    sent; ``message`` is what the author may read."""
    await _lock_in_review(conn, viewer, post_id)
    await post_status.review(
        conn, post_id, approve=True, reviewer=viewer.id, now=now, note=note, message=message
    )
    await audit.record(conn, viewer, "post.approve", "post", post_id)
    await emit(conn, "post.published", post_id=post_id)
    await emit(conn, "post.approved", post_id=post_id)
    await match_post(conn, post_id, settings, now=now)
    return "published"


async def reject_post(
    conn: AsyncConnection, viewer: Viewer, post_id: int, note: str, *, now: datetime,
    message: str | None = None,
) -> str:  # fmt: skip
    """Refuse a post; the author may edit it and submit it again. They read ``message``
    (or neutral words when there is none), never ``note``."""
    await _lock_in_review(conn, viewer, post_id)
    await post_status.review(
        conn, post_id, approve=False, reviewer=viewer.id, now=now, note=note, message=message
    )
    await audit.record(conn, viewer, "post.reject", "post", post_id)
    await emit(conn, "post.rejected", post_id=post_id)
    return "rejected"


async def decide_match(
    conn: AsyncConnection,
    viewer: Viewer,
    match_id: int,
    *,
    approve: bool,
    reason: str,
    settings: Settings,
    now: datetime,
    message: str | None = None,
) -> str:
    """A social worker of the covering centre approves (contacts are exchanged) or
    rejects (the next candidate is proposed), always with a reason: ``reason`` is the
    internal note (kept in ``review_note``, never sent), ``message`` the optional words
    the two sides read (in ``review_reason`` and the notifications). The history keeps
    the note; matching/reads.history shows staff's reasons to staff only."""
    await lifecycle.set_actor(conn, viewer.id, reason)
    match = await lifecycle.lock_match(conn, match_id)
    if not (
        lifecycle.covers_match(viewer, match) or await can_act_for(conn, viewer, match.author_id)
    ):
        raise Forbidden("only the covering centre's social workers review this match")
    if match.status != "pending_review":
        raise Conflict(f"this match is {match.status}, not waiting for review")
    action = "match.approve" if approve else "match.reject"
    await audit.record(conn, viewer, action, "match", match_id)
    said = {"reviewed_by": viewer.id, "review_note": reason, "review_reason": message}
    if approve:
        await lifecycle.set_match_status(conn, match_id, "approved", **said)
        await lifecycle.set_match_status(conn, match_id, "confirmed", confirmed_at=now)
        await emit(conn, "match.approved", match_id=match_id)
        await emit(conn, "match.confirmed", match_id=match_id)
        return "confirmed"
    await lifecycle.set_match_status(conn, match_id, "rejected", closed_at=now, **said)
    await emit(conn, "match.rejected", match_id=match_id)
    await lifecycle.reopen_and_rematch(conn, match.post_id, settings, now)
    return "rejected"
