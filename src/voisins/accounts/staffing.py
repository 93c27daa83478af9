"""Staff accounts as administrators manage them: the list, deactivation when someone
leaves (or must stop at once) and re-activation.

Deactivation is not a safeguarding suspension (moderation/safeguarding.py): it says
nothing about what the person did. It ends every session in the same transaction, and
since sign-in and session look-up accept only ``status = 'active'``
(accounts/sessions.py), the person is out at their very next request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import audit
from voisins.accounts.access import Viewer, require_admin
from voisins.errors import Conflict, NotFound
from voisins.pagination import Page, paginate, window


class StaffAccount(msgspec.Struct, kw_only=True):
    id: int
    display_name: str
    email: str | None
    role: str
    status: str
    second_factor_enabled: bool
    centres: list[str]
    deactivated_at: datetime | None


_LIST = """
SELECT u.id, u.display_name, u.email, u.role, u.status, u.deactivated_at,
       u.totp_enabled_at IS NOT NULL AS second_factor_enabled,
       ARRAY(SELECT c.name FROM centre_members m JOIN centres c ON c.id = m.centre_id
             WHERE m.user_id = u.id ORDER BY c.name) AS centres
FROM users u
WHERE u.role IN ('social_worker', 'admin') AND u.status <> 'erased'
"""


def _account(row: Any) -> StaffAccount:
    return StaffAccount(**dict(row._mapping))


async def list_staff(
    conn: AsyncConnection, viewer: Viewer, page: int, per_page: int
) -> Page[StaffAccount]:
    require_admin(viewer)
    rows = (
        await conn.execute(
            text(
                _LIST + "ORDER BY u.status <> 'active', u.display_name, u.id "
                "LIMIT :limit OFFSET :offset"
            ),
            window(page, per_page),
        )
    ).all()
    return paginate([_account(r) for r in rows], page, per_page)


async def get_staff(conn: AsyncConnection, viewer: Viewer, user_id: int) -> StaffAccount:
    require_admin(viewer)
    row = (await conn.execute(text(_LIST + "AND u.id = :id"), {"id": user_id})).first()
    if row is None:
        raise NotFound("no such staff account")
    return _account(row)


async def _lock(conn: AsyncConnection, user_id: int) -> str:
    row = (
        await conn.execute(
            text("SELECT role, status FROM users WHERE id = :id FOR UPDATE"), {"id": user_id}
        )
    ).first()
    if row is None or row.status == "erased" or row.role not in ("social_worker", "admin"):
        raise NotFound("no such staff account")
    return str(row.status)


async def deactivate(
    conn: AsyncConnection, viewer: Viewer, user_id: int, *, now: datetime
) -> StaffAccount:
    require_admin(viewer)
    if user_id == viewer.id:
        # Someone must stay able to re-activate: an administrator never locks themself out.
        raise Conflict("you cannot deactivate your own account")
    status = await _lock(conn, user_id)
    if status == "deactivated":
        raise Conflict("this account is already deactivated")
    if status != "active":
        raise Conflict("lift the suspension before deactivating this account")
    await conn.execute(
        text(
            "UPDATE users SET status = 'deactivated', deactivated_at = :now, "
            "deactivated_by = :me WHERE id = :id"
        ),
        {"now": now, "me": viewer.id, "id": user_id},
    )
    await conn.execute(text("DELETE FROM sessions WHERE user_id = :id"), {"id": user_id})
    await audit.record(conn, viewer, "staff.deactivate", "user", user_id)
    return await get_staff(conn, viewer, user_id)


async def reactivate(conn: AsyncConnection, viewer: Viewer, user_id: int) -> StaffAccount:
    require_admin(viewer)
    if await _lock(conn, user_id) != "deactivated":
        raise Conflict("this account is not deactivated")
    await conn.execute(
        text(
            "UPDATE users SET status = 'active', deactivated_at = NULL, deactivated_by = NULL "
            "WHERE id = :id"
        ),
        {"id": user_id},
    )
    await audit.record(conn, viewer, "staff.reactivate", "user", user_id)
    return await get_staff(conn, viewer, user_id)
