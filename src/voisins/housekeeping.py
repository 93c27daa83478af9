"""The housekeeping jobs: the crons of ``worker.HousekeepingSettings``.

Where every job lives:
- here, the crons that keep the data in shape (expiries, escalation, digests,
  reminders, follow-up lists, retention, purges, the worker's heartbeat);
- notify/jobs.py, the notification jobs (an event's fan-out, the sends, the sweep of
  sends due);
- worker.py, which jobs each arq worker runs, when, and how they are retried.

Each job is thin: it opens a transaction (or hands the engine over), reads its present
from ``clock.job_now(ctx)`` (a test freezes it through ``ctx["clock"]``) and calls the
service that does the work. No SQL here. Jobs take ids only (arq pickles their arguments
into Redis); these take none.
"""

from __future__ import annotations

import time
from typing import Any

from voisins import clock
from voisins.accounts import resets, sessions
from voisins.housing.overdue import raise_overdue_steps
from voisins.idempotency import purge_expired as purge_idempotency_keys
from voisins.logs import get_logger
from voisins.matching.engine import escalate_due
from voisins.moderation import gdpr
from voisins.moderation.followups import raise_followups
from voisins.notify.digest import compose_digests
from voisins.notify.reminders import remind_propositions
from voisins.posts import status as post_status
from voisins.schedule import paris_today

log = get_logger(__name__)

HEARTBEAT_KEY = "voisins:worker:heartbeat"


async def expire_posts(ctx: dict[str, Any]) -> int:
    """Published posts past their expiry date become expired."""
    async with ctx["engine"].begin() as conn:
        count = await post_status.expire_due(conn)
    if count:
        log.info("posts expired", count=count)
    return count


async def purge_stale_records(ctx: dict[str, Any]) -> dict[str, int]:
    """Old idempotency keys, ended sessions and used reset links are of no more use."""
    async with ctx["engine"].begin() as conn:
        keys = await purge_idempotency_keys(conn)
        ended = await sessions.purge_expired(conn)
        used = await resets.purge_expired(conn)
    return {"idempotency_keys": keys, "sessions": ended, "password_resets": used}


async def escalate_matching(ctx: dict[str, Any]) -> int:
    """Requests whose batch deadline passed get their next batch, a wider search, or a
    place on their centre's follow-up list."""
    async with ctx["engine"].begin() as conn:
        outcomes = await escalate_due(conn, ctx["settings"], now=clock.job_now(ctx))
    return len(outcomes)


async def gather_digests(ctx: dict[str, Any]) -> int:
    """Messages held for the daily digest go out as one, each person's morning."""
    return len(await compose_digests(ctx["engine"], now=clock.job_now(ctx)))


async def remind_unanswered(ctx: dict[str, Any]) -> int:
    """Propositions unanswered half-way to their deadline are recalled, once."""
    async with ctx["engine"].begin() as conn:
        return await remind_propositions(conn, now=clock.job_now(ctx))


async def raise_followup_items(ctx: dict[str, Any]) -> int:
    """Isolated people without activity and missed visits join their centre's follow-up list."""
    async with ctx["engine"].begin() as conn:
        return await raise_followups(conn, ctx["settings"], now=clock.job_now(ctx))


async def raise_housing_followups(ctx: dict[str, Any]) -> int:
    """Housing pairs whose follow-up visit is due or whose trial is over without an
    agreement join their centre's follow-up list. Idempotent: each pair, reason and due
    date is raised once (a unique index), so running it again raises nothing."""
    async with ctx["engine"].begin() as conn:
        return await raise_overdue_steps(conn, today=paris_today(clock.job_now(ctx)))


async def apply_retention(ctx: dict[str, Any]) -> dict[str, int]:
    """Daily: support records, conversation texts and audit traces past their retention
    (moderation/gdpr.apply_retention)."""
    now = clock.job_now(ctx)
    async with ctx["engine"].begin() as conn:
        counts = await gdpr.apply_retention(conn, settings=ctx["settings"], now=now)
    if any(counts.values()):
        log.info("retention applied", **counts)
    return counts


async def finish_erasures(ctx: dict[str, Any]) -> int:
    """Erasures whose Redis part met an outage: finish them (idempotent)."""
    return await gdpr.finish_erasures(ctx["engine"], ctx["redis"])


async def record_heartbeat(ctx: dict[str, Any]) -> None:
    """Lets operators see that a worker is alive and its cron loop turns."""
    await ctx["redis"].set(HEARTBEAT_KEY, str(int(time.time())), ex=600)
