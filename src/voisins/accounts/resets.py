"""Password reset by e-mail token. The e-mail is sent by the notification worker from
the outbox row; the raw token travels only in that PostgreSQL row, never in Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.accounts.passwords import hash_password
from voisins.accounts.tokens import new_token, token_hash
from voisins.errors import Invalid
from voisins.outbox import emit

RESET_TTL = timedelta(hours=1)


async def request_reset(conn: AsyncConnection, email: str) -> None:
    """Always succeeds from the caller's point of view: whether the account exists is
    not revealed."""
    user_id = (
        await conn.execute(
            text("SELECT id FROM users WHERE email = :e AND status = 'active'"),
            {"e": email.lower()},
        )
    ).scalar()
    if user_id is None:
        return
    token = new_token()
    reset_id = (
        await conn.execute(
            text(
                "INSERT INTO password_resets (user_id, token_hash, expires_at) "
                "VALUES (:u, :h, :exp) RETURNING id"
            ),
            {"u": user_id, "h": token_hash(token), "exp": datetime.now(UTC) + RESET_TTL},
        )
    ).scalar_one()
    await emit(conn, "password.reset_requested", user_id=user_id, reset_id=reset_id, token=token)


async def confirm_reset(conn: AsyncConnection, token: str, password: str) -> None:
    row = (
        await conn.execute(
            text(
                "UPDATE password_resets SET used_at = now() "
                "WHERE token_hash = :h AND used_at IS NULL AND expires_at > now() "
                "RETURNING user_id"
            ),
            {"h": token_hash(token)},
        )
    ).first()
    if row is None:
        raise Invalid.field("token", "unknown, used or expired reset link")
    await conn.execute(
        text("UPDATE users SET password_hash = :p WHERE id = :u"),
        {"p": hash_password(password), "u": row.user_id},
    )
    # Every open session ends: whoever knew the old password is logged out.
    await conn.execute(text("DELETE FROM sessions WHERE user_id = :u"), {"u": row.user_id})
