"""Reports, blocks and suspension.

- Any participant reports a post or a person. A report reaches the social workers of
  the centres covering the post (or the match's request) and of the reported person's
  home and posts; when no centre covers any of them, the administrators. The reported
  person never learns who reported (nothing they can read names the reporter).
- Blocks are two-way in effect: no propositions either way (matching/candidates reads
  the blocks table both ways). A person is blocked through something they were shown —
  a match or a post — so blocking reveals no identity.
- A social worker suspends a person: in one transaction their pending propositions and
  undelivered notifications are cancelled (triggers on users.status), their open matches
  are closed and the other side told in neutral words (the reason is an internal note,
  never sent), their sessions end.

One module although 600 lines: reports, blocks and suspension rest on the same rules of
who answers for a person (``centres_of_person``, a post's centres) and of what a person
was shown (a match's other side, a post's author), which this module holds once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

import msgspec
from msgspec import Meta
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import audit, clock
from voisins.accounts.access import Viewer, acts_for_any, require_social_worker
from voisins.centres.service import covering_centres
from voisins.conversations.service import participation
from voisins.errors import Conflict, Forbidden, Invalid, NotFound
from voisins.geo import sql as geosql
from voisins.geo.coordinates import LonLat
from voisins.matching.lifecycle import close_everything_of, set_actor
from voisins.moderation.review import NoteIn
from voisins.outbox import emit
from voisins.pagination import Page, paginate, window
from voisins.request_bodies import Input
from voisins.settings import Settings

ReportReason = Literal["inappropriate", "unsafe", "fraud", "no_show", "other"]
Text = Annotated[str, Meta(min_length=3, max_length=1000)]


class ReportIn(Input):
    """What is reported: a post, the other side of one of my matches, or a message of
    one of my conversations (the covering centres then read that conversation)."""

    reason: ReportReason
    post_id: int | None = None
    match_id: int | None = None
    message_id: int | None = None
    comment: Annotated[str, Meta(max_length=1000)] | None = None


class ReportFiled(msgspec.Struct):
    id: int
    status: Literal["received"]


class Report(msgspec.Struct, kw_only=True):
    """A report as the covering centre's social workers see it."""

    id: int
    reason: str
    comment: str | None
    post_id: int | None
    reported_id: int | None
    reported_name: str | None
    reporter_id: int | None
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    # A message's report: the conversation it brings in (read it through
    # /moderation/reports/{id}/conversation), and the message.
    conversation_id: int | None = None
    message_id: int | None = None


class ResolveIn(Input):
    resolution: Text


class BlockIn(Input):
    """Block the other side of one of my matches, or the author of a post I was shown."""

    match_id: int | None = None
    post_id: int | None = None


class Block(msgspec.Struct, kw_only=True):
    """An entry of my list of blocks: one per block I made (two blocks through two
    posts of one author are two entries, so the list groups nothing by author)."""

    id: int
    created_at: datetime
    # Known only when a confirmed match already introduced the two people.
    display_name: str | None


class Blocked(msgspec.Struct):
    """The answer to a block: the same bytes whether the person was blocked just now or
    already was (through another of their posts or matches). An id, a date or a name
    here would let anyone walking post ids group the posts by author."""

    status: Literal["blocked"] = "blocked"


# users.suspension_reason holds 500 characters (sql/0008_moderation.sql).
SuspensionNote = Annotated[str, Meta(min_length=3, max_length=500)]


class SuspendIn(NoteIn):
    """Why a person is suspended or reinstated: the internal note only, on their record.
    Nobody is sent it: the person's own notifications end with the suspension, and the
    other side of each match that ends is told in neutral words."""

    note_min: ClassVar[int] = 3
    note: SuspensionNote | None = None
    reason: SuspensionNote | None = None


class Suspension(msgspec.Struct, kw_only=True):
    user_id: int
    status: Literal["suspended", "active"]
    cancelled_matches: int
    withdrawn_propositions: int
    cancelled_deliveries: int


def _exactly_one(**targets: int | None) -> tuple[str, int]:
    given = [(name, value) for name, value in targets.items() if value is not None]
    if len(given) != 1:
        names = " or ".join(targets)
        raise Invalid(f"give exactly one of {names}", dict.fromkeys(targets, f"one of {names}"))
    return given[0]


