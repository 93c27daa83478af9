"""Request and response bodies of conversations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from voisins.request_bodies import Input

Side = Literal["requester", "volunteer"]
# conversation_messages.body holds 2,000 characters (sql/0020_conversations.sql).
MESSAGE_MAX_CHARS = 2000
MessageText = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MESSAGE_MAX_CHARS,
        description="The message, 1 to 2,000 characters",
        examples=["Bonjour, je peux passer jeudi vers 10 h, cela vous convient ?"],
    ),
]
ConversationState = Literal["open", "read_only"]
# Why a conversation is read-only: the match ended more than 30 days ago, or one side
# blocked the other.
ClosedBecause = Literal["ended", "blocked"]


class MessageIn(Input):
    text: MessageText


class Message(msgspec.Struct, kw_only=True):
    """One message as a side of the conversation reads it."""

    id: int
    side: Side
    # Written by my side (by me, or by a social worker acting for the person I act for).
    mine: bool
    # Who typed it: the side's person, or the social worker who wrote for an assisted
    # resident (``on_behalf``), signed with their own name. None once erased.
    author_name: str | None
    on_behalf: bool
    # None once erased (retention of support records, or the author's erasure).
    text: str | None
    created_at: datetime


class ContactShareIn(Input):
    """What my side shows the other side: each may be taken back while the
    conversation is open."""

    phone: bool
    email: bool


class SharedContacts(msgspec.Struct, kw_only=True):
    """The other side's contacts they chose to share (None: not shared, or no longer
    shown: the conversation closed)."""

    phone: str | None = None
    email: str | None = None


class Conversation(msgspec.Struct, kw_only=True):
    match_id: int
    post_id: int
    post_title: str
    my_side: Side
    # The assisted resident I write for, when I am a social worker acting for them.
    acting_for: str | None
    other_name: str
    state: ConversationState
    closed_because: ClosedBecause | None
    # Until when it stays writable (30 days after the match ended); None while the
    # match goes on.
    writable_until: datetime | None
    my_shares: ContactShareIn
    their_contacts: SharedContacts
    unread: int
    last_message_id: int


class ConversationSummary(msgspec.Struct, kw_only=True):
    """A line of my list of conversations."""

    match_id: int
    post_title: str
    other_name: str
    # The assisted resident I write for, when I am a social worker acting for them.
    acting_for: str | None = None
    state: ConversationState
    unread: int
    last_message_at: datetime | None


class ReadIn(Input):
    """Mark read up to this message (included)."""

    up_to: Annotated[int, Meta(ge=0, le=2**63 - 1)]


class ReportedConversation(msgspec.Struct, kw_only=True):
    """A conversation brought in by a report, as the covering centre reads it."""

    report_id: int
    match_id: int
    post_id: int
    reported_message_id: int | None
    requester_name: str
    volunteer_name: str
    messages: list[Message]
