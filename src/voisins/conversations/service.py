"""Conversations: who takes part, reading, writing, sharing contacts.

A conversation is a confirmed match's: its two sides are the request's author (the
"requester", for whom the social workers acting for an assisted resident write, signed
as such) and the volunteer. Nobody else reads it: not the centres, not the
administrators — except the covering centre's social workers through a report that
names one of its messages (conversations/reported.py, audited).

Message text never leaves PostgreSQL except to the two sides' browsers: the outbox
event that tells the other side says who wrote to whom (ids), the live event names the
message by id, and the e-mail or SMS says someone wrote, with a link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.accounts.access import Viewer
from voisins.accounts.assisted import can_act_for
from voisins.conversations.rules import READ_ONLY_AFTER
from voisins.conversations.schemas import (
    ContactShareIn,
    Conversation,
    ConversationSummary,
    Message,
    MessageIn,
    SharedContacts,
    Side,
)
from voisins.errors import Conflict, Invalid, NotFound
from voisins.matching.reads import NOT_ANSWERED
from voisins.outbox import emit

# Told to the other side: the recipients are that side's (notify/recipients.py).
TOPIC_FOR = {"requester": "conversation.to_requester", "volunteer": "conversation.to_volunteer"}

_MATCH = """
SELECT m.id, m.status, m.confirmed_at, m.closed_at, m.volunteer_id, m.post_id,
       p.author_id, p.title, a.assisted, a.display_name AS requester_name,
       a.phone AS requester_phone, a.email AS requester_email,
       v.display_name AS volunteer_name, v.phone AS volunteer_phone,
       v.email AS volunteer_email,
       blocked_between(m.volunteer_id, p.author_id) AS blocked,
       match_still_shown(m.closed_at, CAST(:now AS timestamptz)) AS still_shown
FROM matches m
JOIN posts p ON p.id = m.post_id
JOIN users a ON a.id = p.author_id
JOIN users v ON v.id = m.volunteer_id
WHERE m.id = :id
"""


@dataclass(frozen=True)
class Participation:
    """The viewer's part in one conversation."""

    match: Any
    side: Side
    on_behalf: bool

    @property
    def other_side(self) -> Side:
        return "volunteer" if self.side == "requester" else "requester"

    @property
    def closed_because(self) -> str | None:
        if self.match.blocked:
            return "blocked"
        if not self.match.still_shown:
            return "ended"
        return None


async def participation(
    conn: AsyncConnection, viewer: Viewer, match_id: int, *, now: datetime
) -> Participation:
    """The viewer's side of a match's conversation. Not a side: 404, the same as a match
    that does not exist. Not confirmed yet: 409 (only a side learns that)."""
    row = (await conn.execute(text(_MATCH), {"id": match_id, "now": now})).first()
    if row is None:
        raise NotFound("no such conversation")
    if viewer.id == row.volunteer_id:
        found = Participation(row, "volunteer", on_behalf=False)
    elif viewer.id == row.author_id:
        found = Participation(row, "requester", on_behalf=False)
    elif row.assisted and await can_act_for(conn, viewer, row.author_id):
        found = Participation(row, "requester", on_behalf=True)
    else:
        raise NotFound("no such conversation")
    if row.confirmed_at is None:
        if found.side == "requester" and row.status in NOT_ANSWERED:
            # The request's side never learns of the propositions nobody said yes to
            # (matching/reads.py): who was asked, and when, would show the batches.
            raise NotFound("no such conversation")
        raise Conflict("the conversation opens once the match is confirmed")
    return found


def _writable_until(match: Any) -> datetime | None:
    return match.closed_at + READ_ONLY_AFTER if match.closed_at is not None else None


_UNREAD = """
SELECT count(*) AS unread FROM conversation_messages
WHERE match_id = :m AND side = :other AND id > coalesce(
    (SELECT last_read_id FROM conversation_reads WHERE match_id = :m AND side = :mine), 0)
"""


async def get_conversation(
    conn: AsyncConnection, viewer: Viewer, match_id: int, *, now: datetime
) -> Conversation:
    part = await participation(conn, viewer, match_id, now=now)
    m = part.match
    shares = (
        await conn.execute(
            text("SELECT side, phone, email FROM contact_shares WHERE match_id = :m"),
            {"m": match_id},
        )
    ).all()
    by_side = {s.side: s for s in shares}
    mine, theirs = by_side.get(part.side), by_side.get(part.other_side)
    shown = part.closed_because is None
    their_contacts = SharedContacts()
    if shown and theirs is not None:
        prefix = part.other_side
        their_contacts = SharedContacts(
            phone=getattr(m, f"{prefix}_phone") if theirs.phone else None,
            email=getattr(m, f"{prefix}_email") if theirs.email else None,
        )
    counts = (
        await conn.execute(
            text(_UNREAD), {"m": match_id, "other": part.other_side, "mine": part.side}
        )
    ).one()
    last = await last_message_id(conn, match_id)
    closed = part.closed_because
    return Conversation(
        match_id=m.id,
        post_id=m.post_id,
        post_title=m.title,
        my_side=part.side,
        acting_for=m.requester_name if part.on_behalf else None,
        other_name=m.volunteer_name if part.side == "requester" else m.requester_name,
        state="open" if closed is None else "read_only",
        closed_because=closed,  # type: ignore[arg-type]
        writable_until=_writable_until(m),
        my_shares=ContactShareIn(phone=bool(mine and mine.phone), email=bool(mine and mine.email)),
        their_contacts=their_contacts,
        unread=int(counts.unread),
        last_message_id=int(last),
    )


