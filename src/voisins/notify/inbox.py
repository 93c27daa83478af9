"""The in-app inbox, notification preferences, and dead letters for administrators."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Literal

import msgspec
from msgspec import Meta
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.accounts.access import Viewer, require_admin
from voisins.errors import Conflict, NotFound
from voisins.notify.preferences import DEFAULT_KIND_CHANNELS
from voisins.notify.signing import read_unsubscribe_token
from voisins.pagination import paginate, window
from voisins.request_bodies import Input

Channel = Literal["inapp", "email", "sms"]
EventKind = Literal[
    "match.proposed", "match.accepted", "match.review_needed", "match.confirmed",
    "match.approved", "match.rejected", "match.cancelled", "post.no_response", "reminder",
    "post.review_needed", "post.approved", "post.rejected", "report.filed",
    "match.offer_proposed", "post.offer_nearby", "post.unanswered", "post.updated",
    "conversation.to_volunteer", "conversation.to_requester",
]  # fmt: skip


class Notification(msgspec.Struct):
    id: int
    kind: str
    title: str
    body: str
    link: str | None
    created_at: datetime
    read_at: datetime | None


class Inbox(msgspec.Struct):
    items: list[Notification]
    unread: int
    page: int
    per_page: int
    has_more: bool


async def inbox(
    conn: AsyncConnection, viewer: Viewer, page: int, per_page: int, *, unread_first: bool = False
) -> Inbox:
    """Newest first; with ``unread_first`` (the pages), what is still unread comes first."""
    order = "(read_at IS NULL) DESC, id DESC" if unread_first else "id DESC"
    rows = (
        await conn.execute(
            text(
                "SELECT id, kind, title, body, link, created_at, read_at FROM notifications "
                f"WHERE user_id = :me ORDER BY {order} LIMIT :limit OFFSET :offset"
            ),
            {"me": viewer.id, **window(page, per_page)},
        )
    ).all()
    unread = (
        await conn.execute(
            text("SELECT count(*) FROM notifications WHERE user_id = :me AND read_at IS NULL"),
            {"me": viewer.id},
        )
    ).scalar_one()
    listed = paginate([Notification(**dict(r._mapping)) for r in rows], page, per_page)
    return Inbox(listed.items, unread, page, per_page, listed.has_more)


async def mark_read(conn: AsyncConnection, viewer: Viewer, notification_id: int | None) -> int:
    """Mark one notification (or, with None, all of them) read; returns how many."""
    result = await conn.execute(
        text(
            "UPDATE notifications SET read_at = now() WHERE user_id = :me AND read_at IS NULL "
            "AND (CAST(:id AS bigint) IS NULL OR id = :id)"
        ),
        {"me": viewer.id, "id": notification_id},
    )
    if notification_id is not None and result.rowcount == 0:
        exists = (
            await conn.execute(
                text("SELECT 1 FROM notifications WHERE id = :id AND user_id = :me"),
                {"id": notification_id, "me": viewer.id},
            )
        ).first()
        if exists is None:
            raise NotFound("no such notification")
    return int(result.rowcount)


ClockTime = Annotated[str, Meta(pattern=r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]\Z")]


class PreferencesIn(Input):
    channels: dict[EventKind, Annotated[list[Channel], Meta(max_length=3)]] = {}
    quiet_start: ClockTime = "21:00"
    quiet_end: ClockTime = "08:00"
    urgent_breaks_quiet: bool = False
    digest: bool = False
    daily_cap: Annotated[int, Meta(ge=1, le=200)] = 20


class PreferencesOut(msgspec.Struct):
    channels: dict[str, list[str]]
    default_channels: list[str]
    quiet_start: str
    quiet_end: str
    urgent_breaks_quiet: bool
    digest: bool
    daily_cap: int
    email_unsubscribed: bool


async def get_preferences(conn: AsyncConnection, viewer: Viewer) -> PreferencesOut:
    row = (
        await conn.execute(
            text("SELECT * FROM notification_preferences WHERE user_id = :me"), {"me": viewer.id}
        )
    ).first()
    if row is None:
        return PreferencesOut({}, DEFAULT_KIND_CHANNELS, "21:00", "08:00", False, False, 20, False)
    return PreferencesOut(
        dict(row.channels),
        DEFAULT_KIND_CHANNELS,
        row.quiet_start.strftime("%H:%M"),
        row.quiet_end.strftime("%H:%M"),
        row.urgent_breaks_quiet,
        row.digest,
        row.daily_cap,
        row.email_unsubscribed,
    )


async def put_preferences(
    conn: AsyncConnection, viewer: Viewer, data: PreferencesIn
) -> PreferencesOut:
    await conn.execute(
        text(
            """
            INSERT INTO notification_preferences (user_id, channels, quiet_start, quiet_end,
                urgent_breaks_quiet, digest, daily_cap)
            VALUES (:me, CAST(:channels AS jsonb), :qs, :qe, :urgent, :digest, :cap)
            ON CONFLICT (user_id) DO UPDATE SET channels = EXCLUDED.channels,
                quiet_start = EXCLUDED.quiet_start, quiet_end = EXCLUDED.quiet_end,
                urgent_breaks_quiet = EXCLUDED.urgent_breaks_quiet, digest = EXCLUDED.digest,
                daily_cap = EXCLUDED.daily_cap, updated_at = now()
            """
        ),
        {
            "me": viewer.id,
            "channels": msgspec.json.encode(data.channels).decode(),
            "qs": time.fromisoformat(data.quiet_start),
            "qe": time.fromisoformat(data.quiet_end),
            "urgent": data.urgent_breaks_quiet,
            "digest": data.digest,
            "cap": data.daily_cap,
        },
    )
    return await get_preferences(conn, viewer)


class DeadLetter(msgspec.Struct):
    id: int
    event_id: int
    kind: str
    channel: str
    user_id: int | None
    attempts: int
    last_error: str | None
    created_at: datetime


class DeadLetters(msgspec.Struct):
    items: list[DeadLetter]
    page: int
    per_page: int
    has_more: bool


async def dead_letters(
    conn: AsyncConnection, viewer: Viewer, page: int, per_page: int
) -> DeadLetters:
    require_admin(viewer)
    rows = (
        await conn.execute(
            text(
                "SELECT id, event_id, kind, channel, user_id, attempts, last_error, created_at "
                "FROM deliveries WHERE status = 'dead' ORDER BY id LIMIT :limit OFFSET :offset"
            ),
            window(page, per_page),
        )
    ).all()
    listed = paginate([DeadLetter(**dict(r._mapping)) for r in rows], page, per_page)
    return DeadLetters(listed.items, page, per_page, listed.has_more)


async def redrive(conn: AsyncConnection, viewer: Viewer, delivery_id: int) -> DeadLetter:
    """Give a dead letter a fresh set of attempts, to be sent by the next sweep."""
    require_admin(viewer)
    row = (
        await conn.execute(
            text(
                "UPDATE deliveries SET status = 'pending', attempts = 0, not_before = now(), "
                "last_error = NULL WHERE id = :id AND status = 'dead' "
                "RETURNING id, event_id, kind, channel, user_id, attempts, last_error, created_at"
            ),
            {"id": delivery_id},
        )
    ).first()
    if row is None:
        raise Conflict("no dead letter with this id (already re-driven or sent?)")
    return DeadLetter(**dict(row._mapping))


def _unsubscribe_link_owner(secret_key: str, token: str) -> int:
    try:
        return read_unsubscribe_token(secret_key, token)
    except ValueError:
        raise NotFound("this unsubscribe link is not valid") from None


async def email_stopped_by_link(conn: AsyncConnection, secret_key: str, token: str) -> bool:
    """Whether the person a mail's unsubscribe link names has already stopped e-mails.
    Reads only: following the link (a mail scanner opens it too) changes nothing."""
    user_id = _unsubscribe_link_owner(secret_key, token)
    row = (
        await conn.execute(
            text(
                "SELECT coalesce(p.email_unsubscribed, false) AS stopped FROM users u "
                "LEFT JOIN notification_preferences p ON p.user_id = u.id WHERE u.id = :u"
            ),
            {"u": user_id},
        )
    ).first()
    if row is None:  # a link from an erased account's old mail
        raise NotFound("this unsubscribe link is not valid")
    return bool(row.stopped)


async def unsubscribe(conn: AsyncConnection, secret_key: str, token: str) -> int:
    """One-click unsubscribe from e-mail (RFC 8058): the signed token names the person.
    The in-app inbox keeps working, and password resets are still sent."""
    user_id = _unsubscribe_link_owner(secret_key, token)
    result = await conn.execute(
        text(
            """
            INSERT INTO notification_preferences (user_id, email_unsubscribed)
            SELECT id, true FROM users WHERE id = :u
            ON CONFLICT (user_id) DO UPDATE SET email_unsubscribed = true, updated_at = now()
            """
        ),
        {"u": user_id},
    )
    if result.rowcount == 0:  # a link from an erased account's old mail
        raise NotFound("this unsubscribe link is not valid")
    return user_id


async def resubscribe(conn: AsyncConnection, viewer: Viewer) -> None:
    """E-mails again after an unsubscribe link: the choices per kind made before come back.
    Not audited, like the other changes of one's own preferences."""
    await conn.execute(
        text(
            "UPDATE notification_preferences SET email_unsubscribed = false, updated_at = now() "
            "WHERE user_id = :me AND email_unsubscribed"
        ),
        {"me": viewer.id},
    )
