"""Reading matches: the volunteer's propositions and the author's follow-up of a request.

Distances are bands between public cells; identities, contacts and the exact address
appear only once a match is confirmed (and after review when sensitive).

One module at about 400 lines: the volunteer's and the author's reads share the match
columns and the rules of what is revealed when, which are the point of this file."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import clock
from voisins.accounts.access import Viewer
from voisins.accounts.assisted import can_act_for
from voisins.accounts.volunteer import RECORD_VALIDITY
from voisins.errors import Forbidden, NotFound
from voisins.geo import sql as geosql
from voisins.geo.bands import public_distance
from voisins.geo.grid import Cell
from voisins.matching.schemas import (
    Contact,
    HistoryEntry,
    MatchForAuthor,
    PostAnswers,
    PostSummary,
    Proposition,
    RequesterTrust,
    VolunteerTrust,
    WhyYou,
)
from voisins.pagination import Page, paginate, window
from voisins.posts.reads import get_post, schedule_of
from voisins.posts.schemas import ExactLocation, PostPrivate, PublicCell

REVEALED = ("confirmed", "completed")
# What a confirmed match reveals (the other side's name, the exact address, the
# contacts they chose to share) stays shown until 30 days after it ended, and never
# while either side blocks the other (sql/0020_conversations.sql).
_SHOWN = (
    "(m.status IN ('confirmed', 'completed') AND match_still_shown(m.closed_at, now()) "
    "AND NOT blocked_between(m.volunteer_id, p.author_id))"
)
# Contacts are a choice (issue 15): a side's phone and e-mail show only once that side
# shared them from the conversation.
_SHARED = (
    "(SELECT cs.{what} FROM contact_shares cs WHERE cs.match_id = m.id AND cs.side = '{side}')"
)
# Trust signals (issue 15), read in the same query as what they go with: a subselect
# per row on an index, never a query per row. Each depends on the person only, never
# on who looks nor on anyone's exact point.
# An assisted resident's supporting centre: the one that holds their current consent
# (the latest when there are several).
_SUPPORTED_BY = """(SELECT c.name FROM consents k JOIN centres c ON c.id = k.centre_id
    WHERE a.assisted AND k.resident_id = a.id AND k.withdrawn_at IS NULL
    ORDER BY k.obtained_at DESC, k.id DESC LIMIT 1)"""
# A vetted volunteer (accounts/vetting.py: ID checked and an extract within
# RECORD_VALIDITY, compared with :valid_since) is vetted by a centre of the social
# worker who recorded the extract: the one whose territory holds the volunteer's public
# cell when there is one (vetting is done by the centres of the volunteer's home; the
# cell, not the exact home, so that moving the home within its cell changes nothing
# anyone sees), else their first.
_VETTED_BY = f"""CASE WHEN v.id_checked_at IS NOT NULL
        AND v.record_extract_date >= CAST(:valid_since AS date) THEN
    (SELECT c.name FROM centre_members cm JOIN centres c ON c.id = cm.centre_id
     WHERE cm.user_id = v.record_checked_by
     ORDER BY {geosql.contains_point("c.territory", "v.cell_centre")} DESC, c.id LIMIT 1)
    END"""
# The month only, in the neighbourhood's time.
_MEMBER_SINCE = "to_char(u.created_at AT TIME ZONE 'Europe/Paris', 'YYYY-MM')"
# Completed is a final state; the (volunteer_id, status) index counts them.
_HELPS_COMPLETED = """(SELECT count(*) FROM matches d
    WHERE d.volunteer_id = m.volunteer_id AND d.status = 'completed')"""

# The states of a proposition nobody has said yes to: the author sees them only as counts.
NOT_ANSWERED = ("proposed", "declined", "expired", "withdrawn")
# A reviewing social worker needs to know whom they approve.
UNDER_REVIEW = ("pending_review", "approved")

_PROPOSITIONS = f"""
SELECT m.id, m.status, m.proposed_at, m.deadline_at, m.post_id,
       COALESCE(o.cell_key, v.cell_key) AS from_cell,
       p.kind, p.category, p.title, p.description, p.urgency, p.sensitive,
       p.volunteers_needed, p.schedule_kind, p.starts_at, p.ends_at, p.weekly_days,
       p.weekly_start, p.weekly_end, p.cell_key,
       {geosql.lon_lat("p.cell_centre", "cell_")},
       {geosql.lon_lat(f"CASE WHEN {_SHOWN} THEN p.point END")},
       CASE WHEN {_SHOWN} THEN p.address END AS address, {_SHOWN} AS shown,
       a.id AS author_id, a.display_name AS author_name,
       CASE WHEN {_SHARED.format(what="email", side="requester")} THEN a.email END
           AS author_email,
       CASE WHEN {_SHARED.format(what="phone", side="requester")} THEN a.phone END
           AS author_phone,
       {_SUPPORTED_BY} AS author_supported_by,
       ARRAY(SELECT unnest(p.skill_tags)
             INTERSECT SELECT unnest(COALESCE(o.skill_tags, v.skill_tags))) AS skills_matched,
       ARRAY(SELECT unnest(p.languages)
             INTERSECT SELECT unnest(COALESCE(o.languages, v.languages))) AS languages_matched,
       COALESCE(COALESCE(o.slots, v.availability) && p.slots, false) AS available
