"""E-mailed single-use links: a password reset, a staff invitation, an address to confirm.

One mechanism for all. The raw token is never at rest anywhere: the outbox row names
the link by its id only, and the notification worker mints the token as it sends the
mail (``mint``), storing its SHA-256 in place of the previous one and putting the token
in the mail alone. So a copy of the database, of the outbox or of Redis holds no
usable link. PostgreSQL keeps the hash, the expiry and whether it was used. Using a
link is one conditional UPDATE, so two clicks at once use it once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import clock
from voisins.accounts.tokens import new_token, token_hash

Purpose = Literal["password_reset", "email_confirm"]


@dataclass(frozen=True)
class Link:
    id: int


@dataclass(frozen=True)
class UsedLink:
    user_id: int
    email: str | None


async def issue(
    conn: AsyncConnection,
    user_id: int,
    purpose: Purpose,
    ttl: timedelta,
    *,
    email: str | None = None,
) -> Link:
    """A new open link; its token is minted when its mail goes out. Until then the
    row holds the hash of a token nobody was given (the column is unique and required),
    so the link cannot be followed before it is sent."""
    link_id = (
        await conn.execute(
            text(
                "INSERT INTO password_resets (user_id, purpose, email, token_hash, expires_at) "
                "VALUES (:u, :purpose, :email, :h, :exp) RETURNING id"
            ),
            {
                "u": user_id,
                "purpose": purpose,
                "email": email,
                "h": token_hash(new_token()),
                "exp": clock.now() + ttl,
            },
        )
    ).scalar_one()
    return Link(int(link_id))


async def mint(conn: AsyncConnection, link_id: int) -> str | None:
    """The token of the mail that is being sent for this link, or None when the link
    was used, cancelled or has expired (nothing to send). Its hash replaces the one
    before: when a mail is sent again (a retry after a failure), only the latest mail's
    link works. The caller commits before sending the mail, or the link is dead."""
    token = new_token()
    minted = (
        await conn.execute(
            text(
                "UPDATE password_resets SET token_hash = :h WHERE id = :id "
                "AND used_at IS NULL AND expires_at > now() RETURNING id"
            ),
            {"h": token_hash(token), "id": link_id},
        )
    ).first()
    return None if minted is None else token


async def find(conn: AsyncConnection, purpose: Purpose, token: str) -> UsedLink | None:
    """The open link of ``token`` (not used, not expired), without using it."""
    return await _link(
        conn,
        "SELECT user_id, email FROM password_resets WHERE token_hash = :h "
        "AND purpose = :purpose AND used_at IS NULL AND expires_at > now()",
        purpose,
        token,
    )


async def find_used(conn: AsyncConnection, purpose: Purpose, token: str) -> UsedLink | None:
    """The link of ``token`` if it was used already (opened again from the mail)."""
    return await _link(
        conn,
        "SELECT user_id, email FROM password_resets WHERE token_hash = :h "
        "AND purpose = :purpose AND used_at IS NOT NULL",
        purpose,
        token,
    )


async def use(conn: AsyncConnection, purpose: Purpose, token: str) -> UsedLink | None:
    """Mark the link of ``token`` used; None when it is unknown, used, expired or for
    another purpose (a reset link never confirms an address, nor the reverse)."""
    return await _link(
        conn,
        "UPDATE password_resets SET used_at = now() "
        "WHERE token_hash = :h AND purpose = :purpose AND used_at IS NULL "
        "AND expires_at > now() RETURNING user_id, email",
        purpose,
        token,
    )


async def _link(conn: AsyncConnection, sql: str, purpose: Purpose, token: str) -> UsedLink | None:
    """The person and address of the one link ``sql`` finds by ``token`` and ``purpose``."""
    row = (await conn.execute(text(sql), {"h": token_hash(token), "purpose": purpose})).first()
    return None if row is None else UsedLink(row.user_id, row.email)


async def cancel_open(
    conn: AsyncConnection, user_id: int, *, keep_email: str | None = None
) -> None:
    """End the person's open links — after a password change, whoever asked for them
    may have been someone else. ``keep_email``: links confirming that address (the
    account's own, at sign-up) stay usable."""
    await conn.execute(
        text(
            "UPDATE password_resets SET used_at = now() WHERE user_id = :u AND used_at IS NULL "
            "AND (CAST(:keep AS text) IS NULL OR email IS DISTINCT FROM CAST(:keep AS text))"
        ),
        {"u": user_id, "keep": keep_email},
    )


async def sent_count(
    conn: AsyncConnection, user_id: int, purpose: Purpose, within: timedelta
) -> int:
    """How many links of ``purpose`` the person was sent lately (the resend limit)."""
    return int(
        (
            await conn.execute(
                text(
                    "SELECT count(*) FROM password_resets WHERE user_id = :u "
                    "AND purpose = :purpose AND created_at > :since"
                ),
                {"u": user_id, "purpose": purpose, "since": clock.now() - within},
            )
        ).scalar_one()
    )
