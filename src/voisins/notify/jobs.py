"""The arq jobs of notifications: fan out an event, send deliveries, sweep what is due.

Arguments are ids only (arq pickles them into Redis). Retries are scheduled in
PostgreSQL (``deliveries.not_before``) rather than in arq, so a retry survives a Redis
restart; a delivery that keeps failing becomes a dead letter an admin can re-drive.

The other jobs, the crons, are housekeeping.py's; worker.py says which worker runs which."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import clock
from voisins.logs import get_logger
from voisins.matching.profile_change import run_event as run_matching_event
from voisins.notify.fanout import fan_out
from voisins.notify.live import publish_inbox_events
from voisins.notify.senders import PermanentError, SendBatch, Senders, TransientError

log = get_logger(__name__)

# Sends have an arq queue of their own (see worker.py): a burst of e-mails never
# delays the fan-out that fills the in-app inboxes.
SEND_QUEUE = "voisins:send"
# A chunk is one job: 50 e-mails over one SMTP connection take a few seconds, far
# within the job timeout, and a killed worker leaves at most a chunk per job to others.
SEND_CHUNK = 50


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min… capped at one hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


async def _enqueue_sends(ctx: dict[str, Any], delivery_ids: list[int]) -> None:
    for start in range(0, len(delivery_ids), SEND_CHUNK):
        chunk = delivery_ids[start : start + SEND_CHUNK]
        await ctx["redis"].enqueue_job("send_deliveries", chunk, _queue_name=SEND_QUEUE)


async def process_event(ctx: dict[str, Any], event_id: int) -> int:
    """Fan one outbox event out to its recipients' channels (once, however many runs)."""
    now = clock.job_now(ctx)
    async with ctx["engine"].begin() as conn:
        # A volunteer's new or changed profile: the open requests nearby are proposed
        # first, in the same transaction as the fan-out that marks the event processed.
        await run_matching_event(conn, event_id, ctx["settings"], now=now)
        result = await fan_out(conn, event_id, now=now, enabled=ctx["senders"].enabled)
    if result is None:
        return 0
    await publish_inbox_events(ctx["redis"], result.inapp_users, event_id)
    await _enqueue_sends(ctx, result.due_now)
    return len(result.inapp_users) + len(result.due_now)


# SKIP LOCKED: a delivery another job is claiming is that job's; and rows are locked in
# one order, so two jobs given overlapping chunks never deadlock.
_CLAIM = text("""
WITH due AS (
    SELECT id FROM deliveries
    WHERE id = ANY(:ids) AND status = 'pending' AND not_before <= :now
    ORDER BY id
    FOR UPDATE SKIP LOCKED
)
UPDATE deliveries d SET status = 'sending', attempts = d.attempts + 1, claimed_at = :now
FROM due WHERE d.id = due.id
RETURNING d.id, d.channel, d.kind, d.event_id, d.attempts, d.user_id, d.webhook_id
""")

# Claims a job could not start (cancelled: timeout or shutdown) go back as they were.
_RELEASE = text("""
UPDATE deliveries SET status = 'pending', attempts = attempts - 1, claimed_at = NULL
WHERE id = ANY(:ids) AND status = 'sending'
""")

# The heartbeat of a running job: its claims stay its own while it lives.
_RENEW = text("""
UPDATE deliveries SET claimed_at = :now WHERE id = ANY(:ids) AND status = 'sending'
""")

# Marked straight on the asyncpg connection (a prepared statement it caches): this is
# the one statement per e-mail, and SQLAlchemy's per-statement work was a tenth of a
# send worker's CPU.
_SENT = "UPDATE deliveries SET status = 'sent', sent_at = $1 WHERE id = $2"
_FAILED = text(
    "UPDATE deliveries SET status = :status, not_before = :at, last_error = :error WHERE id = :id"
)
_DEAD = text("UPDATE deliveries SET status = 'dead', last_error = :error WHERE id = :id")


