"""Partner associations' webhook endpoints as stored: registered per centre by
administrators (URL, shared secret, topics), disabled, and their recent deliveries.

Where they are stored only; the POST itself is channels/webhook.py, its signature
signing.py.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import audit
from voisins.accounts.access import Viewer, require_admin
from voisins.errors import Invalid, NotFound
from voisins.notify.inbox import EventKind
from voisins.notify.safe_urls import AddressPolicy, RefusedAddress, check_url
from voisins.request_bodies import Input


class WebhookIn(Input):
    url: Annotated[str, Meta(pattern=r"^https?://\S+\Z", max_length=500)]
    # Shared with the partner to check X-Voisins-Signature; never shown again.
    secret: Annotated[str, Meta(min_length=16, max_length=200)]
    topics: Annotated[list[EventKind], Meta(max_length=20)] = []


class Webhook(msgspec.Struct):
    id: int
    centre_id: int
    url: str
    topics: list[str]
    active: bool
    created_at: datetime


_COLUMNS = "id, centre_id, url, topics, active, created_at"


async def add_webhook(
    conn: AsyncConnection,
    viewer: Viewer,
    centre_id: int,
    data: WebhookIn,
    *,
    policy: AddressPolicy | None = None,
) -> Webhook:
    """``policy``: where webhooks may point (``AddressPolicy.from_settings``); by
    default public https addresses only. Checked here, and again at each call (the
    name may resolve elsewhere by then)."""
    require_admin(viewer)
    try:
        await check_url(data.url, policy if policy is not None else AddressPolicy())
    except RefusedAddress as exc:
        raise Invalid.field("url", str(exc)) from None
    exists = (
        await conn.execute(text("SELECT 1 FROM centres WHERE id = :c"), {"c": centre_id})
    ).first()
    if exists is None:
        raise NotFound("no such centre")
    row = (
        await conn.execute(
            text(
                f"INSERT INTO webhooks (centre_id, url, secret, topics) "
                f"VALUES (:c, :url, :secret, :topics) RETURNING {_COLUMNS}"
            ),
            {"c": centre_id, "url": data.url, "secret": data.secret, "topics": list(data.topics)},
        )
    ).one()
    await audit.record(conn, viewer, "webhook.create", "webhook", row.id)
    return Webhook(**dict(row._mapping))


async def list_webhooks(conn: AsyncConnection, viewer: Viewer, centre_id: int) -> list[Webhook]:
    require_admin(viewer)
    rows = await conn.execute(
        text(f"SELECT {_COLUMNS} FROM webhooks WHERE centre_id = :c ORDER BY id"),
        {"c": centre_id},
    )
    return [Webhook(**dict(r._mapping)) for r in rows]


async def disable_webhook(
    conn: AsyncConnection, viewer: Viewer, centre_id: int, webhook_id: int
) -> Webhook:
    require_admin(viewer)
    row = (
        await conn.execute(
            text(
                f"UPDATE webhooks SET active = false WHERE id = :w AND centre_id = :c "
                f"RETURNING {_COLUMNS}"
            ),
            {"w": webhook_id, "c": centre_id},
        )
    ).first()
    if row is None:
        raise NotFound("no such webhook")
    await audit.record(conn, viewer, "webhook.disable", "webhook", webhook_id)
    return Webhook(**dict(row._mapping))


def new_secret() -> str:
    """A shared secret for a webhook created from the admin pages (shown once)."""
    return secrets.token_urlsafe(32)


class WebhookDelivery(msgspec.Struct, kw_only=True):
    id: int
    webhook_id: int
    kind: str
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None


async def recent_deliveries(
    conn: AsyncConnection, viewer: Viewer, centre_id: int, *, limit: int = 10
) -> dict[int, list[WebhookDelivery]]:
    """The last deliveries of each of a centre's webhooks, newest first: what an
    administrator checks when a partner says nothing arrives."""
    require_admin(viewer)
    rows = await conn.execute(
        text(
            """
            SELECT d.id, d.webhook_id, d.kind, d.status, d.attempts, d.created_at, d.sent_at,
                   d.last_error
            FROM webhooks w
            CROSS JOIN LATERAL (
                SELECT * FROM deliveries d WHERE d.webhook_id = w.id
                ORDER BY d.id DESC LIMIT :limit
            ) d
            WHERE w.centre_id = :c
            ORDER BY d.webhook_id, d.id DESC
            """
        ),
        {"c": centre_id, "limit": limit},
    )
    found: dict[int, list[WebhookDelivery]] = {}
    for r in rows:
        found.setdefault(r.webhook_id, []).append(WebhookDelivery(**dict(r._mapping)))
    return found
