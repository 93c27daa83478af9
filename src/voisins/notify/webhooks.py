"""Partner associations' webhooks: registered per centre by administrators."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.accounts.access import Viewer, require_admin
from voisins.accounts.schemas import Input
from voisins.errors import NotFound
from voisins.notify.inbox import EventKind


class WebhookIn(Input):
    url: Annotated[str, Meta(pattern=r"^https?://\S+$", max_length=500)]
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
    conn: AsyncConnection, viewer: Viewer, centre_id: int, data: WebhookIn
) -> Webhook:
    require_admin(viewer)
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
    return Webhook(**dict(row._mapping))