async def _other_side(conn: AsyncConnection, viewer: Viewer, match_id: int) -> int:
    """The other participant of one of the viewer's matches (404 if not theirs)."""
    row = (
        await conn.execute(
            text(
                "SELECT m.volunteer_id, p.author_id FROM matches m "
                "JOIN posts p ON p.id = m.post_id WHERE m.id = :id"
            ),
            {"id": match_id},
        )
    ).first()
    if row is None or viewer.id not in (row.volunteer_id, row.author_id):
        raise NotFound("no such match", {"match_id": "not one of your matches"})
    return int(row.author_id if viewer.id == row.volunteer_id else row.volunteer_id)


async def _message_of_mine(
    conn: AsyncConnection, viewer: Viewer, message_id: int
) -> tuple[int, int]:
    """The conversation (match id) of a message the other side of one of my
    conversations wrote, and who wrote it: the side's person, or the social worker who
    wrote for them (404 for anything else: my own messages, other conversations)."""
    row = (
        await conn.execute(
            text(
                "SELECT c.match_id, c.side, c.author_id, m.volunteer_id, p.author_id AS requester "
                "FROM conversation_messages c JOIN matches m ON m.id = c.match_id "
                "JOIN posts p ON p.id = m.post_id WHERE c.id = :id"
            ),
            {"id": message_id},
        )
    ).first()
    not_found = NotFound("no such message", {"message_id": "not a message written to you"})
    if row is None:
        raise not_found
    try:
        part = await participation(conn, viewer, row.match_id, now=clock.now())
    except (NotFound, Conflict):
        raise not_found from None
    if part.side == row.side:
        raise not_found
    person = row.author_id or (row.volunteer_id if row.side == "volunteer" else row.requester)
    return int(row.match_id), int(person)


async def _post_centres(conn: AsyncConnection, post_id: int) -> set[int]:
    rows = await conn.execute(
        text("SELECT centre_id FROM post_centres WHERE post_id = :p"), {"p": post_id}
    )
    return set(rows.scalars())


async def _post_author(conn: AsyncConnection, post_id: int) -> int:
    """The author of a post the viewer may have been shown (published at some point):
    a report may be about a post withdrawn since."""
    author = (
        await conn.execute(
            text(
                "SELECT author_id FROM posts WHERE id = :id "
                "AND status NOT IN ('draft', 'in_review', 'rejected')"
            ),
            {"id": post_id},
        )
    ).scalar()
    if author is None:
        raise NotFound("no such post", {"post_id": "no such post"})
    return int(author)


async def centres_of_person(conn: AsyncConnection, person_id: int) -> set[int]:
    """The centres responsible for a person: those covering their volunteer home, the
    places of their posts, and the centre of their consent (assisted residents)."""
    centres = set(
        (
            await conn.execute(
                text(
                    "SELECT pc.centre_id FROM post_centres pc JOIN posts p ON p.id = pc.post_id "
                    "WHERE p.author_id = :p "
                    "UNION SELECT centre_id FROM consents WHERE resident_id = :p"
                ),
                {"p": person_id},
            )
        ).scalars()
    )
    home = (
        await conn.execute(
            text(f"SELECT {geosql.lon_lat('point')} FROM volunteers WHERE user_id = :p"),
            {"p": person_id},
        )
    ).first()
    if home is not None:
        centres |= set(await covering_centres(conn, LonLat(home.lon, home.lat)))
    return centres