_MESSAGES = """
SELECT c.id, c.side, c.on_behalf, c.body, c.created_at, u.display_name AS author_name
FROM conversation_messages c LEFT JOIN users u ON u.id = c.author_id
WHERE c.match_id = :m
"""


def _message(row: Any, my_side: Side | None) -> Message:
    return Message(
        id=row.id,
        side=row.side,
        mine=row.side == my_side,
        author_name=row.author_name if row.body is not None else None,
        on_behalf=row.on_behalf,
        text=row.body,
        created_at=row.created_at,
    )


async def list_messages(
    conn: AsyncConnection,
    viewer: Viewer,
    match_id: int,
    *,
    after: int | None,
    before: int | None,
    limit: int,
    now: datetime,
) -> list[Message]:
    """Oldest first: those after ``after``, or the ``limit`` before ``before``, or the
    latest ``limit``."""
    part = await participation(conn, viewer, match_id, now=now)
    return await messages_of(conn, match_id, part.side, after=after, before=before, limit=limit)


async def messages_of(
    conn: AsyncConnection,
    match_id: int,
    my_side: Side | None,
    *,
    after: int | None,
    before: int | None,
    limit: int,
) -> list[Message]:
    """A conversation's messages, for a reader whose part was checked (``my_side``)."""
    if after is not None and before is not None:
        raise Invalid("give after or before, not both", {"after": "not with before"})
    if after is not None:
        sql = _MESSAGES + " AND c.id > :after ORDER BY c.id LIMIT :limit"
        params: dict[str, Any] = {"m": match_id, "after": after, "limit": limit}
    else:
        bound = " AND c.id < :before" if before is not None else ""
        sql = (
            "SELECT * FROM (" + _MESSAGES + bound + " ORDER BY c.id DESC LIMIT :limit) AS latest "
            "ORDER BY id"
        )
        params = {"m": match_id, "before": before, "limit": limit}
    rows = (await conn.execute(text(sql), params)).all()
    return [_message(r, my_side) for r in rows]


async def last_message_id(conn: AsyncConnection, match_id: int) -> int:
    """The id of a conversation's latest message (0 when none)."""
    return int(
        (
            await conn.execute(
                text("SELECT coalesce(max(id), 0) FROM conversation_messages WHERE match_id = :m"),
                {"m": match_id},
            )
        ).scalar_one()
    )


def _writable(part: Participation) -> None:
    closed = part.closed_because
    if closed == "blocked":
        raise Conflict("this conversation is closed: one of you blocked the other")
    if closed == "ended":
        raise Conflict("this conversation is read-only: the help ended more than 30 days ago")


# The other side is told once per unread stretch: when this message is the first of my
# side they have not read yet.
_FIRST_UNREAD = """
SELECT NOT EXISTS (
    SELECT 1 FROM conversation_messages
    WHERE match_id = :m AND side = :mine AND id < :new AND id > coalesce(
        (SELECT last_read_id FROM conversation_reads WHERE match_id = :m AND side = :other), 0))
"""

# Never past the conversation's last message: a mark beyond it would stick (greatest)
# and hide every message to come as read.
_MARK_READ = """
INSERT INTO conversation_reads (match_id, side, last_read_id)
VALUES (:m, :side, least(CAST(:up_to AS bigint), (
    SELECT coalesce(max(id), 0) FROM conversation_messages WHERE match_id = :m)))
ON CONFLICT (match_id, side) DO UPDATE
SET last_read_id = greatest(conversation_reads.last_read_id, EXCLUDED.last_read_id)
"""


async def send_message(
    conn: AsyncConnection, viewer: Viewer, match_id: int, data: MessageIn, *, now: datetime
) -> Message:
    part = await participation(conn, viewer, match_id, now=now)
    _writable(part)
    body = data.text.strip()
    if not body:
        raise Invalid.field("text", "the message is empty")
    row = (
        await conn.execute(
            text(
                "INSERT INTO conversation_messages (match_id, side, author_id, on_behalf, body, "
                "created_at) VALUES (:m, :side, :me, :behalf, :body, :now) "
                "RETURNING id, side, on_behalf, body, created_at, "
                "(SELECT display_name FROM users WHERE id = :me) AS author_name"
            ),
            {
                "m": match_id,
                "side": part.side,
                "me": viewer.id,
                "behalf": part.on_behalf,
                "body": body,
                "now": now,
            },
        )
    ).one()
    # What I write, I have read (the messages before it too).
    await conn.execute(text(_MARK_READ), {"m": match_id, "side": part.side, "up_to": row.id})
    first_unread = (
        await conn.execute(
            text(_FIRST_UNREAD),
            {"m": match_id, "mine": part.side, "other": part.other_side, "new": row.id},
        )
    ).scalar_one()
    if first_unread:
        await emit(conn, TOPIC_FOR[part.other_side], match_id=match_id, message_id=row.id)
    return _message(row, part.side)


