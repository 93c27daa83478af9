"""The follow-up list (aller-vers): people a centre should reach out to.

Four reasons put someone on it: a request nobody answered (raised by the matcher's
escalation), an isolated person without any activity for a while, a recurring visit
whose check-in was missed, and an account whose posts keep being withdrawn just after
their publication (raised by the withdrawal: posts/short_lived.py). Two more concern a
housing pair rather than one person (raised by housing/overdue.raise_overdue_steps): its
follow-up visit is due, or its trial period is over without an agreement or an end
recorded; recording that step closes the item. Each item records
who contacted the person, when, and the outcome. The two sweeps below run as worker
cron jobs; the unique index of ``followups`` makes each item appear once per stretch of
inactivity or per week.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import audit, clock
from voisins.accounts.access import Viewer, acts_for_any
from voisins.centres.service import own_centres
from voisins.errors import Conflict, Forbidden, Invalid, NotFound
from voisins.matching import checkins
from voisins.matching.scoring import MatchScore, match_score
from voisins.pagination import Page, paginate, window
from voisins.request_bodies import Input
from voisins.settings import Settings

FollowupReason = Literal[
    "no_response",
    "isolated",
    "missed_checkin",
    "short_lived_posts",
    "housing_visit_due",
    "housing_trial_over",
]


class ContactIn(Input):
    outcome: Annotated[str, Meta(min_length=3, max_length=1000)]
    # When the contact happened (a phone call yesterday); now by default.
    contacted_at: Annotated[datetime, Meta(tz=True)] | None = None


class CheckinIn(Input):
    visited_on: date
    # A short word about the visit, optional (matching/checkins.py).
    note: checkins.Note | None = None


class Checkin(msgspec.Struct, kw_only=True):
    id: int
    match_id: int
    visited_on: date
    note: str | None = None


class PersonContact(msgspec.Struct, kw_only=True):
    """Whom to call: the social worker of the person's centre needs their contact."""

    user_id: int
    display_name: str
    phone: str | None
    email: str | None


class Asked(msgspec.Struct, kw_only=True):
    """One volunteer the matcher asked about a request nobody answered, with why."""

    user_id: int
    display_name: str
    status: str
    score: MatchScore


class HousingPairDue(msgspec.Struct, kw_only=True):
    """The housing pair an overdue step concerns: the centre's social workers read the
    pair anyway (housing/pairs.py); its page has the rest. A name is null once its
    person's account is erased."""

    id: int
    host_name: str | None
    young_name: str | None
    # The visit's due date, or the last day of the trial period.
    due_on: date


class Followup(msgspec.Struct, kw_only=True):
    id: int
    reason: FollowupReason
    centre_id: int | None
    created_at: datetime
    post_id: int | None
    post_title: str | None
    match_id: int | None
    person: PersonContact | None
    contacted_at: datetime | None
    contacted_by: int | None
    outcome: str | None
    # A request nobody answered: whom the matcher asked, best score first.
    asked: list[Asked] = []
    # An overdue housing step: the pair and the due date.
    housing_pair: HousingPairDue | None = None


# The person concerned: the isolated person, the request's author (or, for a missed
# check-in, the person visited). A housing item concerns a pair, not one person.
_LIST = """
SELECT f.id, f.reason, f.centre_id, f.created_at, f.post_id, f.match_id,
       f.contacted_at, f.contacted_by, f.outcome, p.title AS post_title,
       u.id AS person_id, u.display_name, u.phone, u.email,
       f.housing_pair_id, f.period, hu.display_name AS host_name,
       yu.display_name AS young_name
FROM followups f
LEFT JOIN matches m ON m.id = f.match_id
LEFT JOIN posts p ON p.id = COALESCE(f.post_id, m.post_id)
LEFT JOIN users u ON u.id = COALESCE(f.person_id, p.author_id)
LEFT JOIN housing_pairs hp ON hp.id = f.housing_pair_id
LEFT JOIN housing_applications ha ON ha.id = hp.host_application_id
LEFT JOIN users hu ON hu.id = ha.person_id
LEFT JOIN housing_applications ya ON ya.id = hp.young_application_id
LEFT JOIN users yu ON yu.id = ya.person_id
WHERE (f.centre_id = ANY(:centres) OR (CAST(:admin AS boolean) AND f.centre_id IS NULL))
  AND (f.housing_pair_id IS NULL OR f.centre_id = ANY(:own))
  AND (CAST(:open_only AS boolean) IS FALSE OR f.contacted_at IS NULL)
ORDER BY f.contacted_at IS NOT NULL, f.created_at, f.id
LIMIT :limit OFFSET :offset
"""


