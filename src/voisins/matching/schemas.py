"""What people see of matches: bands and categories before confirmation; contacts and
the exact address only once the match is confirmed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from voisins.accounts.schemas import Input
from voisins.geo.bands import Band
from voisins.posts.schemas import ExactLocation, PublicCell, Schedule

MatchStatus = Literal[
    "proposed",
    "accepted",
    "declined",
    "expired",
    "withdrawn",
    "pending_review",
    "approved",
    "rejected",
    "confirmed",
    "completed",
    "cancelled",
]


class Contact(msgspec.Struct):
    user_id: int
    display_name: str
    email: str | None
    phone: str | None


class PostSummary(msgspec.Struct, kw_only=True):
    id: int
    kind: str
    category: str
    title: str
    description: str
    schedule: Schedule
    urgency: str
    sensitive: bool
    volunteers_needed: int
    cell: PublicCell


class Proposition(msgspec.Struct, kw_only=True):
    """A match as its volunteer sees it."""

    id: int
    status: MatchStatus
    post: PostSummary
    distance: Band
    proposed_at: datetime
    deadline_at: datetime
    # Filled once confirmed: whom to call and where to go.
    requester: Contact | None = None
    location: ExactLocation | None = None


class MatchForAuthor(msgspec.Struct, kw_only=True):
    """A match as the request's author (or a social worker acting for them) sees it:
    the volunteer stays anonymous until the match is confirmed."""

    id: int
    status: MatchStatus
    batch: int
    distance: Band
    proposed_at: datetime
    responded_at: datetime | None
    volunteer: Contact | None = None


class HistoryEntry(msgspec.Struct):
    from_status: str | None
    to_status: str
    actor_id: int | None
    reason: str | None
    at: datetime


class ReasonIn(Input):
    reason: Annotated[str, Meta(min_length=2, max_length=500)]


class FeedbackIn(Input):
    kind: Literal["thanks", "no_show"]
    comment: Annotated[str, Meta(max_length=1000)] | None = None


class Feedback(msgspec.Struct):
    match_id: int
    kind: str
    comment: str | None
    created_at: datetime