async def file_report(conn: AsyncConnection, viewer: Viewer, data: ReportIn) -> ReportFiled:
    field, target = _exactly_one(
        post_id=data.post_id, match_id=data.match_id, message_id=data.message_id
    )
    post_id: int | None = None
    # A message's report brings its conversation in (conversations.reported.for_report).
    conversation: int | None = None
    message_id: int | None = None
    if field == "message_id":
        conversation, reported_id = await _message_of_mine(conn, viewer, target)
        message_id = target
        match_post = (
            await conn.execute(
                text("SELECT post_id FROM matches WHERE id = :m"), {"m": conversation}
            )
        ).scalar_one()
        centres = await _post_centres(conn, match_post) | await centres_of_person(conn, reported_id)
    elif field == "post_id":
        await _post_author(conn, target)
        post_id = target
        reported_id = None
        centres = await _post_centres(conn, target)
    else:
        # The centres covering the match's request, and those responsible for the
        # reported person; none of them: the administrators (_REPORTS).
        reported_id = await _other_side(conn, viewer, target)
        match_post = (
            await conn.execute(text("SELECT post_id FROM matches WHERE id = :m"), {"m": target})
        ).scalar_one()
        centres = await _post_centres(conn, match_post) | await centres_of_person(conn, reported_id)
    if reported_id == viewer.id:
        raise Invalid.field(field, "you cannot report yourself")
    report_id = (
        await conn.execute(
            text(
                "INSERT INTO reports (reporter_id, post_id, reported_id, reason, comment, "
                "match_id, message_id) "
                "VALUES (:me, :post, :person, :reason, :comment, :conversation, :message) "
                "RETURNING id"
            ),
            {
                "me": viewer.id,
                "post": post_id,
                "conversation": conversation,
                "message": message_id,
                "person": reported_id,
                "reason": data.reason,
                "comment": (data.comment or "").strip() or None,
            },
        )
    ).scalar_one()
    for centre_id in sorted(centres):
        await conn.execute(
            text("INSERT INTO report_centres (report_id, centre_id) VALUES (:r, :c)"),
            {"r": report_id, "c": centre_id},
        )
    await emit(conn, "report.filed", report_id=report_id)
    return ReportFiled(report_id, "received")


# A report no centre covers (about a volunteer living outside every territory, or a
# post outside them) reaches the administrators, as follow-ups do (followups.py). A
# report about a social worker (a message they wrote for an assisted resident) is never
# theirs to read or resolve, though it reaches their centre.
_REPORTS = """
SELECT r.id, r.reason, r.comment, r.post_id, r.reported_id, u.display_name AS reported_name,
       r.reporter_id, r.created_at, r.resolved_at, r.resolution,
       r.match_id AS conversation_id, r.message_id
FROM reports r LEFT JOIN users u ON u.id = r.reported_id
WHERE (EXISTS (SELECT 1 FROM report_centres rc
               WHERE rc.report_id = r.id AND rc.centre_id = ANY(:centres))
       OR (CAST(:admin AS boolean)
           AND NOT EXISTS (SELECT 1 FROM report_centres rc WHERE rc.report_id = r.id)))
  AND (CAST(:open_only AS boolean) IS FALSE OR r.resolved_at IS NULL)
  AND r.reported_id IS DISTINCT FROM :me
ORDER BY r.created_at, r.id
LIMIT :limit OFFSET :offset
"""


def _require_report_reader(viewer: Viewer) -> None:
    """Social workers handle their centres' reports; administrators those no centre covers."""
    if not (viewer.is_social_worker or viewer.is_admin):
        raise Forbidden("only social workers and administrators handle reports")


async def list_reports(
    conn: AsyncConnection, viewer: Viewer, *, open_only: bool, page: int, per_page: int
) -> Page[Report]:
    _require_report_reader(viewer)
    rows = (
        await conn.execute(
            text(_REPORTS),
            {
                "me": viewer.id,
                "centres": sorted(viewer.centre_ids),
                "admin": viewer.is_admin,
                "open_only": open_only,
                **window(page, per_page),
            },
        )
    ).all()
    reports = [Report(**row._asdict()) for row in rows]
    for report in reports[:per_page]:
        await audit.record(conn, viewer, "report.view", "report", report.id)
    return paginate(reports, page, per_page)


async def resolve_report(
    conn: AsyncConnection, viewer: Viewer, report_id: int, data: ResolveIn
) -> Report:
    _require_report_reader(viewer)
    centres = set(
        (
            await conn.execute(
                text("SELECT centre_id FROM report_centres WHERE report_id = :r"),
                {"r": report_id},
            )
        ).scalars()
    )
    exists = (
        await conn.execute(
            text("SELECT 1 FROM reports WHERE id = :r AND reported_id IS DISTINCT FROM :me"),
            {"r": report_id, "me": viewer.id},
        )
    ).first()
    if exists is None or not (acts_for_any(viewer, centres) or (viewer.is_admin and not centres)):
        raise NotFound("no such report")
    updated = (
        await conn.execute(
            text(
                "UPDATE reports SET resolved_at = now(), resolved_by = :me, "
                "resolution = :resolution WHERE id = :r AND resolved_at IS NULL RETURNING id"
            ),
            {"me": viewer.id, "resolution": data.resolution.strip(), "r": report_id},
        )
    ).first()
    if updated is None:
        raise Conflict("this report is already resolved")
    await audit.record(conn, viewer, "report.resolve", "report", report_id)
    row = (
        await conn.execute(
            text(_REPORTS.replace("ORDER BY", "AND r.id = :r ORDER BY")),
            {
                "me": viewer.id,
                "centres": sorted(viewer.centre_ids),
                "admin": viewer.is_admin,
                "open_only": False,
                "r": report_id,
                "limit": 1,
                "offset": 0,
            },
        )
    ).one()
    return Report(**row._asdict())


