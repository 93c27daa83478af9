"""The audit trail: who viewed or changed a sensitive record, and every refused
authorisation. Rows are append-only (sql/0008_moderation.sql) and hold no payload and
no coordinate: an action name, the kind and id of the object, the outcome.

Views and changes are recorded on the connection of the request's own transaction, so
the trace exists exactly when the access happened. Refusals are recorded by the error
mapper on a fresh connection, since the refused request's transaction rolls back.
"""

from __future__ import annotations

from typing import Literal, Protocol

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

Outcome = Literal["allowed", "refused"]

_INSERT = """
INSERT INTO audit_log (actor_id, actor_role, action, object_type, object_id, outcome,
                       request_id)
VALUES (:actor, :role, :action, :object_type, :object_id, :outcome, :request_id)
"""


class Actor(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def role(self) -> str: ...


def _request_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("request_id")
    return str(value)[:64] if value else None


def _values(
    actor: Actor | None, action: str, object_type: str, object_id: int | None, outcome: Outcome
) -> dict[str, object]:
    return {
        "actor": actor.id if actor else None,
        "role": actor.role if actor else "anonymous",
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "outcome": outcome,
        "request_id": _request_id(),
    }


async def record(
    conn: AsyncConnection,
    actor: Actor | None,
    action: str,
    object_type: str,
    object_id: int | None = None,
    outcome: Outcome = "allowed",
) -> None:
    """Trace one access in the caller's transaction."""
    await conn.execute(text(_INSERT), _values(actor, action, object_type, object_id, outcome))


async def record_refusal(
    engine: AsyncEngine,
    actor: Actor | None,
    action: str,
    object_type: str,
    object_id: int | None = None,
) -> None:
    """Trace a refused authorisation in its own transaction (the request's rolled back)."""
    async with engine.begin() as conn:
        await conn.execute(text(_INSERT), _values(actor, action, object_type, object_id, "refused"))


async def purge_expired(conn: AsyncConnection) -> int:
    """Traces are kept 12 months (the table's trigger refuses to delete younger ones)."""
    result = await conn.execute(
        text("DELETE FROM audit_log WHERE at < now() - interval '12 months'")
    )
    return int(result.rowcount)
