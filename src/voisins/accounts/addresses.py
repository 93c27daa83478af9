"""E-mail addresses are confirmed by a link before anything personal goes there.

At sign-up, and when a person changes their address, a single-use link (the same
mechanism as password resets: accounts/links.py) is sent to the address. Following it
confirms the sign-up address, or makes the new address the account's. Until then the
notification worker sends nothing to an unconfirmed address but that link
(notify/preferences.py), and a new address is not used at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.accounts import links, resets
from voisins.accounts.access import Viewer
from voisins.accounts.ratelimit import LoginLimiter
from voisins.errors import Conflict, Forbidden, Invalid, TooManyRequests
from voisins.outbox import emit

CONFIRM_TTL = timedelta(hours=48)
# Links sent per account and hour, sign-up and address changes included: enough to
# retry after a typo or a lost mail, too few to turn voisins into a mail cannon.
SEND_LIMIT = 3
SEND_WINDOW = timedelta(hours=1)
TAKEN = "already registered"


class TooManyLinks(TooManyRequests):
    """The account was sent SEND_LIMIT links within the hour."""


@dataclass(frozen=True)
class Confirmed:
    user_id: int
    changed: bool  # a new address replaced the old one


async def send_link(conn: AsyncConnection, user_id: int, email: str) -> None:
    """A confirmation link to ``email`` for this account (the worker sends it)."""
    if await links.sent_count(conn, user_id, "email_confirm", SEND_WINDOW) >= SEND_LIMIT:
        raise TooManyLinks(
            "too many confirmation links lately; try again later",
            int(SEND_WINDOW.total_seconds()),
        )
    link = await links.issue(conn, user_id, "email_confirm", CONFIRM_TTL, email=email.lower())
    await emit(conn, "account.email_confirm", user_id=user_id, link_id=link.id)


async def resend(conn: AsyncConnection, viewer: Viewer) -> None:
    """Another link: to the new address a change waits for (the one the person last
    asked for), else to the account's own address while it is not confirmed."""
    row = (
        await conn.execute(
            text("SELECT email, email_confirmed_at FROM users WHERE id = :id FOR UPDATE"),
            {"id": viewer.id},
        )
    ).one()
    target = await pending_email(conn, viewer.id)
    if target is None and row.email_confirmed_at is None:
        target = row.email
    if target is None:
        raise Conflict("no address waits for confirmation", {"email": "already confirmed"})
    await send_link(conn, viewer.id, target)


async def pending_email(conn: AsyncConnection, user_id: int) -> str | None:
    """A new address the person asked for and has not confirmed yet."""
    found = (
        await conn.execute(
            text(
                "SELECT r.email FROM password_resets r JOIN users u ON u.id = r.user_id "
                "WHERE r.user_id = :u AND r.purpose = 'email_confirm' AND r.used_at IS NULL "
                "AND r.expires_at > now() AND r.email IS DISTINCT FROM u.email "
                "ORDER BY r.id DESC LIMIT 1"
            ),
            {"u": user_id},
        )
    ).scalar()
    return str(found) if found is not None else None


async def request_change(
    conn: AsyncConnection,
    viewer: Viewer,
    current_password: str,
    new_email: str,
    *,
    limiter: LoginLimiter,
) -> None:
    """A new address, used only once its link is followed; the current address is
    told (when it is confirmed: the notification worker's rule)."""
    current = await resets.check_current_password(conn, viewer, current_password, limiter=limiter)
    new = new_email.lower()
    if new == current:
        raise Invalid.field("email", "this is already your address")
    taken = (await conn.execute(text("SELECT 1 FROM users WHERE email = :e"), {"e": new})).first()
    if taken:
        raise Conflict("an account with this e-mail already exists", {"email": TAKEN})
    # Only the latest address asked for can be confirmed.
    await conn.execute(
        text(
            "UPDATE password_resets SET used_at = now() WHERE user_id = :u AND used_at IS NULL "
            "AND purpose = 'email_confirm' AND email IS DISTINCT FROM CAST(:current AS text)"
        ),
        {"u": viewer.id, "current": current},
    )
    await send_link(conn, viewer.id, new)
    await emit(conn, "account.email_change_requested", user_id=viewer.id)


async def already_confirmed(conn: AsyncConnection, token: str) -> bool:
    """Whether ``token`` is a used link whose address is now the account's, confirmed:
    the person opened the mail's link a second time. (A used link of an address the
    account no longer has is just a dead link.)"""
    used = await links.find_used(conn, "email_confirm", token)
    if used is None:
        return False
    row = (
        await conn.execute(
            text(
                "SELECT 1 FROM users WHERE id = :u AND email = :e "
                "AND email_confirmed_at IS NOT NULL AND status = 'active'"
            ),
            {"u": used.user_id, "e": used.email},
        )
    ).first()
    return row is not None


async def confirm(conn: AsyncConnection, token: str, *, viewer: Viewer | None) -> Confirmed:
    """Follow a confirmation link. Signed in as someone else, the link is refused and
    stays usable: it confirms the address of the account it was sent for only."""
    found = await links.find(conn, "email_confirm", token)
    if found is None:
        raise Invalid.field("token", "unknown, used or expired link")
    if viewer is not None and viewer.id != found.user_id:
        raise Forbidden("this link is for another account", {"token": "another account's link"})
    try:
        async with conn.begin_nested():
            used = await links.use(conn, "email_confirm", token)
            if used is None:  # used by a click a moment before this one
                raise Invalid.field("token", "unknown, used or expired link")
            current = (
                await conn.execute(
                    text("SELECT email FROM users WHERE id = :u AND status = 'active' FOR UPDATE"),
                    {"u": used.user_id},
                )
            ).first()
            if current is None:
                raise Invalid.field("token", "unknown, used or expired link")
            changed = current.email != used.email
            await conn.execute(
                text(
                    "UPDATE users SET email = :e, "
                    "email_confirmed_at = CASE WHEN :changed THEN now() "
                    "ELSE COALESCE(email_confirmed_at, now()) END WHERE id = :u"
                ),
                {"e": used.email, "changed": changed, "u": used.user_id},
            )
    except IntegrityError as exc:
        # Someone signed up with this address between the request and the click.
        if "users_email_key" in str(exc.orig):
            raise Conflict("an account with this e-mail already exists", {"email": TAKEN}) from None
        raise
    if changed:
        # Links for the old address must not switch the account back to it.
        await links.cancel_open(conn, used.user_id, keep_email=used.email)
    return Confirmed(used.user_id, changed)
