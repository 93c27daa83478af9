"""Accounts: registration, profile, staff creation."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from msgspec import UNSET
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import audit, clock
from voisins.accounts import addresses, links
from voisins.accounts.access import Viewer, require_admin
from voisins.accounts.passwords import hash_password, require_strong
from voisins.accounts.schemas import Me, MeUpdate, RegisterIn, StaffUserIn
from voisins.errors import Conflict, Invalid, NotFound
from voisins.outbox import emit

_ME_SQL = """
SELECT u.id, u.email, u.phone, u.display_name, u.role, u.locale, u.assisted,
       u.vulnerability, u.totp_enabled_at IS NOT NULL AS second_factor_enabled,
       u.email_confirmed_at IS NOT NULL AS email_confirmed,
       (SELECT r.email FROM password_resets r
        WHERE r.user_id = u.id AND r.purpose = 'email_confirm' AND r.used_at IS NULL
          AND r.expires_at > now() AND r.email IS DISTINCT FROM u.email
        ORDER BY r.id DESC LIMIT 1) AS pending_email,
       EXISTS (SELECT 1 FROM volunteers v WHERE v.user_id = u.id) AS is_volunteer,
       ARRAY(SELECT centre_id FROM centre_members m WHERE m.user_id = u.id ORDER BY centre_id)
           AS centre_ids,
       u.created_at
FROM users u WHERE u.id = :id AND u.status <> 'erased'
"""

# An invitation to choose a password: a person may read it after a weekend.
INVITATION_TTL = timedelta(days=7)


def _me(row: Any) -> Me:
    return Me(**dict(row._mapping))


async def get_me(conn: AsyncConnection, user_id: int) -> Me:
    row = (await conn.execute(text(_ME_SQL), {"id": user_id})).first()
    if row is None:
        raise NotFound("no such account")
    return _me(row)


async def _insert_user(conn: AsyncConnection, values: dict[str, Any]) -> int:
    columns = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    try:
        async with conn.begin_nested():
            return int(
                (
                    await conn.execute(
                        text(f"INSERT INTO users ({columns}) VALUES ({params}) RETURNING id"),
                        values,
                    )
                ).scalar_one()
            )
    except IntegrityError as exc:
        if "users_email_key" in str(exc.orig):
            raise Conflict(
                "an account with this e-mail already exists", {"email": "already registered"}
            ) from None
        raise


async def register(conn: AsyncConnection, data: RegisterIn) -> Me:
    require_strong(data.password, field="password", personal=(data.email, data.display_name))
    user_id = await _insert_user(
        conn,
        {
            "email": data.email.lower(),
            "password_hash": hash_password(data.password),
            "display_name": data.display_name.strip(),
            "locale": data.locale,
            "phone": data.phone,
        },
    )
    # Nothing personal goes to the address until its owner follows this link.
    await addresses.send_link(conn, user_id, data.email)
    return await get_me(conn, user_id)


async def create_staff(conn: AsyncConnection, viewer: Viewer, data: StaffUserIn) -> Me:
    require_admin(viewer)
    if data.centre_id is not None and data.role != "social_worker":
        raise Invalid.field("centre_id", "only social workers belong to a centre")
    invited = data.password is UNSET
    if data.password is not UNSET:
        require_strong(data.password, field="password", personal=(data.email, data.display_name))
    # An invited person chooses their password from the mail; until then the account's
    # password is a random one nobody was told.
    password = secrets.token_urlsafe(32) if data.password is UNSET else data.password
    user_id = await _insert_user(
        conn,
        {
            "email": data.email.lower(),
            "password_hash": hash_password(password),
            "display_name": data.display_name.strip(),
            "role": data.role,
            "created_by": viewer.id,
            # The professional address an administrator was given and vouches for (the
            # threat of confirmation — anyone signing up with someone else's address —
            # does not apply); a later change of address is confirmed by its link.
            "email_confirmed_at": clock.now(),
        },
    )
    if data.centre_id is not None:
        exists = (
            await conn.execute(text("SELECT 1 FROM centres WHERE id = :id"), {"id": data.centre_id})
        ).first()
        if not exists:
            raise NotFound("no such centre", {"centre_id": "no such centre"})
        await conn.execute(
            text("INSERT INTO centre_members (centre_id, user_id) VALUES (:c, :u)"),
            {"c": data.centre_id, "u": user_id},
        )
    await audit.record(conn, viewer, "staff.create", "user", user_id)
    if invited:
        link = await links.issue(conn, user_id, "password_reset", INVITATION_TTL)
        await emit(conn, "account.staff_invited", user_id=user_id, reset_id=link.id)
    return await get_me(conn, user_id)


async def update_me(conn: AsyncConnection, viewer: Viewer, data: MeUpdate) -> Me:
    changes = {
        name: getattr(data, name)
        for name in ("display_name", "locale", "phone")
        if getattr(data, name) is not UNSET
    }
    if changes:
        assignments = ", ".join(f"{k} = :{k}" for k in changes)
        await conn.execute(
            text(f"UPDATE users SET {assignments} WHERE id = :id"), {**changes, "id": viewer.id}
        )
    return await get_me(conn, viewer.id)


async def set_locale(conn: AsyncConnection, user_id: int, locale: str) -> None:
    """The language a person chose on the pages (mails follow it too)."""
    await conn.execute(
        text("UPDATE users SET locale = :l WHERE id = :id AND locale <> :l"),
        {"l": locale, "id": user_id},
    )
