"""Who hears about an event, what kind of message it is, and whether it is urgent.

Each outbox topic maps to a query returning recipient ids; ids only ever travel to
jobs, and the message text is rendered at delivery time from the database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# Social workers of the centres covering a post (and of their partners).
_CENTRE_WORKERS = """
SELECT DISTINCT m.user_id FROM post_centres pc
JOIN centre_members m ON m.centre_id = pc.centre_id
JOIN users u ON u.id = m.user_id AND u.status = 'active'
WHERE pc.post_id = :post_id
"""

# Who hears for a post's author: the author themselves; for an assisted resident (no
# digital access), every social worker of the centres acting for them — those through
# which their consent was recorded and not withdrawn (accounts/assisted.can_act_for) —
# and the worker who posted, so that a colleague can follow up on a day the poster is
# away. An assisted resident nobody acts for any more hears for themselves.
_FOR_AUTHOR = """
WITH post AS (
    SELECT p.author_id, p.created_by, a.assisted
    FROM posts p JOIN users a ON a.id = p.author_id WHERE p.id = {post_id}
), acting AS (
    SELECT post.created_by AS user_id FROM post
    WHERE post.assisted AND post.created_by IS NOT NULL
    UNION
    SELECT m.user_id FROM post
    JOIN consents c ON c.resident_id = post.author_id AND c.withdrawn_at IS NULL
    JOIN centre_members m ON m.centre_id = c.centre_id
    JOIN users w ON w.id = m.user_id AND w.role = 'social_worker' AND w.status = 'active'
    WHERE post.assisted
)
SELECT user_id FROM (
    SELECT user_id FROM acting
    UNION ALL
    SELECT author_id FROM post WHERE NOT EXISTS (SELECT 1 FROM acting)
) AS readers ORDER BY user_id
"""
_AUTHOR_OF_MATCH = _FOR_AUTHOR.format(post_id="(SELECT post_id FROM matches WHERE id = :match_id)")
_VOLUNTEER_OF_MATCH = "SELECT volunteer_id FROM matches WHERE id = :match_id"
_AUTHOR_OF_POST = _FOR_AUTHOR.format(post_id=":post_id")
# The author of an offer, while one of the requests its matching proposed still waits
# for their answer (the index on the volunteer's matches finds them).
_AUTHOR_OF_OFFER = """
SELECT p.author_id FROM posts p
WHERE p.id = :post_id AND p.kind = 'offer' AND EXISTS (
    SELECT 1 FROM matches m
    WHERE m.volunteer_id = p.author_id AND m.offer_id = p.id AND m.status = 'proposed')
"""
# Reports reach the social workers of the centres they were routed to, and no one else:
# not the reported person, when they are one of those social workers (a message they
# wrote for an assisted resident).
_REPORT_WORKERS = """
SELECT DISTINCT m.user_id FROM report_centres rc
JOIN centre_members m ON m.centre_id = rc.centre_id
JOIN users u ON u.id = m.user_id AND u.status = 'active'
JOIN reports r ON r.id = rc.report_id
WHERE rc.report_id = :report_id AND m.user_id IS DISTINCT FROM r.reported_id
"""

QUERIES: dict[str, list[str]] = {
    "match.proposed": [
        "SELECT volunteer_id FROM matches WHERE post_id = :post_id AND batch = :batch "
        "AND status = 'proposed'",
        # One proposition made from the volunteer's side (matching.profile_change.match_volunteer).
        "SELECT volunteer_id FROM matches WHERE id = :match_id AND status = 'proposed'",
    ],
    "match.accepted": [_AUTHOR_OF_MATCH],
    "match.review_needed": [
        _CENTRE_WORKERS.replace(":post_id", "(SELECT post_id FROM matches WHERE id = :match_id)")
    ],
    "match.confirmed": [_AUTHOR_OF_MATCH, _VOLUNTEER_OF_MATCH],
    "match.approved": [_VOLUNTEER_OF_MATCH],
    "match.rejected": [_VOLUNTEER_OF_MATCH],
    "match.cancelled": [_AUTHOR_OF_MATCH, _VOLUNTEER_OF_MATCH],
    "match.offer_proposed": [_AUTHOR_OF_OFFER],
    # Someone wrote in a match's conversation (conversations/service.py): the other
    # side hears, once per unread stretch. The text stays in the conversation.
    "conversation.to_volunteer": [_VOLUNTEER_OF_MATCH],
    "conversation.to_requester": [_AUTHOR_OF_MATCH],
    # The follow-up list's social workers, and the author (or the social workers acting
    # for an assisted resident) in their own words.
    "post.no_response": [_CENTRE_WORKERS],
    "post.unanswered": [_AUTHOR_OF_POST],
    # post_id is the request; the offer's author stays unnamed and unplaced.
    "post.offer_nearby": [_AUTHOR_OF_POST],
    "post.review_needed": [_CENTRE_WORKERS],
    "post.approved": [_AUTHOR_OF_POST],
    "post.rejected": [_AUTHOR_OF_POST],
    # The request changed after they said yes: what they agreed to is not what it was.
    "post.updated": [
        "SELECT volunteer_id FROM matches WHERE post_id = :post_id AND match_holds_place(status)"
    ],
    "report.filed": [_REPORT_WORKERS],
    "password.reset_requested": ["SELECT CAST(:user_id AS bigint)"],
    # Only while the person still has a link to follow: once the address is confirmed
    # (or the change dropped), a confirmation mail still in the queue is moot.
    "account.email_confirm": [
        "SELECT r.user_id FROM password_resets r WHERE r.user_id = :user_id "
        "AND r.purpose = 'email_confirm' AND r.used_at IS NULL AND r.expires_at > now() LIMIT 1"
    ],
    "account.email_change_requested": ["SELECT CAST(:user_id AS bigint)"],
    "account.password_changed": ["SELECT CAST(:user_id AS bigint)"],
    "account.staff_invited": ["SELECT CAST(:user_id AS bigint)"],
    # Only while the proposition still waits: an answer given meanwhile makes it moot.
    "reminder": ["SELECT volunteer_id FROM matches WHERE id = :match_id AND status = 'proposed'"],
    "digest": ["SELECT CAST(:user_id AS bigint)"],
}


@dataclass(frozen=True)
class Audience:
    kind: str
    user_ids: list[int]
    urgent: bool
    # The channels the event may use, when it says (a digest goes where its messages
    # were to go); None means the recipients' preferences alone decide.
    channels: frozenset[str] | None = None


async def audience(conn: AsyncConnection, topic: str, payload: dict[str, Any]) -> Audience:
    """The recipients of an event; topics nobody is told about give an empty audience."""
    queries = QUERIES.get(topic, [])
    params = {k: v for k, v in payload.items() if isinstance(v, int)}
    user_ids: list[int] = []
    for query in queries:
        needed = {
            name
            for name in ("post_id", "match_id", "batch", "user_id", "report_id")
            if f":{name}" in query
        }
        if not needed <= params.keys():
            continue
        rows = await conn.execute(text(query), {k: params[k] for k in needed})
        user_ids.extend(r[0] for r in rows if r[0] is not None and r[0] not in user_ids)
    urgent = False
    if "post_id" in params and topic == "match.proposed":
        urgent = bool(
            (
                await conn.execute(
                    text("SELECT urgency = 'urgent' FROM posts WHERE id = :p"),
                    {"p": params["post_id"]},
                )
            ).scalar()
        )
    channels = payload.get("channels")
    return Audience(
        kind=topic,
        user_ids=user_ids,
        urgent=urgent,
        channels=frozenset(channels.split(",")) if isinstance(channels, str) else None,
    )
