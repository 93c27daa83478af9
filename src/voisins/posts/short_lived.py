"""Bursts of short-lived posts: someone publishing and withdrawing posts again and again
is more likely mapping who gets proposed what than asking for help. Quotas
(accounts/quotas.py) slow them down; this rule tells a person — the covering centre's
social workers — who can look and call.

Counted in PostgreSQL from the posts themselves (who withdrew them, when), so it holds
when Redis is down, and written in the withdrawal's own transaction.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.settings import Settings

# One item per account and rolling window, on the list of every centre covering the
# post that completed the burst (the list of administrators — centre NULL — when none
# does). The unique index of sql/0011 also keeps concurrent withdrawals to one item a
# day per centre. The day is Paris's, as for the other follow-ups.
_RAISE = """
INSERT INTO followups (reason, person_id, post_id, centre_id, period)
SELECT 'short_lived_posts', :account, :post, c.centre_id,
       CAST(timezone('Europe/Paris', now()) AS date)
FROM (
    SELECT centre_id FROM post_centres WHERE post_id = :post
    UNION ALL
    SELECT NULL WHERE NOT EXISTS (SELECT 1 FROM post_centres WHERE post_id = :post)
) c
WHERE (SELECT count(*) FROM posts p
       WHERE p.withdrawn_by = :account
         AND p.withdrawn_at > now() - CAST(:window AS interval)
         -- (never published: NULL, not counted)
         AND p.withdrawn_at - p.published_at < CAST(:lifetime AS interval))
      >= :burst
  AND NOT EXISTS (SELECT 1 FROM followups f
                  WHERE f.reason = 'short_lived_posts' AND f.person_id = :account
                    AND f.created_at > now() - CAST(:window AS interval))
ON CONFLICT DO NOTHING
RETURNING id
"""


async def note_withdrawal(
    conn: AsyncConnection, account_id: int, post_id: int, settings: Settings
) -> bool:
    """After ``account_id`` withdrew ``post_id``: raise the follow-up if this completes a
    burst. True when an item was added."""
    added = (
        await conn.execute(
            text(_RAISE),
            {
                "account": account_id,
                "post": post_id,
                "window": timedelta(seconds=settings.followup_short_lived_window_s),
                "lifetime": timedelta(seconds=settings.followup_short_lived_s),
                "burst": settings.followup_short_lived_posts,
            },
        )
    ).all()
    return bool(added)