async def send_deliveries(ctx: dict[str, Any], delivery_ids: list[int]) -> int:
    """Send the due deliveries among ``delivery_ids``; returns how many went out.

    The chunk is claimed in one statement, then each delivery is sent and marked in
    turn, each mark committed at once. While the job runs, a heartbeat renews the
    claims it has not finished (``claimed_at``): a worker killed mid-chunk stops
    renewing them, and ``send_due`` hands them out again once they are
    ``delivery_claim_timeout_s`` old — seconds, not the job's timeout. Only the message
    being sent at the kill is in doubt; it goes again with the same Message-ID.
    Recipients are read in one query and the chunk's e-mails share one SMTP
    connection; one delivery's failure (a refused recipient, a bug) touches that
    delivery only."""
    engine = ctx["engine"]
    senders: Senders = ctx["senders"]
    max_attempts = ctx["settings"].delivery_max_attempts
    sent = 0
    # AUTOCOMMIT: each statement is its own transaction, one round trip each.
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        rows = await conn.execute(_CLAIM, {"ids": delivery_ids, "now": clock.job_now(ctx)})
        claims = sorted(rows.all(), key=lambda claim: claim.id)
        if not claims:
            return 0  # already sent, cancelled, not due, or claimed by another run
        started = 0
        heartbeat = asyncio.create_task(_renew_claims(ctx, claims, lambda: started))
        try:
            async with senders.batch(conn) as batch:
                await batch.load(claims)
                for claim in claims:
                    started += 1
                    if await _send_one(ctx, conn, batch, claim, max_attempts):
                        sent += 1
        except asyncio.CancelledError:
            # Stopped (job timeout, shutdown): what was not started is handed back now
            # rather than after the claim timeout. The one in flight stays in doubt.
            unstarted = [claim.id for claim in claims[started:]]
            if unstarted:
                async with engine.begin() as release:
                    await release.execute(_RELEASE, {"ids": unstarted})
            raise
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
    return sent


async def _renew_claims(ctx: dict[str, Any], claims: list[Any], started: Any) -> None:
    """Every ``delivery_claim_heartbeat_s``, renew the claims from the one being sent
    on (``started()`` of them begun), on a connection of its own: the job's is busy
    sending. A failed renewal is only a missed beat (the claims may be taken over: a
    duplicate at worst, never a loss)."""
    interval = ctx["settings"].delivery_claim_heartbeat_s
    while True:
        await asyncio.sleep(interval)
        ids = [claim.id for claim in claims[max(0, started() - 1) :]]
        try:
            async with ctx["engine"].begin() as conn:
                await conn.execute(_RENEW, {"ids": ids, "now": clock.job_now(ctx)})
        except (OSError, DBAPIError, SQLAlchemyTimeoutError) as exc:
            log.warning("delivery claims not renewed", error=type(exc).__name__)


async def _send_one(
    ctx: dict[str, Any], conn: AsyncConnection, batch: SendBatch, claim: Any, max_attempts: int
) -> bool:
    """Send one claimed delivery and record the outcome; True when it went out."""
    try:
        await batch.send(claim)
    except TransientError as exc:
        dead = claim.attempts >= max_attempts
        await conn.execute(
            _FAILED,
            {
                "status": "dead" if dead else "pending",
                "at": clock.job_now(ctx) + backoff(claim.attempts),
                "error": str(exc)[:200],
                "id": claim.id,
            },
        )
        log.warning(
            "delivery failed", delivery=claim.id, channel=claim.channel, dead=dead,
            error=type(exc).__name__,
        )  # fmt: skip
        return False
    except PermanentError as exc:
        await conn.execute(_DEAD, {"error": str(exc)[:200], "id": claim.id})
        log.warning("delivery dead", delivery=claim.id, channel=claim.channel)
        return False
    except Exception as exc:
        # A bug or bad data for this one message: it becomes a dead letter (an admin
        # can re-drive it once fixed) instead of killing the chunk and being claimed
        # again and again. Only the class is kept: messages may quote personal data.
        await conn.execute(_DEAD, {"error": f"unexpected {type(exc).__name__}", "id": claim.id})
        log.error("delivery failed unexpectedly", delivery=claim.id, error=type(exc).__name__)
        return False
    raw = await conn.get_raw_connection()
    await raw.driver_connection.execute(_SENT, clock.job_now(ctx), claim.id)  # type: ignore[union-attr]
    return True


async def send_due(ctx: dict[str, Any]) -> int:
    """Periodic sweep: deliveries whose time came (quiet hours over, retry due), and
    claims left by a killed job, go out again."""
    now = clock.job_now(ctx)
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