def _require_followup_reader(viewer: Viewer) -> None:
    """Social workers follow their centres' items; administrators those no centre covers
    (a request or a burst of short-lived posts outside every territory)."""
    if not (viewer.is_social_worker or viewer.is_admin):
        raise Forbidden("only social workers and administrators follow people up")


_ASKED = """
SELECT m.post_id, m.status, m.score_breakdown, m.distance_m, u.id AS user_id, u.display_name
FROM matches m JOIN users u ON u.id = m.volunteer_id
WHERE m.post_id = ANY(:posts)
ORDER BY m.post_id, m.score DESC, m.id
"""


async def _with_asked(conn: AsyncConnection, items: list[Followup]) -> list[Followup]:
    """Attach to each unanswered request whom the matcher asked and why (the covering
    centre may know it: it reaches out to the same people)."""
    posts = sorted({i.post_id for i in items if i.reason == "no_response" and i.post_id})
    if not posts:
        return items
    asked: dict[int, list[Asked]] = {}
    for row in await conn.execute(text(_ASKED), {"posts": posts}):
        asked.setdefault(row.post_id, []).append(
            Asked(
                user_id=row.user_id,
                display_name=row.display_name,
                status=row.status,
                score=match_score(row.score_breakdown, row.distance_m),
            )
        )
    return [
        msgspec.structs.replace(i, asked=asked.get(i.post_id, []))
        if i.reason == "no_response" and i.post_id
        else i
        for i in items
    ]


def _followup(row: Any) -> Followup:
    person = None
    if row.person_id is not None:
        person = PersonContact(
            user_id=row.person_id,
            display_name=row.display_name,
            phone=row.phone,
            email=row.email,
        )
    housing_pair = None
    if row.housing_pair_id is not None:
        housing_pair = HousingPairDue(
            id=row.housing_pair_id,
            host_name=row.host_name,
            young_name=row.young_name,
            due_on=row.period,
        )
    return Followup(
        id=row.id,
        reason=row.reason,
        centre_id=row.centre_id,
        created_at=row.created_at,
        post_id=row.post_id,
        post_title=row.post_title,
        match_id=row.match_id,
        person=person,
        contacted_at=row.contacted_at,
        contacted_by=row.contacted_by,
        outcome=row.outcome,
        housing_pair=housing_pair,
    )


async def list_followups(
    conn: AsyncConnection, viewer: Viewer, *, open_only: bool, page: int, per_page: int
) -> Page[Followup]:
    _require_followup_reader(viewer)
    rows = (
        await conn.execute(
            text(_LIST),
            {
                "centres": sorted(viewer.centre_ids),
                # A housing pair is its centre's alone, not its partners' (housing/).
                "own": sorted(await own_centres(conn, viewer)),
                "admin": viewer.is_admin,
                "open_only": open_only,
                **window(page, per_page),
            },
        )
    ).all()
    items = await _with_asked(conn, [_followup(r) for r in rows])
    for item in items[:per_page]:
        await audit.record(conn, viewer, "followup.view", "followup", item.id)
    return paginate(items, page, per_page)


async def record_contact(
    conn: AsyncConnection, viewer: Viewer, followup_id: int, data: ContactIn, *, now: datetime
) -> Followup:
    _require_followup_reader(viewer)
    centre = (
        await conn.execute(
            text("SELECT centre_id, housing_pair_id FROM followups WHERE id = :id FOR UPDATE"),
            {"id": followup_id},
        )
    ).first()
    if centre is None or not (
        acts_for_any(viewer, {centre.centre_id}) or (viewer.is_admin and centre.centre_id is None)
    ):
        raise NotFound("no such follow-up")
    if centre.housing_pair_id is not None and centre.centre_id not in await own_centres(
        conn, viewer
    ):
        raise NotFound("no such follow-up")
    contacted_at = data.contacted_at or now
    if contacted_at > now + timedelta(minutes=5):
        raise Invalid.field("contacted_at", "cannot be in the future")
    updated = (
        await conn.execute(
            text(
                "UPDATE followups SET contacted_at = :at, contacted_by = :me, outcome = :outcome "
                "WHERE id = :id AND contacted_at IS NULL RETURNING id"
            ),
            {
                "at": contacted_at,
                "me": viewer.id,
                "outcome": data.outcome.strip(),
                "id": followup_id,
            },
        )
    ).first()
    if updated is None:
        raise Conflict("this follow-up already has its contact recorded")
    await audit.record(conn, viewer, "followup.contact", "followup", followup_id)
    row = (
        await conn.execute(
            text(_LIST.replace("WHERE (f.centre_id", "WHERE f.id = :id AND (f.centre_id")),
            {
                "centres": [centre.centre_id] if centre.centre_id is not None else [],
                "own": [centre.centre_id] if centre.centre_id is not None else [],
                "admin": viewer.is_admin,
                "open_only": False,
                "id": followup_id,
                "limit": 1,
                "offset": 0,
            },
        )
    ).one()
    [item] = await _with_asked(conn, [_followup(row)])
    return item


