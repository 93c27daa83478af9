"""Bodies of the posts API. Public views carry the public cell and distance bands only;
the exact location appears in ``PostPrivate`` for those the design names."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from voisins.accounts.schemas import Vulnerability
from voisins.categories import Category
from voisins.geo.bands import Band
from voisins.locations import LocationIn
from voisins.request_bodies import Input, Language, SkillTag
from voisins.schedule import END_OF_DAY, ClockTime

Title = Annotated[str, Meta(min_length=3, max_length=120, examples=["Courses du samedi"])]
Description = Annotated[str, Meta(max_length=4000)]
Weekday = Annotated[int, Meta(ge=1, le=7, description="ISO weekday, 1 = Monday")]
RadiusKm = Annotated[float, Meta(ge=0.1, le=20, description="At most 20 km")]
AwareDatetime = Annotated[datetime, Meta(tz=True)]
PostKind = Literal["request", "offer"]
# in_review: waits for a social worker (centres that review every post); rejected: not
# let through, with the reason in review_reason (the author may edit and submit again).
PostStatus = Literal[
    "draft", "in_review", "published", "rejected", "matched", "closed", "expired", "withdrawn"
]


# Moments a post may name. The services bound them against today (a schedule at most
# a year ahead, an expiry within 90 days); these bounds refuse, before anything else, the
# values no person means: a timestamp 0 (1970) or a year 9999.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
# The last minute a post's weekly slot can end at (below).
LAST_MINUTE = "23:59"


def check_moment(name: str, value: datetime) -> None:
    """Raised as "name: reason", which the error mapper turns into the field's path."""
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"{name}: must be between 2000-01-01 and 2099-12-31")


class OnceIn(Input, tag="once", tag_field="type"):
    starts_at: AwareDatetime
    ends_at: AwareDatetime

    def __post_init__(self) -> None:
        check_moment("starts_at", self.starts_at)
        check_moment("ends_at", self.ends_at)


class WeeklyIn(Input, tag="weekly", tag_field="type"):
    days: Annotated[list[Weekday], Meta(min_length=1, max_length=7)]
    start: ClockTime
    end: ClockTime

    def __post_init__(self) -> None:
        if self.start == END_OF_DAY:
            raise ValueError("start: 24:00 ends a day; a slot starts at 23:59 at the latest")
        if self.end == END_OF_DAY:
            # "Until midnight" is what people mean, and volunteers' availability takes
            # it as is; a post's weekly hours are also kept as a time of day, which in
            # Python stops at 23:59:59, so the post ends a minute before.
            self.end = LAST_MINUTE


ScheduleIn = OnceIn | WeeklyIn


class PostIn(Input):
    kind: PostKind
    category: Category
    title: Title
    location: LocationIn
    schedule: ScheduleIn
    description: Description = ""
    skill_tags: Annotated[list[SkillTag], Meta(max_length=10)] = []
    languages: Annotated[list[Language], Meta(max_length=5)] = []
    # Languages are a preference for the matcher; true makes speaking one of them a
    # condition (someone who speaks no French needs a volunteer who speaks theirs).
    language_required: bool = False
    volunteers_needed: Annotated[int, Meta(ge=1, le=20)] = 1
    urgency: Literal["normal", "urgent"] = "normal"
    # The matcher compares whole kilometres between public cell centres: rounded up.
    search_radius_km: RadiusKm = 5.0
    expires_at: AwareDatetime | None = None
    # Facts about the person helped; they can only make the post more protected.
    beneficiary: Annotated[list[Vulnerability], Meta(max_length=3)] = []
    # A social worker posting for an assisted resident names them here.
    on_behalf_of: int | None = None
    publish: bool = True

    def __post_init__(self) -> None:
        if self.expires_at is not None:
            check_moment("expires_at", self.expires_at)


class PostUpdate(Input):
    title: Title | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    skill_tags: Annotated[list[SkillTag], Meta(max_length=10)] | UnsetType = UNSET
    languages: Annotated[list[Language], Meta(max_length=5)] | UnsetType = UNSET
    language_required: bool | UnsetType = UNSET
    volunteers_needed: Annotated[int, Meta(ge=1, le=20)] | UnsetType = UNSET
    urgency: Literal["normal", "urgent"] | UnsetType = UNSET
    expires_at: AwareDatetime | UnsetType = UNSET
    schedule: ScheduleIn | UnsetType = UNSET
    # The version the editor read (``PostPrivate.version``): an edit made from an older
    # one is refused (409) rather than silently replacing an edit made meanwhile.
    # Absent: the fields given are applied to the latest version.
    version: Annotated[int, Meta(ge=1)] | UnsetType = UNSET

    def __post_init__(self) -> None:
        if isinstance(self.expires_at, datetime):
            check_moment("expires_at", self.expires_at)


class CloseIn(Input):
    reason: Annotated[str, Meta(min_length=2, max_length=300)]


class Schedule(msgspec.Struct, kw_only=True, omit_defaults=True):
    type: Literal["once", "weekly"]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    days: list[int] | None = None
    start: str | None = None
    end: str | None = None


class PublicCell(msgspec.Struct):
    """The public grid cell: a key and its centre, the same for everyone in it."""

    key: str
    lon: float
    lat: float


class ExactLocation(msgspec.Struct):
    lon: float
    lat: float
    address: str | None


class PostPublic(msgspec.Struct, kw_only=True):
    id: int
    kind: PostKind
    category: Category
    title: str
    description: str
    skill_tags: list[str]
    languages: list[str]
    language_required: bool
    schedule: Schedule
    volunteers_needed: int
    urgency: str
    sensitive: bool
    status: PostStatus
    expires_at: datetime
    published_at: datetime | None
    cell: PublicCell
    is_mine: bool
    distance: Band | None = None


class PostPrivate(PostPublic, kw_only=True):
    """What the author, the assisting social worker and the covering centre's social
    workers see."""

    author_id: int
    created_by: int | None
    # Covering centres come from the exact point, so they are private too: near a
    # territory's edge they would tell which side of it someone lives.
    centre_ids: list[int]
    without_centre: bool
    location: ExactLocation
    beneficiary: list[str]
    search_radius_km: float
    closed_reason: str | None
    # Why a social worker did not let the post through (centres reviewing every post).
    review_reason: str | None = None
    # How many times it was written: 1 at creation, one more per edit (PostUpdate.version).
    version: int = 1
    edited_at: datetime | None = None


PostView = PostPrivate | PostPublic
