"""The arq jobs of notifications: fan out an event, send deliveries, sweep what is due.

Arguments are ids only (arq pickles them into Redis). Retries are scheduled in
PostgreSQL (``deliveries.not_before``) rather than in arq, so a retry survives a Redis
restart; a delivery that keeps failing becomes a dead letter an admin can re-drive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from voisins.logs import get_logger
from voisins.notify.fanout import fan_out
from voisins.notify.live import publish_inbox_events
from voisins.notify.senders import PermanentError, Senders, TransientError

log = get_logger(__name__)

SEND_CHUNK = 100


def _now(ctx: dict[str, Any]) -> datetime:
    clock = ctx.get("clock")
    return clock() if clock else datetime.now(UTC)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min… capped at one hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


async def _enqueue_sends(ctx: dict[str, Any], delivery_ids: list[int]) -> None:
    for start in range(0, len(delivery_ids), SEND_CHUNK):
        chunk = delivery_ids[start : start + SEND_CHUNK]
        await ctx["redis"].enqueue_job("send_deliveries", chunk)


async def process_event(ctx: dict[str, Any], event_id: int) -> int:
    """Fan one outbox event out to its recipients' channels (once, however many runs)."""
    now = _now(ctx)
    async with ctx["engine"].begin() as conn:
        result = await fan_out(conn, event_id, now=now, enabled=ctx["senders"].enabled)
    if result is None:
        return 0
    await publish_inbox_events(ctx["redis"], result.inapp_users, event_id)
    await _enqueue_sends(ctx, result.due_now)
    return len(result.inapp_users) + len(result.due_now)


_CLAIM = """
UPDATE deliveries SET status = 'sending', attempts = attempts + 1, claimed_at = :now
WHERE id = :id AND status = 'pending' AND not_before <= :now
RETURNING id, channel, kind, event_id, attempts, user_id, webhook_id
"""


async def _bury(engine: Any, delivery_id: int, reason: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE deliveries SET status = 'dead', last_error = :e WHERE id = :id"),
            {"e": reason[:200], "id": delivery_id},
        )


async def send_deliveries(ctx: dict[str, Any], delivery_ids: list[int]) -> int:
    """Send each due delivery once. Each one is claimed, sent and marked in its own
    short transactions, so a worker killed mid-batch leaves at most the message being
    sent in doubt — never the batch."""
    engine = ctx["engine"]
    senders: Senders = ctx["senders"]
    max_attempts = ctx["settings"].delivery_max_attempts
    sent = 0
    for delivery_id in delivery_ids:
        now = _now(ctx)
        async with engine.begin() as conn:
            claim = (await conn.execute(text(_CLAIM), {"id": delivery_id, "now": now})).first()
        if claim is None:
            continue  # already sent, cancelled, not due, or claimed by another run
        try:
            await senders.send(engine, claim)
        except TransientError as exc:
            dead = claim.attempts >= max_attempts
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "UPDATE deliveries SET status = :status, not_before = :at, "
                        "last_error = :error WHERE id = :id"
                    ),
                    {
                        "status": "dead" if dead else "pending",
                        "at": now + backoff(claim.attempts),
                        "error": str(exc)[:200],
                        "id": delivery_id,
                    },
                )
            log.warning(
                "delivery failed", delivery=delivery_id, channel=claim.channel, dead=dead,
                error=type(exc).__name__,
            )  # fmt: skip
            continue
        except PermanentError as exc:
            await _bury(engine, delivery_id, str(exc))
            log.warning("delivery dead", delivery=delivery_id, channel=claim.channel)
            continue
        except Exception as exc:
            # A bug or bad data for this one message: it becomes a dead letter (an admin
            # can re-drive it once fixed) instead of killing the batch and being claimed
            # again and again. Only the class is kept: messages may quote personal data.
            await _bury(engine, delivery_id, f"unexpected {type(exc).__name__}")
            log.error(
                "delivery failed unexpectedly", delivery=delivery_id, error=type(exc).__name__
            )
            continue
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE deliveries SET status = 'sent', sent_at = :now WHERE id = :id"),
                {"now": _now(ctx), "id": delivery_id},
            )
        sent += 1
    return sent


async def send_due(ctx: dict[str, Any]) -> int:
    """Periodic sweep: deliveries whose time came (quiet hours over, retry due), and
    claims left by a killed job, go out again."""
    now = _now(ctx)
    async with ctx["engine"].begin() as conn:
        await conn.execute(
            text(
                "UPDATE deliveries SET status = 'pending' "
                "WHERE status = 'sending' AND claimed_at < :stale"
            ),
            {"stale": now - timedelta(seconds=ctx["settings"].delivery_claim_timeout_s)},
        )
        ids = list(
            (
                await conn.execute(
                    text(
                        "SELECT id FROM deliveries WHERE status = 'pending' AND not_before <= :now "
                        "ORDER BY not_before LIMIT 5000"
                    ),
                    {"now": now},
                )
            ).scalars()
        )
    await _enqueue_sends(ctx, ids)
    return len(ids)