async def mark_read(
    conn: AsyncConnection, viewer: Viewer, match_id: int, up_to: int, *, now: datetime
) -> int:
    """My side has read up to ``up_to``; returns how many of theirs stay unread."""
    part = await participation(conn, viewer, match_id, now=now)
    await conn.execute(text(_MARK_READ), {"m": match_id, "side": part.side, "up_to": up_to})
    unread = (
        await conn.execute(
            text(_UNREAD), {"m": match_id, "other": part.other_side, "mine": part.side}
        )
    ).one()
    return int(unread.unread)


async def share_contacts(
    conn: AsyncConnection, viewer: Viewer, match_id: int, data: ContactShareIn, *, now: datetime
) -> Conversation:
    part = await participation(conn, viewer, match_id, now=now)
    _writable(part)
    m = part.match
    prefix = part.side
    if data.phone and not getattr(m, f"{prefix}_phone"):
        raise Invalid.field("phone", "no phone number on the account to share")
    await conn.execute(
        text(
            "INSERT INTO contact_shares (match_id, side, phone, email, changed_at) "
            "VALUES (:m, :side, :phone, :email, :now) ON CONFLICT (match_id, side) DO UPDATE "
            "SET phone = EXCLUDED.phone, email = EXCLUDED.email, changed_at = EXCLUDED.changed_at"
        ),
        {"m": match_id, "side": part.side, "phone": data.phone, "email": data.email, "now": now},
    )
    return await get_conversation(conn, viewer, match_id, now=now)


# My side of a match: the volunteer's, the author's, or — for a social worker — the
# request's side of an assisted resident they act for (accounts/assisted.can_act_for:
# a consent not withdrawn through one of their centres, the resident still active).
_MY_SIDE = """CASE WHEN m.volunteer_id = :me THEN 'volunteer' ELSE 'requester' END"""
_ACTING = """(CAST(:worker AS boolean) AND a.assisted AND a.status = 'active' AND EXISTS (
    SELECT 1 FROM consents k WHERE k.resident_id = a.id AND k.withdrawn_at IS NULL
      AND k.centre_id = ANY(CAST(:centres AS bigint[]))))"""
_MINE = f"""
SELECT m.id AS match_id, p.title AS post_title,
       CASE WHEN m.volunteer_id = :me THEN a.display_name ELSE v.display_name END AS other_name,
       CASE WHEN m.volunteer_id <> :me AND p.author_id <> :me THEN a.display_name END
           AS acting_for,
       blocked_between(m.volunteer_id, p.author_id) AS blocked,
       match_still_shown(m.closed_at, CAST(:now AS timestamptz)) AS still_shown,
       (SELECT max(created_at) FROM conversation_messages c WHERE c.match_id = m.id)
           AS last_message_at,
       (SELECT count(*) FROM conversation_messages c
        WHERE c.match_id = m.id AND c.side <> {_MY_SIDE}
          AND c.id > coalesce((SELECT r.last_read_id FROM conversation_reads r
                               WHERE r.match_id = m.id AND r.side = {_MY_SIDE}), 0)) AS unread
FROM matches m
JOIN posts p ON p.id = m.post_id
JOIN users a ON a.id = p.author_id
JOIN users v ON v.id = m.volunteer_id
WHERE m.confirmed_at IS NOT NULL
  AND (m.volunteer_id = :me OR p.author_id = :me OR {_ACTING})
ORDER BY last_message_at DESC NULLS LAST, m.confirmed_at DESC, m.id DESC
LIMIT :limit OFFSET :offset
"""


async def my_conversations(
    conn: AsyncConnection, viewer: Viewer, *, limit: int, offset: int, now: datetime
) -> list[ConversationSummary]:
    """The conversations of my own matches (as volunteer or requester) and, for a
    social worker, those of the assisted residents they act for; latest first."""
    rows = await conn.execute(
        text(_MINE),
        {
            "me": viewer.id,
            "now": now,
            "limit": limit,
            "offset": offset,
            "worker": viewer.is_social_worker,
            "centres": sorted(viewer.centre_ids),
        },
    )
    return [
        ConversationSummary(
            match_id=r.match_id,
            post_title=r.post_title,
            other_name=r.other_name,
            acting_for=r.acting_for,
            state="open" if r.still_shown and not r.blocked else "read_only",
            unread=int(r.unread),
            last_message_at=r.last_message_at,
        )
        for r in rows
    ]
