"""What people see of matches: bands and categories before confirmation; contacts and
the exact address only once the match is confirmed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from voisins.geo.bands import Band
from voisins.posts.schemas import ExactLocation, PublicCell, Schedule
from voisins.request_bodies import Input

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


class WhyYou(msgspec.Struct, kw_only=True):
    """Why a proposition came to this volunteer: what of the request they match. Only
    their own facts against the request's public ones; nothing about anyone else."""

    category: str
    skills: list[str]
    languages: list[str]
    available: bool
    distance: Band


class VolunteerTrust(msgspec.Struct, kw_only=True):
    """What the request's side may know of a volunteer besides their name (issue 15):
    which centre vetted them, the month they joined, how many helps they completed.
    Nothing else about them, nothing about where they live beyond a centre's name, and
    the same whoever looks."""

    # The centre of the social worker who recorded a current criminal-record extract
    # (ID checked too); null when not vetted.
    vetted_by: str | None
    member_since: Annotated[
        str, Meta(pattern=r"^\d{4}-\d{2}\Z", description="YYYY-MM, the month only")
    ]
    helps_completed: int


class RequesterTrust(msgspec.Struct, kw_only=True):
    """What a volunteer may know of the person asking before saying yes: the centre
    that supports them when they are an assisted resident, null otherwise."""

    supported_by: str | None


class Proposition(msgspec.Struct, kw_only=True):
    """A match as its volunteer sees it."""

    id: int
    status: MatchStatus
    post: PostSummary
    distance: Band
    why: WhyYou
    proposed_at: datetime
    deadline_at: datetime
    requester_trust: RequesterTrust
    # Filled once confirmed: whom to call and where to go.
    requester: Contact | None = None
    location: ExactLocation | None = None


class MatchForAuthor(msgspec.Struct, kw_only=True):
    """A volunteer who said yes, as the request's author (or a social worker acting for
    them) sees it: anonymous until the match is confirmed."""

    id: int
    status: MatchStatus
    distance: Band
    responded_at: datetime | None
    volunteer: Contact | None = None
    # Shown with the volunteer only (see matching/reads.py, _volunteer_trust).
    volunteer_trust: VolunteerTrust | None = None


class PostAnswers(msgspec.Struct, kw_only=True):
    """Where a request stands: how many neighbours were asked and who said yes. Who was
    asked, in which batch and in what order stays on the server: it would tell where
    people live (DESIGN.md, "Location privacy")."""

    asked: int
    waiting: int
    said_no: int
    answers: list[MatchForAuthor]


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
