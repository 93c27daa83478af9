"""Centres: created and configured by administrators; read by anyone (they are public
institutions). The centres covering a point are those whose territory contains it."""

from __future__ import annotations

import json
from typing import Any, Literal

from msgspec import UNSET
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import audit
from voisins.accounts.access import Viewer, require_admin
from voisins.centres.schemas import (
    CentreIn,
    CentreOut,
    CentreUpdate,
    Member,
    MemberIn,
    MemberOut,
    PartnerIn,
)
from voisins.errors import Conflict, Forbidden, NotFound
from voisins.geo import sql as geosql
from voisins.geo.coordinates import LonLat
from voisins.geo.territory import ewkt, parse_territory
from voisins.pagination import Page, paginate, window

_SELECT = f"""
SELECT c.id, c.name, c.contact_email, c.contact_phone, c.address, c.moderation_level,
       ARRAY(SELECT CASE WHEN p.centre_id = c.id THEN p.partner_id ELSE p.centre_id END
             FROM centre_partnerships p WHERE c.id IN (p.centre_id, p.partner_id)
             ORDER BY 1) AS partner_ids,
       {geosql.as_geojson("c.territory")} AS territory
FROM centres c
"""


def _out(row: Any) -> CentreOut:
    values = dict(row._mapping)
    values["territory"] = json.loads(values["territory"])
    return CentreOut(**values)


async def get_centre(conn: AsyncConnection, centre_id: int) -> CentreOut:
    row = (await conn.execute(text(_SELECT + " WHERE c.id = :id"), {"id": centre_id})).first()
    if row is None:
        raise NotFound("no such centre")
    return _out(row)


async def list_centres(conn: AsyncConnection, page: int, per_page: int) -> Page[CentreOut]:
    rows = (
        await conn.execute(
            text(_SELECT + " ORDER BY c.name, c.id LIMIT :limit OFFSET :offset"),
            window(page, per_page),
        )
    ).all()
    return paginate([_out(r) for r in rows], page, per_page)


def _name_taken(exc: IntegrityError) -> Conflict:
    if "centres_name_key" in str(exc.orig):
        return Conflict("a centre with this name exists", {"name": "already used"})
    raise exc


async def create_centre(conn: AsyncConnection, viewer: Viewer, data: CentreIn) -> CentreOut:
    require_admin(viewer)
    territory = parse_territory(data.territory)
    try:
        async with conn.begin_nested():
            centre_id = (
                await conn.execute(
                    text(
                        f"""
                        INSERT INTO centres (name, contact_email, contact_phone, address,
                                             territory, moderation_level)
                        VALUES (:name, :email, :phone, :address,
                                {geosql.geom_from_ewkt("territory")}, :level)
                        RETURNING id
                        """
                    ),
                    {
                        "name": data.name.strip(),
                        "email": data.contact_email,
                        "phone": data.contact_phone,
                        "address": data.address,
                        "territory": ewkt(territory),
                        "level": data.moderation_level,
                    },
                )
            ).scalar_one()
    except IntegrityError as exc:
        raise _name_taken(exc) from None
    await audit.record(conn, viewer, "centre.create", "centre", centre_id)
    return await get_centre(conn, centre_id)


async def _is_centre_admin(conn: AsyncConnection, viewer: Viewer, centre_id: int) -> bool:
    row = (
        await conn.execute(
            text(
                "SELECT 1 FROM centre_members WHERE centre_id = :c AND user_id = :u "
                "AND member_role = 'centre_admin'"
            ),
            {"c": centre_id, "u": viewer.id},
        )
    ).first()
    return row is not None