FROM matches m
JOIN posts p ON p.id = m.post_id
JOIN users a ON a.id = p.author_id
LEFT JOIN volunteers v ON v.user_id = m.volunteer_id
LEFT JOIN posts o ON o.id = m.offer_id
"""


def _band(from_cell: str | None, to_cell: str) -> Any:
    origin = Cell.from_key(from_cell) if from_cell else Cell.from_key(to_cell)
    return public_distance(origin, Cell.from_key(to_cell))


def _proposition(row: Any) -> Proposition:
    revealed = row.shown
    distance = _band(row.from_cell, row.cell_key)
    return Proposition(
        id=row.id,
        status=row.status,
        post=PostSummary(
            id=row.post_id,
            kind=row.kind,
            category=row.category,
            title=row.title,
            description=row.description,
            schedule=schedule_of(row),
            urgency=row.urgency,
            sensitive=row.sensitive,
            volunteers_needed=row.volunteers_needed,
            cell=PublicCell(row.cell_key, row.cell_lon, row.cell_lat),
        ),
        distance=distance,
        why=WhyYou(
            category=row.category,
            skills=sorted(row.skills_matched),
            languages=sorted(row.languages_matched),
            available=row.available,
            distance=distance,
        ),
        proposed_at=row.proposed_at,
        deadline_at=row.deadline_at,
        # Before saying yes, a volunteer may know that a centre supports the person
        # (a named centre, nothing about the person): it is part of deciding.
        requester_trust=RequesterTrust(supported_by=row.author_supported_by),
        requester=Contact(row.author_id, row.author_name, row.author_email, row.author_phone)
        if revealed
        else None,
        location=ExactLocation(row.lon, row.lat, row.address) if revealed else None,
    )


# A volunteer's propositions, the live ones or all: read on every visit, built once.
_MY_PROPOSITIONS = {
    active_only: text(
        _PROPOSITIONS + " WHERE m.volunteer_id = :me "
        + ("AND m.status IN ('proposed', 'accepted', 'pending_review', 'approved', "
           "'confirmed') " if active_only else "")
        + "ORDER BY m.proposed_at DESC, m.id DESC LIMIT :limit OFFSET :offset"
    )
    for active_only in (True, False)
}  # fmt: skip


async def list_propositions(
    conn: AsyncConnection, viewer: Viewer, *, active_only: bool, page: int, per_page: int
) -> Page[Proposition]:
    rows = (
        await conn.execute(
            _MY_PROPOSITIONS[active_only], {"me": viewer.id, **window(page, per_page)}
        )
    ).all()
    return paginate([_proposition(r) for r in rows], page, per_page)


async def get_proposition(conn: AsyncConnection, viewer: Viewer, match_id: int) -> Proposition:
    row = (
        await conn.execute(
            text(_PROPOSITIONS + " WHERE m.id = :id AND m.volunteer_id = :me"),
            {"id": match_id, "me": viewer.id},
        )
    ).first()
    if row is None:
        raise NotFound("no such proposition for you")
    return _proposition(row)


async def _may_follow(conn: AsyncConnection, viewer: Viewer, post_id: int) -> bool:
    row = (
        await conn.execute(
            text(
                "SELECT author_id, ARRAY(SELECT centre_id FROM post_centres pc "
                "WHERE pc.post_id = p.id) AS centre_ids FROM posts p WHERE p.id = :id"
            ),
            {"id": post_id},
        )
    ).first()
    if row is None:
        return False
    if viewer.id == row.author_id:
        return True
    if viewer.is_social_worker and viewer.centre_ids & set(row.centre_ids):
        return True
    return await can_act_for(conn, viewer, row.author_id)


async def post_matches(conn: AsyncConnection, viewer: Viewer, post_id: int) -> PostAnswers:
    if not await _may_follow(conn, viewer, post_id):
        raise NotFound("no such post of yours")
    counts = (
        await conn.execute(
            text(
                """
                SELECT count(*) AS asked,
                       count(*) FILTER (WHERE status = 'proposed') AS waiting,
                       count(*) FILTER (WHERE status IN ('declined', 'expired')) AS said_no
                FROM matches WHERE post_id = :post
                """
            ),
            {"post": post_id},
        )
    ).one()
    rows = (
        await conn.execute(
            text(
                """
                SELECT m.id, m.status, m.responded_at,
                       COALESCE(o.cell_key, v.cell_key) AS from_cell, p.cell_key,
                       u.id AS volunteer_id, u.display_name, u.email, u.phone,
                       {shown} AS shown,
                       coalesce({shared_email}, false) AS shared_email,
                       coalesce({shared_phone}, false) AS shared_phone,
                       {vetted_by} AS vetted_by, {member_since} AS member_since,
                       {helps_completed} AS helps_completed
                FROM matches m
                JOIN posts p ON p.id = m.post_id
                JOIN users u ON u.id = m.volunteer_id
                LEFT JOIN volunteers v ON v.user_id = m.volunteer_id
                LEFT JOIN posts o ON o.id = m.offer_id
                WHERE m.post_id = :post AND m.status <> ALL(CAST(:hidden AS text[]))
                ORDER BY m.responded_at, m.id
                """.format(
                    shown=_SHOWN,
                    shared_email=_SHARED.format(what="email", side="volunteer"),
                    shared_phone=_SHARED.format(what="phone", side="volunteer"),
                    vetted_by=_VETTED_BY,
                    member_since=_MEMBER_SINCE,
                    helps_completed=_HELPS_COMPLETED,
                )
            ),
            {
                "post": post_id,
                "hidden": list(NOT_ANSWERED),
                # vetting_of's day: the French day (schedule.paris_today).
                "valid_since": clock.today() - RECORD_VALIDITY,
            },
        )
    ).all()
    return PostAnswers(
        asked=counts.asked,
        waiting=counts.waiting,
        said_no=counts.said_no,
        answers=[_answer(r, viewer) for r in rows],
    )


def _answer(row: Any, viewer: Viewer) -> MatchForAuthor:
    volunteer = _volunteer_contact(row, viewer)
    return MatchForAuthor(
        id=row.id,
        status=row.status,
        distance=_band(row.from_cell, row.cell_key),
        responded_at=row.responded_at,
        volunteer=volunteer,
        # The trust signals go with the volunteer's name, never on an anonymous answer:
        # a centre, a month and a count together single a volunteer out, and would let
        # an author link one volunteer's anonymous answers across requests and put
        # their distance bands together. Before confirmation the author decides
        # nothing anyway; the reviewing social worker, who does, sees them.
        volunteer_trust=VolunteerTrust(
            vetted_by=row.vetted_by,
            member_since=row.member_since,
            helps_completed=row.helps_completed,
        )
        if volunteer is not None
        else None,
    )


def _volunteer_contact(row: Any, viewer: Viewer) -> Contact | None:
    """The volunteer as the request's side sees them: named once the match is
    confirmed, with the contacts they shared. A social worker (of a covering centre, or
    acting for the author: ``_may_follow``) needs to know whom they approve, and
    reaches the volunteer directly: the centres hold volunteers' contacts anyway (the
    vetting record). Contacts are a choice between the two neighbours."""
    if viewer.is_social_worker and (row.status in UNDER_REVIEW or row.shown):
        return Contact(row.volunteer_id, row.display_name, row.email, row.phone)
    if not row.shown:
        return None
    return Contact(
        row.volunteer_id,
        row.display_name,
        row.email if row.shared_email else None,
        row.phone if row.shared_phone else None,
    )


class FollowedPost(msgspec.Struct, kw_only=True):
    """One post of an assisted resident, as the social worker acting for them follows it."""

    post: PostPrivate
    answers: PostAnswers


async def assisted_posts(
    conn: AsyncConnection, viewer: Viewer, resident_id: int, page: int, per_page: int
) -> Page[FollowedPost]:
    """An assisted resident's posts, newest first, each with its answers, for a social
    worker who acts for them; anyone else is refused (and nobody is there: not found)."""
    resident = (
        await conn.execute(
            text("SELECT 1 FROM users WHERE id = :id AND assisted"), {"id": resident_id}
        )
    ).first()
    if resident is None:
        raise NotFound("no such assisted resident")
    if not await can_act_for(conn, viewer, resident_id):
        raise Forbidden("you do not act for this resident")
    rows = await conn.execute(
        text(
            "SELECT id FROM posts WHERE author_id = :r "
            "ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset"
        ),
        {"r": resident_id, **window(page, per_page)},
    )
    found = paginate(list(rows.scalars()), page, per_page)
    items = []
    for post_id in found.items:
        # get_post gives the private view to a worker acting for the author, and audits it.
        shown = await get_post(conn, viewer, post_id)
        if isinstance(shown, PostPrivate):
            items.append(
                FollowedPost(post=shown, answers=await post_matches(conn, viewer, post_id))
            )
    return Page(items=items, page=found.page, per_page=per_page, has_more=found.has_more)


async def history(conn: AsyncConnection, viewer: Viewer, match_id: int) -> list[HistoryEntry]:
    row = (
        await conn.execute(
            text("SELECT post_id, volunteer_id, status FROM matches WHERE id = :id"),
            {"id": match_id},
        )
    ).first()
    # The request's side follows only the matches someone said yes to: the history of
    # the others would tell who was asked and when (the batch).
    if row is None or not (
        viewer.id == row.volunteer_id
        or (row.status not in NOT_ANSWERED and await _may_follow(conn, viewer, row.post_id))
    ):
        raise NotFound("no such match")
    rows = await conn.execute(
        text(
            "SELECT h.from_status, h.to_status, h.actor_id, h.reason, h.at, "
            "m.status AS now_status, a.role IN ('social_worker', 'admin') AS by_staff "
            "FROM match_history h JOIN matches m ON m.id = h.match_id "
            "LEFT JOIN users a ON a.id = h.actor_id WHERE h.match_id = :id ORDER BY h.id"
        ),
        {"id": match_id},
    )
    entries = []
    for r in rows:
        # Who acted stays hidden between the two sides until the match is confirmed;
        # social workers, who review, always see it.
        shown = viewer.is_staff or r.actor_id == viewer.id or r.now_status in REVEALED
        # A staff decision's reason is its internal note (issue 14): staff read it here;
        # the two sides get the message staff chose to send, if any, by notification.
        reason = r.reason if viewer.is_staff or not r.by_staff else None
        entries.append(
            HistoryEntry(r.from_status, r.to_status, r.actor_id if shown else None, reason, r.at)
        )
    return entries


async def my_feedback(conn: AsyncConnection, viewer: Viewer, post_id: int) -> dict[int, str]:
    """The feedback I gave on a request's matches: match id → thanks / no_show."""
    rows = await conn.execute(
        text(
            "SELECT f.match_id, f.kind FROM feedback f JOIN matches m ON m.id = f.match_id "
            "WHERE m.post_id = :post AND f.author_id = :me"
        ),
        {"post": post_id, "me": viewer.id},
    )
    return {r.match_id: r.kind for r in rows}


async def feedback_given(
    conn: AsyncConnection, viewer: Viewer, match_ids: list[int]
) -> dict[int, str]:
    """The feedback I gave on these matches: match id → thanks / no_show."""
    rows = await conn.execute(
        text("SELECT match_id, kind FROM feedback WHERE match_id = ANY(:ids) AND author_id = :me"),
        {"ids": match_ids, "me": viewer.id},
    )
    return {r.match_id: r.kind for r in rows}