# The posts anyone may read (posts/reads.HIDDEN_STATUSES are nobody else's).
_SHOWN = "('published', 'matched', 'closed', 'expired')"


async def _shown_post_author(conn: AsyncConnection, post_id: int) -> int:
    """The author of a post anyone can read now: any other post (withdrawn, draft,
    unknown) is the same 404 as ``GET /posts/{id}`` gives. A volunteer proposed a post
    withdrawn since blocks its author through the match."""
    author = (
        await conn.execute(
            text(f"SELECT author_id FROM posts WHERE id = :id AND status IN {_SHOWN}"),
            {"id": post_id},
        )
    ).scalar()
    if author is None:
        raise NotFound("no such post", {"post_id": "no such post"})
    return int(author)


async def block(conn: AsyncConnection, viewer: Viewer, data: BlockIn) -> Blocked:
    """Block the person behind a match or a post. The answer is the same whether they
    were blocked already or not (``Blocked``); ``list_blocks`` names the blocks."""
    field, target = _exactly_one(match_id=data.match_id, post_id=data.post_id)
    if field == "match_id":
        blocked = await _other_side(conn, viewer, target)
    else:
        blocked = await _shown_post_author(conn, target)
    if blocked == viewer.id:
        raise Invalid.field(field, "you cannot block yourself")
    await conn.execute(
        text(
            "INSERT INTO blocks (blocker_id, blocked_id) VALUES (:me, :them) ON CONFLICT DO NOTHING"
        ),
        {"me": viewer.id, "them": blocked},
    )
    # An entry of the list per block made, whoever it names (sql/0019).
    await conn.execute(
        text("INSERT INTO block_entries (blocker_id, blocked_id) VALUES (:me, :them)"),
        {"me": viewer.id, "them": blocked},
    )
    # Propositions already made between the two go (either direction).
    await set_actor(conn, viewer.id, "blocked")
    await conn.execute(
        text(
            "UPDATE matches m SET status = 'withdrawn', closed_at = now() FROM posts p "
            "WHERE p.id = m.post_id AND m.status = 'proposed' "
            "AND ((m.volunteer_id = :me AND p.author_id = :them) "
            "  OR (m.volunteer_id = :them AND p.author_id = :me))"
        ),
        {"me": viewer.id, "them": blocked},
    )
    return Blocked()


async def list_blocks(conn: AsyncConnection, viewer: Viewer) -> list[Block]:
    rows = (
        await conn.execute(
            text(
                """
                SELECT b.id, b.created_at,
                       CASE WHEN EXISTS (
                           SELECT 1 FROM matches m JOIN posts p ON p.id = m.post_id
                           WHERE m.confirmed_at IS NOT NULL
                             AND ((m.volunteer_id = b.blocker_id AND p.author_id = b.blocked_id)
                               OR (m.volunteer_id = b.blocked_id AND p.author_id = b.blocker_id)))
                       THEN u.display_name END AS display_name
                FROM block_entries b JOIN users u ON u.id = b.blocked_id
                WHERE b.blocker_id = :me ORDER BY b.created_at DESC, b.id DESC
                """
            ),
            {"me": viewer.id},
        )
    ).all()
    return [Block(id=r.id, created_at=r.created_at, display_name=r.display_name) for r in rows]


async def unblock(conn: AsyncConnection, viewer: Viewer, block_id: int) -> None:
    """Remove an entry of my list; the person is unblocked with the last entry that
    names them."""
    deleted = (
        await conn.execute(
            text(
                "DELETE FROM block_entries WHERE id = :id AND blocker_id = :me RETURNING blocked_id"
            ),
            {"id": block_id, "me": viewer.id},
        )
    ).first()
    if deleted is None:
        raise NotFound("no such block")
    await conn.execute(
        text(
            "DELETE FROM blocks b WHERE b.blocker_id = :me AND b.blocked_id = :them "
            "AND NOT EXISTS (SELECT 1 FROM block_entries e "
            "WHERE e.blocker_id = b.blocker_id AND e.blocked_id = b.blocked_id)"
        ),
        {"me": viewer.id, "them": deleted.blocked_id},
    )


