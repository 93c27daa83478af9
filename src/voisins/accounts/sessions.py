"""Log in (password, then TOTP for staff), resolve a token to a viewer, log out."""

from __future__ import annotations

from datetime import timedelta

import pyotp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import clock
from voisins.accounts.access import STAFF_ROLES, Viewer
from voisins.accounts.passwords import hash_password, needs_rehash, verify_password
from voisins.accounts.ratelimit import LoginLimiter
from voisins.accounts.schemas import LoginIn, LoginOut, TotpSetupOut
from voisins.accounts.second_factor import TOTP_ISSUER, USED_CODE, use_code
from voisins.accounts.tokens import new_token, token_hash
from voisins.accounts.users import get_me
from voisins.errors import Conflict, Invalid, Unauthenticated

# One answer for a wrong password, a missing code and a wrong or used code: which
# factor failed is not told (someone trying stolen passwords must not learn which are
# right from the answer).
WRONG_LOGIN = "wrong e-mail, password or code"


async def login(
    conn: AsyncConnection,
    limiter: LoginLimiter,
    data: LoginIn,
    *,
    ip: str,
    ttl_s: int,
    code_later: bool = False,
) -> LoginOut:
    """``code_later``: a staff password without its code still opens a session, one
    that waits for the code (the pages ask for it on a page of its own)."""
    email = data.email.lower()
    await limiter.hit(email, ip)
    row = (
        await conn.execute(
            text(
                """
                SELECT id, password_hash, role, totp_secret,
                       totp_enabled_at IS NOT NULL AS totp_on
                FROM users WHERE email = :email AND status = 'active'
                """
            ),
            {"email": email},
        )
    ).first()
    if not verify_password(row.password_hash if row else None, data.password) or row is None:
        raise Unauthenticated(WRONG_LOGIN)
    second_factor = False
    if row.role in STAFF_ROLES and row.totp_on:
        if data.totp_code is None and code_later:
            pass  # second_factor stays False: the session waits for its code
        elif await use_code(conn, row.id, row.totp_secret, data.totp_code) is not None:
            raise Unauthenticated(WRONG_LOGIN)
        else:
            second_factor = True
    await limiter.clear_account(email, ip)
    if needs_rehash(row.password_hash):
        await conn.execute(
            text("UPDATE users SET password_hash = :h WHERE id = :id"),
            {"h": hash_password(data.password), "id": row.id},
        )
    token = new_token()
    expires_at = clock.now() + timedelta(seconds=ttl_s)
    await conn.execute(
        text(
            "INSERT INTO sessions (token_hash, user_id, second_factor_at, expires_at) "
            "VALUES (:h, :u, CASE WHEN :sf THEN now() END, :exp)"
        ),
        {"h": token_hash(token), "u": row.id, "sf": second_factor, "exp": expires_at},
    )
    return LoginOut(
        token=token,
        expires_at=expires_at,
        second_factor_required=row.role in STAFF_ROLES and not second_factor,
        user=await get_me(conn, row.id),
    )


# The viewer behind a session token: read on every signed-in request.
_RESOLVE = text(
    """
    SELECT s.id AS session_id, u.id, u.role, s.second_factor_at IS NOT NULL AS sf,
           ARRAY(
               SELECT m.centre_id FROM centre_members m WHERE m.user_id = u.id
               UNION
               SELECT CASE WHEN p.centre_id = m.centre_id THEN p.partner_id
                           ELSE p.centre_id END
               FROM centre_members m
               JOIN centre_partnerships p
                 ON m.centre_id IN (p.centre_id, p.partner_id)
               WHERE m.user_id = u.id
           ) AS centre_ids
    FROM sessions s JOIN users u ON u.id = s.user_id
    WHERE s.token_hash = :h AND s.expires_at > now() AND u.status = 'active'
    """
)


async def resolve(conn: AsyncConnection, token: str) -> Viewer | None:
    """The viewer of a live session token, or None."""
    row = (
        await conn.execute(
            _RESOLVE,
            {"h": token_hash(token)},
        )
    ).first()
    if row is None:
        return None
    return Viewer(
        id=row.id,
        role=row.role,
        second_factor=row.sf,
        centre_ids=frozenset(row.centre_ids),
        session_id=row.session_id,
    )


async def is_live(conn: AsyncConnection, session_id: int) -> bool:
    """Whether a session still stands (not ended, not expired, its account active): for
    long-lived streams, opened under a session that may end while they run."""
    row = (
        await conn.execute(
            text(
                "SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id "
                "WHERE s.id = :id AND s.expires_at > now() AND u.status = 'active'"
            ),
            {"id": session_id},
        )
    ).first()
    return row is not None


async def logout(conn: AsyncConnection, viewer: Viewer) -> None:
    await conn.execute(text("DELETE FROM sessions WHERE id = :id"), {"id": viewer.session_id})


async def totp_setup(conn: AsyncConnection, viewer: Viewer) -> TotpSetupOut:
    """Start TOTP enrolment: a new secret, shown once, confirmed by ``totp_enable``."""
    row = (
        await conn.execute(
            text("SELECT email, totp_enabled_at FROM users WHERE id = :id"), {"id": viewer.id}
        )
    ).one()
    if row.totp_enabled_at is not None:
        raise Conflict("the second factor is already enabled")
    secret = pyotp.random_base32()
    await conn.execute(
        text("UPDATE users SET totp_secret = :s WHERE id = :id"), {"s": secret, "id": viewer.id}
    )
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=row.email or str(viewer.id), issuer_name=TOTP_ISSUER
    )
    return TotpSetupOut(secret=secret, otpauth_uri=uri)


async def totp_enable(conn: AsyncConnection, viewer: Viewer, code: str) -> None:
    """Confirm enrolment with a first code; the current session counts as verified."""
    row = (
        await conn.execute(
            text("SELECT totp_secret, totp_enabled_at FROM users WHERE id = :id FOR UPDATE"),
            {"id": viewer.id},
        )
    ).one()
    if row.totp_enabled_at is not None:
        raise Conflict("the second factor is already enabled")
    refused = await use_code(conn, viewer.id, row.totp_secret, code)
    if refused == USED_CODE:
        raise Invalid.field("code", "code already used: wait for the next one")
    if refused is not None:
        raise Invalid.field("code", "wrong or expired code (start the set-up first)")
    await conn.execute(
        text("UPDATE users SET totp_enabled_at = now() WHERE id = :id"), {"id": viewer.id}
    )
    await conn.execute(
        text("UPDATE sessions SET second_factor_at = now() WHERE id = :id"),
        {"id": viewer.session_id},
    )


async def purge_expired(conn: AsyncConnection) -> int:
    """Sessions past their expiry are of no more use (housekeeping, nightly)."""
    result = await conn.execute(text("DELETE FROM sessions WHERE expires_at < now()"))
    return int(result.rowcount)