async def record_checkin(
    conn: AsyncConnection, viewer: Viewer, match_id: int, data: CheckinIn, *, today: date
) -> Checkin:
    """Either side of a confirmed weekly visit says a visit took place. The rule is the
    arrangement's own (matching/checkins.py), which the pages follow too."""
    entry = await checkins.record_visit(
        conn,
        viewer,
        match_id,
        checkins.VisitIn(visited_on=data.visited_on, note=data.note),
        now=clock.now(),
        today=today,
    )
    return Checkin(id=entry.id, match_id=match_id, visited_on=entry.visited_on, note=entry.note)


# Isolated people: flagged isolated_elderly, active, nothing happened for them for N days
# (no post, no match change on their posts, no visit recorded, no contact by a centre).
# The period is the day of their last activity, so a stretch of silence raises one item.
_ISOLATED = """
WITH activity AS (
    SELECT u.id AS person_id, GREATEST(
        u.created_at,
        (SELECT max(p.created_at) FROM posts p WHERE p.author_id = u.id),
        (SELECT max(h.at) FROM match_history h JOIN matches m ON m.id = h.match_id
         JOIN posts p ON p.id = m.post_id WHERE p.author_id = u.id),
        (SELECT max(c.created_at) FROM checkins c JOIN matches m ON m.id = c.match_id
         JOIN posts p ON p.id = m.post_id WHERE p.author_id = u.id),
        (SELECT max(f.contacted_at) FROM followups f WHERE f.person_id = u.id)
    ) AS last_at
    FROM users u
    WHERE u.status = 'active' AND 'isolated_elderly' = ANY(u.vulnerability)
), centres AS (
    SELECT a.person_id, a.last_at, c.centre_id
    FROM activity a
    JOIN LATERAL (
        SELECT centre_id FROM consents WHERE resident_id = a.person_id
                                        AND withdrawn_at IS NULL
        UNION
        SELECT pc.centre_id FROM post_centres pc JOIN posts p ON p.id = pc.post_id
        WHERE p.author_id = a.person_id
    ) c ON true
    WHERE a.last_at < :before
)
INSERT INTO followups (reason, person_id, centre_id, period)
SELECT 'isolated', person_id, centre_id, CAST(last_at AS date) FROM centres
ON CONFLICT DO NOTHING
RETURNING id
"""

# Recurring visits: a confirmed weekly match with no check-in for N days (counting from
# confirmation). The period is the week, so a missed week raises one item.
_MISSED = """
INSERT INTO followups (reason, match_id, centre_id, period)
SELECT 'missed_checkin', m.id, pc.centre_id,
       CAST(date_trunc('week', CAST(:now AS timestamptz), 'Europe/Paris') AS date)
FROM matches m
JOIN posts p ON p.id = m.post_id AND p.schedule_kind = 'weekly'
JOIN post_centres pc ON pc.post_id = p.id
WHERE m.status = 'confirmed' AND m.confirmed_at < :before
  AND NOT EXISTS (SELECT 1 FROM checkins c
                  WHERE c.match_id = m.id AND c.visited_on >= CAST(:before AS date))
ON CONFLICT DO NOTHING
RETURNING id
"""


async def raise_followups(conn: AsyncConnection, settings: Settings, *, now: datetime) -> int:
    """Add isolated people and missed visits to their centres' follow-up lists."""
    isolated = (
        await conn.execute(
            text(_ISOLATED),
            {"before": now - timedelta(days=settings.followup_isolated_days)},
        )
    ).all()
    missed = (
        await conn.execute(
            text(_MISSED),
            {"now": now, "before": now - timedelta(days=settings.followup_checkin_days)},
        )
    ).all()
    return len(isolated) + len(missed)
