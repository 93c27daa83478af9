"""Assisted residents: people without digital access, registered by a social worker
who records their consent and then acts for them (aller-vers)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import audit, clock
from voisins.accounts.access import Viewer, require_social_worker
from voisins.accounts.schemas import DisplayName, Email, Phone, Vulnerability
from voisins.errors import Forbidden, Invalid, NotFound
from voisins.pagination import Page, paginate, window
from voisins.request_bodies import Input

ConsentMethod = Literal["in_person", "phone", "written"]


class ConsentIn(Input):
    method: ConsentMethod
    obtained_at: Annotated[datetime, Meta(tz=True)]
    centre_id: int
    note: Annotated[str, Meta(max_length=1000)] | None = None


class AssistedIn(Input):
    display_name: DisplayName
    consent: ConsentIn
    email: Email | None = None
    phone: Phone | None = None
    locale: Literal["fr", "en"] = "fr"
    vulnerability: Annotated[list[Vulnerability], Meta(max_length=3)] = []


class Consent(msgspec.Struct, kw_only=True):
    id: int
    centre_id: int
    obtained_by: int
    obtained_at: datetime
    method: ConsentMethod
    note: str | None
    recorded_at: datetime


class AssistedResident(msgspec.Struct, kw_only=True):
    id: int
    display_name: str
    email: str | None
    phone: str | None
    vulnerability: list[str]
    consents: list[Consent]


async def _check_consent(conn: AsyncConnection, viewer: Viewer, consent: ConsentIn) -> None:
    require_social_worker(viewer)
    if consent.centre_id not in viewer.centre_ids:
        raise Forbidden(
            "you can record consent only for your centres", {"consent.centre_id": "not yours"}
        )
    if consent.obtained_at > clock.now() + timedelta(minutes=5):
        raise Invalid.field("consent.obtained_at", "cannot be in the future")


async def _insert_consent(
    conn: AsyncConnection, viewer: Viewer, resident_id: int, consent: ConsentIn
) -> None:
    await conn.execute(
        text(
            "INSERT INTO consents (resident_id, centre_id, obtained_by, obtained_at, method, note) "
            "VALUES (:r, :c, :by, :at, :m, :n)"
        ),
        {
            "r": resident_id,
            "c": consent.centre_id,
            "by": viewer.id,
            "at": consent.obtained_at,
            "m": consent.method,
            "n": consent.note,
        },
    )


async def create_assisted(
    conn: AsyncConnection, viewer: Viewer, data: AssistedIn
) -> AssistedResident:
    await _check_consent(conn, viewer, data.consent)
    resident_id = (
        await conn.execute(
            text(
                "INSERT INTO users (email, phone, display_name, locale, assisted, vulnerability, "
                "created_by) VALUES (:e, :p, :n, :l, true, :v, :by) RETURNING id"
            ),
            {
                "e": data.email.lower() if data.email else None,
                "p": data.phone,
                "n": data.display_name.strip(),
                "l": data.locale,
                "v": list(data.vulnerability),
                "by": viewer.id,
            },
        )
    ).scalar_one()
    await _insert_consent(conn, viewer, resident_id, data.consent)
    return await get_assisted(conn, viewer, resident_id)


async def record_consent(
    conn: AsyncConnection, viewer: Viewer, resident_id: int, consent: ConsentIn
) -> AssistedResident:
    await _check_consent(conn, viewer, consent)
    await get_assisted(conn, viewer, resident_id)
    await _insert_consent(conn, viewer, resident_id, consent)
    return await get_assisted(conn, viewer, resident_id)


async def can_act_for(conn: AsyncConnection, viewer: Viewer, resident_id: int) -> bool:
    """A social worker acts for an assisted resident whose consent was recorded (and not
    withdrawn) through one of the centres they work for."""
    if not viewer.is_social_worker or not viewer.centre_ids:
        return False
    row = (
        await conn.execute(
            text(
                "SELECT 1 FROM consents c JOIN users u ON u.id = c.resident_id "
                "WHERE c.resident_id = :r AND c.withdrawn_at IS NULL AND u.assisted "
                "AND u.status = 'active' AND c.centre_id = ANY(:centres) LIMIT 1"
            ),
            {"r": resident_id, "centres": list(viewer.centre_ids)},
        )
    ).first()
    return row is not None


def _resident(row: Any, consents: list[Consent]) -> AssistedResident:
    return AssistedResident(
        id=row.id,
        display_name=row.display_name,
        email=row.email,
        phone=row.phone,
        vulnerability=list(row.vulnerability),
        consents=consents,
    )


async def _consents(conn: AsyncConnection, resident_id: int) -> list[Consent]:
    rows = await conn.execute(
        text(
            "SELECT id, centre_id, obtained_by, obtained_at, method, note, recorded_at "
            "FROM consents WHERE resident_id = :r AND withdrawn_at IS NULL ORDER BY recorded_at"
        ),
        {"r": resident_id},
    )
    return [Consent(**dict(r._mapping)) for r in rows]


async def get_assisted(conn: AsyncConnection, viewer: Viewer, resident_id: int) -> AssistedResident:
    if not await can_act_for(conn, viewer, resident_id):
        raise NotFound("no such assisted resident in your centres")
    row = (
        await conn.execute(
            text("SELECT id, display_name, email, phone, vulnerability FROM users WHERE id = :id"),
            {"id": resident_id},
        )
    ).one()
    await audit.record(conn, viewer, "assisted_resident.view", "user", resident_id)
    return _resident(row, await _consents(conn, resident_id))


async def list_assisted(
    conn: AsyncConnection, viewer: Viewer, page: int, per_page: int
) -> Page[AssistedResident]:
    require_social_worker(viewer)
    rows = (
        await conn.execute(
            text(
                """
                SELECT u.id, u.display_name, u.email, u.phone, u.vulnerability
                FROM users u
                WHERE u.assisted AND u.status = 'active' AND EXISTS (
                    SELECT 1 FROM consents c WHERE c.resident_id = u.id
                    AND c.withdrawn_at IS NULL AND c.centre_id = ANY(:centres))
                ORDER BY u.display_name, u.id LIMIT :limit OFFSET :offset
                """
            ),
            {"centres": list(viewer.centre_ids), **window(page, per_page)},
        )
    ).all()
    items = [_resident(r, await _consents(conn, r.id)) for r in rows]
    for item in items[:per_page]:
        await audit.record(conn, viewer, "assisted_resident.view", "user", item.id)
    return paginate(items, page, per_page)
