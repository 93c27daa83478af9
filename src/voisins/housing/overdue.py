"""A pair's overdue steps on its centre's follow-up list (moderation/followups.py): a
follow-up visit whose day has passed, and a trial that ended without an agreement or
an end recorded; raised by a worker cron, closed when the awaited step is recorded."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.accounts.access import Viewer

# Overdue steps, once per due date: a follow-up visit whose day has passed, and a trial
# that ended without an agreement or an end recorded.
_OVERDUE = """
INSERT INTO followups (reason, housing_pair_id, centre_id, period)
SELECT 'housing_visit_due', id, centre_id, next_visit_due FROM housing_pairs
WHERE status IN ('trial', 'confirmed') AND next_visit_due < :today
UNION ALL
SELECT 'housing_trial_over', id, centre_id, trial_ends_on FROM housing_pairs
WHERE status = 'trial' AND trial_ends_on < :today
ON CONFLICT DO NOTHING
RETURNING id
"""


async def raise_overdue_steps(conn: AsyncConnection, *, today: date) -> int:
    """Put overdue visits and trials on the centre's follow-up list (a worker cron)."""
    return len((await conn.execute(text(_OVERDUE), {"today": today})).all())


async def close_overdue(conn: AsyncConnection, viewer: Viewer, pair_id: int, reason: str) -> None:
    """The step the follow-up list was waiting for is done: its items are closed."""
    await conn.execute(
        text(
            "UPDATE followups SET contacted_at = now(), contacted_by = :me, "
            "outcome = 'step recorded' WHERE housing_pair_id = :p AND reason = :r "
            "AND contacted_at IS NULL"
        ),
        {"me": viewer.id, "p": pair_id, "r": reason},
    )
