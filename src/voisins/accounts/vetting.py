"""Volunteer vetting as the centres do it: the record (ID checked, criminal-record
extract), finding a volunteer by name, e-mail or phone, the volunteers awaiting vetting
and the extracts that run out soon.

Whose record: a social worker finds, reads and writes the vetting of the volunteers
who live within the territory of a centre they are a member of — not of a partner
centre, whose territory does not cover the volunteer's home (issue 14: a record written
by another centre made a volunteer eligible for sensitive requests there); an
administrator reads everyone's. The API and the centre's
pages both call these functions, so one rule holds for both. The territory test uses
the volunteer's exact home, server-side only, like a post's covering centres; nothing
here returns a place. Every volunteer shown is traced in the audit log, like reading
one record.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import audit, clock
from voisins.accounts.access import Viewer, require_social_worker
from voisins.accounts.volunteer import RECORD_VALIDITY, Vetting, VettingIn, vetting_of
from voisins.categories import SENSITIVE_CATEGORIES
from voisins.errors import Forbidden, Invalid, NotFound
from voisins.geo import sql as geosql
from voisins.pagination import Page, paginate, window

# Extracts running out within this many days are listed, so that a new one is asked
# for in time (a volunteer whose extract lapses drops out of sensitive requests).
EXPIRING_WITHIN = timedelta(days=60)
SEARCH_LIMIT = 20
# Fewer digits than this would match half the phone book: the query is then a name.
PHONE_DIGITS = 6


class VolunteerBrief(msgspec.Struct, kw_only=True):
    """Who the volunteer is, how to reach them to arrange the check, what they asked
    to do that needs vetting, and their record. Never where they live."""

    id: int
    display_name: str
    email: str | None
    phone: str | None
    member_since: date
    sensitive_categories: list[str]
    vetting: Vetting


_COLUMNS = """
u.id, u.display_name, u.email, u.phone, u.created_at, v.categories,
v.id_checked_at, v.record_extract_date, v.id_checked_by, v.record_checked_by
"""
# The viewer's own centres (memberships; partners excluded).
_MY_CENTRES = "(SELECT m.centre_id FROM centre_members m WHERE m.user_id = :me)"
# Whether a volunteer's home lies within a territory of the viewer's centres (one
# volunteer, by id).
_IN_MY_TERRITORIES = (
    f"EXISTS (SELECT 1 FROM centres c WHERE c.id IN {_MY_CENTRES} AND "
    + geosql.contains_point("c.territory", "v.point")
    + ")"
)
# The volunteers of the viewer's territories, for the lists and the search: started
# from the territories (a few polygons, the index on volunteers.point), not from every
# volunteer tested against them; a home in two partners' territories counts once.
_MY_VOLUNTEERS = (
    "volunteers v JOIN (SELECT DISTINCT t.user_id FROM centres c JOIN volunteers t ON "
    + geosql.contains_point("c.territory", "t.point")
    + f" WHERE c.id IN {_MY_CENTRES}) AS mine ON mine.user_id = v.user_id"
)
_NOT_VETTED = (
    "(v.id_checked_at IS NULL OR v.record_extract_date IS NULL "
    "OR v.record_extract_date < :valid_since)"
)
_ASKS_SENSITIVE = "v.categories && CAST(:sensitive AS text[])"


def _today() -> date:
    # vetting_of tells "vetted" against the same day.
    return clock.today()


def _valid_since() -> date:
    """The oldest extract still current today."""
    return _today() - RECORD_VALIDITY


def _require_reader(viewer: Viewer) -> None:
    if not (viewer.is_social_worker or viewer.is_admin):
        raise Forbidden("only social workers and administrators read vetting records")


def _scope(viewer: Viewer) -> tuple[str, dict[str, Any]]:
    """The SQL condition (on ``v``, the volunteers row) of the records ``viewer`` may
    see, and its parameters."""
    if viewer.is_admin:
        return "TRUE", {}
    return _IN_MY_TERRITORIES, {"me": viewer.id}


def _volunteers(viewer: Viewer) -> tuple[str, dict[str, Any]]:
    """The FROM clause (``v``) of the volunteers ``viewer`` may see, and its parameters."""
    if viewer.is_admin:
        return "volunteers v", {}
    return _MY_VOLUNTEERS, {"me": viewer.id}


def _brief(row: Any) -> VolunteerBrief:
    return VolunteerBrief(
        id=row.id,
        display_name=row.display_name,
        email=row.email,
        phone=row.phone,
        member_since=row.created_at.date(),
        sensitive_categories=sorted(set(row.categories) & SENSITIVE_CATEGORIES),
        vetting=vetting_of(
            row.id_checked_at, row.record_extract_date, row.id_checked_by, row.record_checked_by
        ),
    )


async def _seen(conn: AsyncConnection, viewer: Viewer, items: list[VolunteerBrief]) -> None:
    for item in items:
        await audit.record(conn, viewer, "vetting.view", "volunteer", item.id)


async def _one(conn: AsyncConnection, viewer: Viewer, volunteer_id: int) -> Any:
    """The volunteer's row when ``viewer`` may see it. Someone who is no volunteer is
    not found; a volunteer of another territory is refused (the error mapper traces the
    refusal)."""
    scope, params = _scope(viewer)
    row = (
        await conn.execute(
            text(
                f"SELECT {_COLUMNS}, {scope} AS mine FROM volunteers v "
                "JOIN users u ON u.id = v.user_id WHERE v.user_id = :id AND u.status = 'active'"
            ),
            {"id": volunteer_id, **params},
        )
    ).first()
    if row is None:
        raise NotFound("no such volunteer")
    if not row.mine:
        raise Forbidden("this volunteer lives outside the territories of your centres")
    return row


async def volunteer_record(
    conn: AsyncConnection, viewer: Viewer, volunteer_id: int
) -> VolunteerBrief:
    """One volunteer and their vetting record (audited)."""
    _require_reader(viewer)
    brief = _brief(await _one(conn, viewer, volunteer_id))
    await _seen(conn, viewer, [brief])
    return brief


async def get_vetting(conn: AsyncConnection, viewer: Viewer, volunteer_id: int) -> Vetting:
    return (await volunteer_record(conn, viewer, volunteer_id)).vetting


async def set_vetting(
    conn: AsyncConnection, viewer: Viewer, volunteer_id: int, data: VettingIn
) -> Vetting:
    """Record an ID check or an extract: social workers, for volunteers of their
    territories (the check is done in person, at the centre)."""
    require_social_worker(viewer)
    if data.id_checked_at is not None and data.id_checked_at > clock.now() + timedelta(minutes=5):
        raise Invalid.field("id_checked_at", "cannot be in the future")
    if data.record_extract_date is not None and data.record_extract_date > _today():
        raise Invalid.field("record_extract_date", "cannot be in the future")
    await _one(conn, viewer, volunteer_id)
    row = (
        await conn.execute(
            text(
                """
                UPDATE volunteers SET
                    id_checked_at = COALESCE(:id_at, id_checked_at),
                    id_checked_by = CASE WHEN :id_at IS NULL THEN id_checked_by ELSE :me END,
                    record_extract_date = COALESCE(:extract, record_extract_date),
                    record_checked_by = CASE WHEN :extract IS NULL THEN record_checked_by
                                             ELSE :me END,
                    updated_at = now()
                WHERE user_id = :id
                RETURNING id_checked_at, record_extract_date, id_checked_by, record_checked_by
                """
            ),
            {
                "id_at": data.id_checked_at,
                "extract": data.record_extract_date,
                "me": viewer.id,
                "id": volunteer_id,
            },
        )
    ).one()
    await audit.record(conn, viewer, "vetting.update", "volunteer", volunteer_id)
    return vetting_of(
        row.id_checked_at, row.record_extract_date, row.id_checked_by, row.record_checked_by
    )


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"


def _phone_digits(query: str) -> str | None:
    """The digits of a phone number as the French write it (``06 12…`` or ``+33 6 12…``),
    or None when the query is not one."""
    if re.search(r"[^\d\s.+()-]", query):
        return None
    digits = re.sub(r"\D", "", query)
    if digits.startswith("33") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits if len(digits) >= PHONE_DIGITS else None


async def search(conn: AsyncConnection, viewer: Viewer, query: str) -> list[VolunteerBrief]:
    """Volunteers of the viewer's territories whose name or e-mail contains ``query``,
    or whose phone number does; by name. The search and everyone found are traced."""
    _require_reader(viewer)
    query = query.strip()
    if not 2 <= len(query) <= 100:
        raise Invalid.field("q", "between 2 and 100 characters")
    volunteers, params = _volunteers(viewer)
    digits = _phone_digits(query)
    # Stored numbers are written as people typed them: compare digits, +33 as 0.
    phone = (
        "regexp_replace(regexp_replace(coalesce(u.phone, ''), '\\D', '', 'g'), "
        "'^33(\\d{9})$', '0\\1') LIKE :digits"
    )
    rows = await conn.execute(
        text(
            f"""
            SELECT {_COLUMNS} FROM {volunteers} JOIN users u ON u.id = v.user_id
            WHERE u.status = 'active'
              AND (u.display_name ILIKE :like OR u.email ILIKE :like
                   {"OR " + phone if digits else ""})
            ORDER BY lower(u.display_name), u.id LIMIT :limit
            """
        ),
        {
            "like": _like(query),
            "digits": _like(digits or ""),
            "limit": SEARCH_LIMIT,
            **params,
        },
    )
    found = [_brief(r) for r in rows]
    await audit.record(conn, viewer, "vetting.search", "volunteer")
    await _seen(conn, viewer, found)
    return found


async def _listed(
    conn: AsyncConnection,
    viewer: Viewer,
    condition: str,
    order: str,
    page: int,
    per_page: int,
    **extra: Any,
) -> Page[VolunteerBrief]:
    _require_reader(viewer)
    volunteers, params = _volunteers(viewer)
    rows = await conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM {volunteers} JOIN users u ON u.id = v.user_id "
            f"WHERE u.status = 'active' AND {condition} "
            f"ORDER BY {order}, u.id LIMIT :limit OFFSET :offset"
        ),
        {**params, **extra, **window(page, per_page)},
    )
    found = paginate([_brief(r) for r in rows], page, per_page)
    await _seen(conn, viewer, found.items)
    return found


async def awaiting_vetting(
    conn: AsyncConnection, viewer: Viewer, page: int, per_page: int
) -> Page[VolunteerBrief]:
    """Volunteers not vetted (never, or their extract is too old): those who offer
    sensitive help first — only vetted volunteers are proposed sensitive requests —
    then the longest waiting."""
    return await _listed(
        conn,
        viewer,
        _NOT_VETTED,
        f"({_ASKS_SENSITIVE}) DESC, v.created_at",
        page,
        per_page,
        valid_since=_valid_since(),
        sensitive=sorted(SENSITIVE_CATEGORIES),
    )


async def expiring_soon(
    conn: AsyncConnection, viewer: Viewer, page: int, per_page: int
) -> Page[VolunteerBrief]:
    """Vetted volunteers whose extract runs out within 60 days, soonest first."""
    since = _valid_since()
    return await _listed(
        conn,
        viewer,
        "v.id_checked_at IS NOT NULL AND v.record_extract_date BETWEEN :since AND :until",
        "v.record_extract_date",
        page,
        per_page,
        since=since,
        until=since + EXPIRING_WITHIN,
    )
