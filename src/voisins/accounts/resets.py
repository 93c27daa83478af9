"""Passwords: a reset by e-mailed link (accounts/links.py), a change from my account.
The e-mails are sent by the notification worker from the outbox rows, which name the
link by its id: the worker mints the token as it sends (links.mint), so the raw token
is in the mail only — not in PostgreSQL, not in Redis.

Using a reset link ends every other open link of the account, older or newer
(``_after_password_change``). Asking for a new link does not end the older ones: mails
can arrive late or out of order, and the person follows whichever arrived first; each
lasts an hour at most, and the first one used ends the rest."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.accounts import links, passwords
from voisins.accounts.access import Viewer
from voisins.accounts.passwords import hash_password, verify_password
from voisins.accounts.ratelimit import LoginLimiter
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
    link = await links.issue(conn, user_id, "password_reset", RESET_TTL)
    await emit(conn, "password.reset_requested", user_id=user_id, reset_id=link.id)


async def confirm_reset(conn: AsyncConnection, token: str, password: str) -> None:
    """Set the password of a reset link's account (or of an invitation's). A password
    too easy to guess is refused before the link is used: it stays usable for a better
    one."""
    found = await links.find(conn, "password_reset", token)
    if found is None:
        raise Invalid.field("token", "unknown, used or expired reset link")
    await require_strong(conn, found.user_id, password, field="password")
    used = await links.use(conn, "password_reset", token)
    if used is None:
        raise Invalid.field("token", "unknown, used or expired reset link")
    # The link reached this address: following it proves the address is theirs.
    await conn.execute(
        text(
            "UPDATE users SET password_hash = :p, "
            "email_confirmed_at = COALESCE(email_confirmed_at, now()) WHERE id = :u"
        ),
        {"p": hash_password(password), "u": used.user_id},
    )
    await _after_password_change(conn, used.user_id, keep_session=None)


async def check_current_password(
    conn: AsyncConnection, viewer: Viewer, password: str, *, limiter: LoginLimiter
) -> str | None:
    """The signed-in person's password, asked again before a change of password or of
    address (a session left open on a shared computer must not be enough). Guesses
    count against the account's login attempts; the network's own count is left to
    logins (the caller already holds this account's session, and a centre's many
    visitors share one address). Returns the account's address (its row is locked)."""
    row = (
        await conn.execute(
            text("SELECT email, password_hash FROM users WHERE id = :id FOR UPDATE"),
            {"id": viewer.id},
        )
    ).one()
    key, own = row.email or f"user:{viewer.id}", f"session-of:{viewer.id}"
    await limiter.hit(key, own)
    if not verify_password(row.password_hash, password):
        raise Invalid.field("current_password", "wrong password")
    await limiter.clear_account(key, own)
    return str(row.email) if row.email else None


async def change_password(
    conn: AsyncConnection,
    viewer: Viewer,
    current: str,
    new: str,
    *,
    limiter: LoginLimiter,
) -> None:
    """From my account: the current password first, then every other session ends and
    the address is told, without a link that acts."""
    await check_current_password(conn, viewer, current, limiter=limiter)
    await require_strong(conn, viewer.id, new, field="new_password")
    await conn.execute(
        text("UPDATE users SET password_hash = :p WHERE id = :id"),
        {"p": hash_password(new), "id": viewer.id},
    )
    await _after_password_change(conn, viewer.id, keep_session=viewer.session_id)
    await emit(conn, "account.password_changed", user_id=viewer.id)


async def require_strong(conn: AsyncConnection, user_id: int, password: str, *, field: str) -> None:
    """The password check, with the account's own address and name as words to avoid."""
    row = (
        await conn.execute(
            text("SELECT email, display_name FROM users WHERE id = :u"), {"u": user_id}
        )
    ).one()
    passwords.require_strong(password, field=field, personal=(row.email, row.display_name))


async def _after_password_change(
    conn: AsyncConnection, user_id: int, *, keep_session: int | None
) -> None:
    # Whoever knew the old password is logged out (all but the session that changed
    # it, when there is one), and address changes they may have asked for are dropped.
    await conn.execute(
        text(
            "DELETE FROM sessions WHERE user_id = :u "
            "AND (CAST(:keep AS bigint) IS NULL OR id <> CAST(:keep AS bigint))"
        ),
        {"u": user_id, "keep": keep_session},
    )
    email = (
        await conn.execute(text("SELECT email FROM users WHERE id = :u"), {"u": user_id})
    ).scalar()
    await links.cancel_open(conn, user_id, keep_email=email)


async def purge_expired(conn: AsyncConnection) -> int:
    """Reset links expired for a day are of no more use (housekeeping, nightly)."""
    result = await conn.execute(
        text("DELETE FROM password_resets WHERE expires_at < now() - interval '1 day'")
    )
    return int(result.rowcount)
