"""Idempotency-Key: the same key sent twice by the same person creates one object and
gets the same response.

The key row is inserted in the transaction that creates the object, so a concurrent
duplicate waits on the primary key until the first commits, then replays its answer;
if the first rolls back, the duplicate simply runs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.errors import Invalid

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")


class StoredResponse(msgspec.Struct, frozen=True):
    status_code: int
    body: bytes


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not KEY_PATTERN.match(key):
        raise Invalid.field(HEADER, "8 to 128 characters among letters, digits and _ . : -")
    return key


def fingerprint(route: str, payload: object) -> str:
    return hashlib.sha256(route.encode() + b"\0" + msgspec.json.encode(payload)).hexdigest()


async def run_once(
    conn: AsyncConnection,
    *,
    user_id: int,
    key: str | None,
    route: str,
    payload: object,
    action: Callable[[], Awaitable[object]],
    status_code: int = 201,
) -> StoredResponse:
    """Run ``action`` once per (user, key) and return the JSON response to send."""
    if key is None:
        return StoredResponse(status_code, msgspec.json.encode(await action()))
    digest = fingerprint(route, payload)
    claimed = (
        await conn.execute(
            text(
                "INSERT INTO idempotency_keys (user_id, key, fingerprint) VALUES (:u, :k, :f) "
                "ON CONFLICT DO NOTHING RETURNING 1"
            ),
            {"u": user_id, "k": key, "f": digest},
        )
    ).first()
    if claimed is None:
        row = (
            await conn.execute(
                text(
                    "SELECT fingerprint, status_code, body FROM idempotency_keys "
                    "WHERE user_id = :u AND key = :k"
                ),
                {"u": user_id, "k": key},
            )
        ).one()
        if row.fingerprint != digest:
            raise Invalid.field(HEADER, "this key was already used for a different request")
        return StoredResponse(row.status_code, bytes(row.body))
    body = msgspec.json.encode(await action())
    await conn.execute(
        text(
            "UPDATE idempotency_keys SET status_code = :s, body = :b "
            "WHERE user_id = :u AND key = :k"
        ),
        {"s": status_code, "b": body, "u": user_id, "k": key},
    )
    return StoredResponse(status_code, body)


async def purge_expired(conn: AsyncConnection, *, older_than_hours: int = 24) -> int:
    result = await conn.execute(
        text("DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => :h)"),
        {"h": older_than_hours},
    )
    return result.rowcount