async def update_centre(
    conn: AsyncConnection, viewer: Viewer, centre_id: int, data: CentreUpdate
) -> CentreOut:
    """Administrators change anything; a centre's own admins change its moderation level."""
    await get_centre(conn, centre_id)
    only_moderation = all(
        getattr(data, f) is UNSET
        for f in ("name", "territory", "contact_email", "contact_phone", "address")
    )
    if not viewer.is_admin and not (
        only_moderation
        and viewer.is_social_worker
        and await _is_centre_admin(conn, viewer, centre_id)
    ):
        raise Forbidden("only administrators (or the centre's admins, for its moderation level)")
    changes: dict[str, Any] = {}
    assignments: list[str] = []
    for field, column in (
        ("name", "name"),
        ("contact_email", "contact_email"),
        ("contact_phone", "contact_phone"),
        ("address", "address"),
        ("moderation_level", "moderation_level"),
    ):
        value = getattr(data, field)
        if value is not UNSET:
            changes[column] = value
            assignments.append(f"{column} = :{column}")
    if data.territory is not UNSET:
        changes["territory"] = ewkt(parse_territory(data.territory))
        assignments.append(f"territory = {geosql.geom_from_ewkt('territory')}")
    if assignments:
        try:
            async with conn.begin_nested():
                await conn.execute(
                    text(f"UPDATE centres SET {', '.join(assignments)} WHERE id = :id"),
                    {**changes, "id": centre_id},
                )
        except IntegrityError as exc:
            raise _name_taken(exc) from None
        await audit.record(conn, viewer, "centre.update", "centre", centre_id)
    return await get_centre(conn, centre_id)


async def add_member(
    conn: AsyncConnection, viewer: Viewer, centre_id: int, data: MemberIn
) -> Member:
    require_admin(viewer)
    await get_centre(conn, centre_id)
    role = (
        await conn.execute(text("SELECT role FROM users WHERE id = :id"), {"id": data.user_id})
    ).scalar()
    if role is None:
        raise NotFound("no such user", {"user_id": "no such user"})
    if role != "social_worker":
        raise Conflict("only social workers can be members of a centre", {"user_id": "not staff"})
    await conn.execute(
        text(
            "INSERT INTO centre_members (centre_id, user_id, member_role) VALUES (:c, :u, :r) "
            "ON CONFLICT (centre_id, user_id) DO UPDATE SET member_role = EXCLUDED.member_role"
        ),
        {"c": centre_id, "u": data.user_id, "r": data.member_role},
    )
    await audit.record(conn, viewer, "centre.member_set", "user", data.user_id)
    return Member(centre_id, data.user_id, data.member_role)


async def add_member_by_email(
    conn: AsyncConnection,
    viewer: Viewer,
    centre_id: int,
    email: str,
    member_role: Literal["social_worker", "centre_admin"],
) -> Member:
    """What an administrator knows of a colleague is their e-mail, not an account id."""
    require_admin(viewer)
    user_id = (
        await conn.execute(
            text("SELECT id FROM users WHERE email = :e AND status <> 'erased'"),
            {"e": email.strip().lower()},
        )
    ).scalar()
    if user_id is None:
        raise NotFound("no account with this e-mail", {"email": "no such account"})
    try:
        return await add_member(
            conn, viewer, centre_id, MemberIn(user_id=user_id, member_role=member_role)
        )
    except Conflict as exc:
        raise Conflict(exc.detail, {"email": "not a social worker"}) from None


async def list_members(conn: AsyncConnection, viewer: Viewer, centre_id: int) -> list[MemberOut]:
    require_admin(viewer)
    await get_centre(conn, centre_id)
    rows = await conn.execute(
        text(
            "SELECT m.centre_id, m.user_id, m.member_role, u.display_name, u.email, u.status "
            "FROM centre_members m JOIN users u ON u.id = m.user_id "
            "WHERE m.centre_id = :c ORDER BY u.display_name, u.id"
        ),
        {"c": centre_id},
    )
    return [MemberOut(**dict(r._mapping)) for r in rows]


async def remove_member(
    conn: AsyncConnection, viewer: Viewer, centre_id: int, user_id: int
) -> None:
    """The person stops acting for the centre at their next request: a session's centres
    are read from the memberships each time (accounts/sessions.resolve)."""
    require_admin(viewer)
    removed = (
        await conn.execute(
            text(
                "DELETE FROM centre_members WHERE centre_id = :c AND user_id = :u RETURNING user_id"
            ),
            {"c": centre_id, "u": user_id},
        )
    ).first()
    if removed is None:
        raise NotFound("no such member of this centre")
    await audit.record(conn, viewer, "centre.member_remove", "user", user_id)