async def _may_suspend(conn: AsyncConnection, viewer: Viewer, person_id: int) -> None:
    if viewer.is_admin:
        return
    require_social_worker(viewer)
    reported_to = set(
        (
            await conn.execute(
                text(
                    "SELECT rc.centre_id FROM report_centres rc JOIN reports r "
                    "ON r.id = rc.report_id WHERE r.reported_id = :p"
                ),
                {"p": person_id},
            )
        ).scalars()
    )
    if not acts_for_any(viewer, await centres_of_person(conn, person_id) | reported_to):
        raise Forbidden("only the social workers of the person's centres may do this")


def _may_touch_role(viewer: Viewer, person_id: int, role: str) -> None:
    """Social workers suspend residents only; an administrator also suspends a social
    worker (never an administrator, nor themself: someone must stay able to undo it)."""
    if role == "resident":
        return
    if not viewer.is_admin or role != "social_worker" or person_id == viewer.id:
        raise Forbidden("staff accounts are managed by administrators")


async def _target(conn: AsyncConnection, person_id: int) -> tuple[str, str]:
    row = (
        await conn.execute(
            text("SELECT status, role FROM users WHERE id = :p FOR UPDATE"), {"p": person_id}
        )
    ).first()
    if row is None or row.status == "erased":
        raise NotFound("no such person")
    return row.status, row.role


async def suspend(
    conn: AsyncConnection,
    viewer: Viewer,
    person_id: int,
    data: SuspendIn,
    *,
    settings: Settings,
    now: datetime,
) -> Suspension:
    status, role = await _target(conn, person_id)
    await _may_suspend(conn, viewer, person_id)
    _may_touch_role(viewer, person_id, role)
    if status == "suspended":
        raise Conflict("this person is already suspended")
    if status == "deactivated":
        raise Conflict("this staff account is deactivated")
    note = data.internal()
    counts = (
        await conn.execute(
            text(
                "SELECT (SELECT count(*) FROM matches WHERE volunteer_id = :p "
                "AND status = 'proposed') AS propositions, "
                "(SELECT count(*) FROM deliveries WHERE user_id = :p "
                "AND status IN ('pending', 'digest')) AS deliveries"
            ),
            {"p": person_id},
        )
    ).one()
    await set_actor(conn, viewer.id, note)
    # The triggers on users.status withdraw propositions and cancel deliveries.
    await conn.execute(
        text(
            "UPDATE users SET status = 'suspended', suspended_at = :now, suspended_by = :me, "
            "suspension_reason = :reason WHERE id = :p"
        ),
        {"now": now, "me": viewer.id, "reason": note, "p": person_id},
    )
    cancelled = await close_everything_of(
        conn, person_id, actor_id=viewer.id, reason=None, note=note, settings=settings, now=now
    )
    await conn.execute(text("DELETE FROM sessions WHERE user_id = :p"), {"p": person_id})
    await audit.record(conn, viewer, "person.suspend", "user", person_id)
    return Suspension(
        user_id=person_id,
        status="suspended",
        cancelled_matches=len(cancelled),
        withdrawn_propositions=counts.propositions,
        cancelled_deliveries=counts.deliveries,
    )


async def reinstate(
    conn: AsyncConnection, viewer: Viewer, person_id: int, data: SuspendIn
) -> Suspension:
    status, role = await _target(conn, person_id)
    await _may_suspend(conn, viewer, person_id)
    _may_touch_role(viewer, person_id, role)
    if status != "suspended":
        raise Conflict("this person is not suspended")
    data.internal()  # required, as for the suspension; the audit trail has the act
    await conn.execute(
        text(
            "UPDATE users SET status = 'active', suspended_at = NULL, suspended_by = NULL, "
            "suspension_reason = NULL WHERE id = :p"
        ),
        {"p": person_id},
    )
    await audit.record(conn, viewer, "person.reinstate", "user", person_id)
    return Suspension(
        user_id=person_id,
        status="active",
        cancelled_matches=0,
        withdrawn_propositions=0,
        cancelled_deliveries=0,
    )
