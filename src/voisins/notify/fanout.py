"""Fan-out of one event: one delivery row per (event, recipient, channel), written once
whatever the number of runs; in-app notifications are stored in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.notify.inbox_texts import link_for, post_facts, render
from voisins.notify.preferences import ACCOUNT_KINDS, channels_for, plan, preferences_from_row
from voisins.notify.recipients import audience

# Asked for by the person, or about their account: no quiet hours, no digest, no cap.
TRANSACTIONAL = ACCOUNT_KINDS


@dataclass(frozen=True)
class FanOut:
    event_id: int
    inapp_users: list[int]
    due_now: list[int]  # delivery ids to send at once (e-mail, SMS)


_RECIPIENTS = """
SELECT u.id, u.email IS NOT NULL AS has_email, u.phone IS NOT NULL AS has_phone, u.locale,
       u.email_confirmed_at IS NOT NULL AS email_confirmed,
       p.channels, p.quiet_start, p.quiet_end, p.urgent_breaks_quiet, p.digest, p.daily_cap,
       p.email_unsubscribed,
       (SELECT count(*) FROM deliveries d
        WHERE d.user_id = u.id AND d.status = 'sent' AND d.channel IN ('email', 'sms')
          AND d.sent_at >= date_trunc('day', CAST(:now AS timestamptz), 'Europe/Paris'))
           AS sent_today
FROM users u LEFT JOIN notification_preferences p ON p.user_id = u.id
WHERE u.id = ANY(:ids) AND u.status = 'active'
"""


async def fan_out(
    conn: AsyncConnection, event_id: int, *, now: datetime, enabled: frozenset[str]
) -> FanOut | None:
    """Create the deliveries of an event (once) and mark the event processed. Returns
    None when the event was already processed by an earlier run."""
    event = (
        await conn.execute(
            text("SELECT topic, payload, processed_at FROM outbox WHERE id = :id FOR UPDATE"),
            {"id": event_id},
        )
    ).first()
    if event is None or event.processed_at is not None:
        return None
    who = await audience(conn, event.topic, event.payload)
    rows = (await conn.execute(text(_RECIPIENTS), {"ids": who.user_ids, "now": now})).all()
    facts = await post_facts(conn, event.payload, who.kind)
    planned: list[dict[str, Any]] = []
    locales: dict[int, str] = {}
    for row in rows:
        prefs = preferences_from_row(row)
        locales[row.id] = row.locale
        for channel in channels_for(
            who.kind,
            prefs,
            has_email=row.has_email,
            email_confirmed=row.email_confirmed,
            has_phone=row.has_phone,
        ):
            if channel not in enabled or (who.channels is not None and channel not in who.channels):
                continue
            when = plan(
                channel,
                prefs,
                now=now,
                urgent=who.urgent,
                sent_today=row.sent_today,
                transactional=who.kind in TRANSACTIONAL,
                is_digest=who.kind == "digest",
            )
            planned.append(
                {
                    "user_id": row.id,
                    "channel": channel,
                    "status": when.status,
                    "at": when.not_before,
                }
            )
    inserted: Sequence[Any] = []
    if planned:
        inserted = (
            await conn.execute(
                text(
                    """
                    INSERT INTO deliveries (event_id, user_id, channel, kind, urgent, status,
                                            not_before, created_at)
                    SELECT :event, u.user_id, u.channel, :kind, :urgent, u.status, u.at,
                           CAST(:now AS timestamptz)
                    FROM unnest(CAST(:users AS bigint[]), CAST(:channels AS text[]),
                                CAST(:statuses AS text[]), CAST(:ats AS timestamptz[]))
                         AS u(user_id, channel, status, at)
                    ON CONFLICT DO NOTHING
                    RETURNING id, user_id, channel, status, not_before
                    """
                ),
                {
                    "event": event_id,
                    "kind": who.kind,
                    "urgent": who.urgent,
                    "users": [p["user_id"] for p in planned],
                    "channels": [p["channel"] for p in planned],
                    "statuses": [p["status"] for p in planned],
                    "ats": [p["at"] for p in planned],
                    # The fan-out's clock, not the database's: the digest gathers what
                    # waited since before a morning read on that same clock.
                    "now": now,
                },
            )
        ).all()
    inapp = [d for d in inserted if d.channel == "inapp"]
    if inapp:
        texts = [render(who.kind, locales[d.user_id], facts) for d in inapp]
        await conn.execute(
            text(
                """
                INSERT INTO notifications (user_id, event_id, kind, title, body, link)
                SELECT u.user_id, :event, :kind, u.title, u.body, u.link
                FROM unnest(CAST(:users AS bigint[]), CAST(:titles AS text[]),
                            CAST(:bodies AS text[]), CAST(:links AS text[]))
                     AS u(user_id, title, body, link)
                ON CONFLICT DO NOTHING
                """
            ),
            {
                "event": event_id,
                "kind": who.kind,
                "users": [d.user_id for d in inapp],
                "links": [link_for(who.kind, facts, d.user_id) for d in inapp],
                "titles": [t for t, _ in texts],
                "bodies": [b for _, b in texts],
            },
        )
        await conn.execute(
            text("UPDATE deliveries SET status = 'sent', sent_at = :now WHERE id = ANY(:ids)"),
            {"now": now, "ids": [d.id for d in inapp]},
        )
    hooks: Sequence[Any] = []
    if "webhook" in enabled and facts.get("post_id"):
        # Partner associations of the covering centres that follow this kind of event.
        hooks = (
            await conn.execute(
                text(
                    """
                    INSERT INTO deliveries (event_id, webhook_id, channel, kind, not_before)
                    SELECT DISTINCT CAST(:event AS bigint), w.id, 'webhook', CAST(:kind AS text),
                           CAST(:now AS timestamptz)
                    FROM webhooks w JOIN post_centres pc ON pc.centre_id = w.centre_id
                    WHERE pc.post_id = CAST(:post AS bigint) AND w.active
                      AND (cardinality(w.topics) = 0 OR CAST(:kind AS text) = ANY(w.topics))
                    ON CONFLICT DO NOTHING
                    RETURNING id
                    """
                ),
                {"event": event_id, "kind": who.kind, "now": now, "post": facts["post_id"]},
            )
        ).all()
    await conn.execute(
        text("UPDATE outbox SET processed_at = :now WHERE id = :id"), {"now": now, "id": event_id}
    )
    due = [
        d.id
        for d in inserted
        if d.channel != "inapp" and d.status == "pending" and d.not_before <= now
    ]
    return FanOut(event_id, [d.user_id for d in inapp], due + [h.id for h in hooks])