async def add_partner(
    conn: AsyncConnection, viewer: Viewer, centre_id: int, data: PartnerIn
) -> CentreOut:
    require_admin(viewer)
    if data.partner_id == centre_id:
        raise Conflict("a centre cannot partner with itself", {"partner_id": "same centre"})
    await get_centre(conn, centre_id)
    try:
        await get_centre(conn, data.partner_id)
    except NotFound:
        raise NotFound("no such partner centre", {"partner_id": "no such centre"}) from None
    low, high = sorted((centre_id, data.partner_id))
    await conn.execute(
        text(
            "INSERT INTO centre_partnerships (centre_id, partner_id) VALUES (:a, :b) "
            "ON CONFLICT DO NOTHING"
        ),
        {"a": low, "b": high},
    )
    await audit.record(conn, viewer, "centre.partner_add", "centre", centre_id)
    return await get_centre(conn, centre_id)


async def remove_partner(
    conn: AsyncConnection, viewer: Viewer, centre_id: int, partner_id: int
) -> CentreOut:
    require_admin(viewer)
    low, high = sorted((centre_id, partner_id))
    await conn.execute(
        text("DELETE FROM centre_partnerships WHERE centre_id = :a AND partner_id = :b"),
        {"a": low, "b": high},
    )
    await audit.record(conn, viewer, "centre.partner_remove", "centre", centre_id)
    return await get_centre(conn, centre_id)


async def covering_centres(conn: AsyncConnection, point: LonLat) -> list[int]:
    """Centres whose territory contains the point (GiST index on territory)."""
    rows = await conn.execute(
        text(
            f"SELECT id FROM centres WHERE "
            f"{geosql.contains_point('territory', geosql.point_4326('lon', 'lat'))} ORDER BY id"
        ),
        {"lon": point.lon, "lat": point.lat},
    )
    return [r.id for r in rows]


async def own_centres(conn: AsyncConnection, viewer: Viewer) -> set[int]:
    """The centres a social worker is a member of — not the partners that
    ``Viewer.centre_ids`` adds."""
    if not viewer.is_social_worker:
        return set()
    rows = await conn.execute(
        text("SELECT centre_id FROM centre_members WHERE user_id = :me"), {"me": viewer.id}
    )
    return set(rows.scalars())


# A post a partner centre's worker acts on: waiting for review, with a match waiting
# for review, or on an open follow-up item of one of their centres (the request itself,
# or one of its matches).
_PARTNER_ACTS_ON = """
SELECT EXISTS (SELECT 1 FROM posts p WHERE p.id = :post AND p.status = 'in_review')
    OR EXISTS (SELECT 1 FROM matches m WHERE m.post_id = :post AND m.status = 'pending_review')
    OR EXISTS (SELECT 1 FROM followups f LEFT JOIN matches m ON m.id = f.match_id
               WHERE COALESCE(f.post_id, m.post_id) = :post AND f.contacted_at IS NULL
                 AND f.centre_id = ANY(:centres))
"""


async def may_see_exact_place(
    conn: AsyncConnection, viewer: Viewer, post_id: int, post_centres: set[int]
) -> bool:
    """Whether a social worker sees the exact place of a post as its covering centre:
    a member of a centre covering it always does; a partner centre's worker only while
    they act on it (review queue, follow-up list). The caller traces each reveal in the
    audit log."""
    acting_for = viewer.centre_ids & post_centres if viewer.is_social_worker else set()
    if not acting_for:
        return False
    if await own_centres(conn, viewer) & post_centres:
        return True
    return bool(
        (
            await conn.execute(
                text(_PARTNER_ACTS_ON), {"post": post_id, "centres": sorted(viewer.centre_ids)}
            )
        ).scalar()
    )
