"""What intergenerational housing reads and writes: the two applications, the steps,
the pairs the centre proposes, their candidates and documents."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from voisins.geo.bands import Band
from voisins.locations import LocationIn
from voisins.request_bodies import Input, Language

Side = Literal["host", "young"]
ApplicationStatus = Literal["open", "paired", "withdrawn", "closed"]
PairStatus = Literal["proposed", "introduced", "trial", "confirmed", "ended"]
# free_presence: the room against presence in the evening; solidarity: a contribution
# to the charges; modest_rent: a small rent.
Formula = Literal["free_presence", "solidarity", "modest_rent"]
Service = Literal[
    "evening_presence",
    "shopping",
    "meals",
    "company",
    "digital_help",
    "small_repairs",
    "gardening",
    "pet_care",
    "paperwork",
]
Rhythm = Literal["early", "late", "flexible"]
Occupation = Literal["student", "apprentice", "worker", "other"]
Outcome = Literal["favourable", "unfavourable", "noted"]
ApplicationStepKind = Literal["interview", "home_visit", "references"]
PairStepKind = Literal["meeting", "trial", "agreement", "followup_visit"]
StepKind = Literal[
    "interview",
    "home_visit",
    "references",
    "proposed",
    "meeting",
    "trial",
    "agreement",
    "followup_visit",
    "ended",
]
EndReason = Literal[
    "not_compatible",
    "term_reached",
    "host_request",
    "young_request",
    "health",
    "moved",
    "conflict",
    "other",
]
DocumentKind = Literal["charter", "agreement"]

Euros = Annotated[int, Meta(ge=0, le=1000, description="euros per month")]
# A row id (bigint): a larger number from a form would reach the database and fail there.
RowId = Annotated[int, Meta(ge=1, le=2**63 - 1)]
Note = Annotated[str, Meta(max_length=2000)]
Services = Annotated[list[Service], Meta(max_length=9)]
Languages = Annotated[list[Language], Meta(min_length=1, max_length=10)]


class RoomIn(Input):
    """The host's room and home."""

    size_m2: Annotated[int, Meta(ge=5, le=100)]
    floor: Annotated[int, Meta(ge=-1, le=60)]
    lift: bool
    private_bathroom: bool
    furnished: bool = True


class HabitsIn(Input):
    has_pets: bool = False
    accepts_pets: bool = True
    smokes: bool = False
    accepts_smoker: bool = False
    rhythm: Rhythm = "flexible"


class ApplicationIn(Input):
    """A host's or a young person's application. ``person_id`` is given by a social
    worker recording it for an assisted resident (whose consent their centre holds);
    a person applying for themselves leaves it out.

    ``location`` is the host's home, or the young person's place of study or work: it
    stays private; only its public cell is used to rank candidates."""

    side: Side
    centre_id: RowId
    birth_date: date
    available_from: date
    location: LocationIn
    # Host: the one formula offered; young: every formula accepted.
    formulas: Annotated[list[Formula], Meta(min_length=1, max_length=3)]
    # Host: the monthly contribution asked; young: the most they can pay.
    monthly_eur: Euros = 0
    available_until: date | None = None
    services: Services = []
    languages: Languages = msgspec.field(default_factory=lambda: ["fr"])
    habits: HabitsIn = msgspec.field(default_factory=HabitsIn)
    room: RoomIn | None = None
    occupation: Occupation | None = None
    occupation_detail: Annotated[str, Meta(max_length=200)] | None = None
    about: Annotated[str, Meta(max_length=2000)] = ""
    person_id: RowId | None = None


class ApplicationStepIn(Input):
    kind: ApplicationStepKind
    done_on: date
    outcome: Outcome
    note: Note | None = None


class PairIn(Input):
    host_application_id: RowId
    young_application_id: RowId
    note: Note | None = None


class PairStepIn(Input):
    """``trial``'s ``done_on`` is the day the young person moves in."""

    kind: PairStepKind
    done_on: date
    outcome: Outcome = "noted"
    note: Note | None = None


class PairEndIn(Input):
    reason: EndReason
    ended_on: date
    host_feedback: Note | None = None
    young_feedback: Note | None = None
    note: Note | None = None


class DocumentIn(Input):
    kind: DocumentKind


class Step(msgspec.Struct, kw_only=True):
    id: int
    kind: StepKind
    done_on: date
    outcome: Outcome
    # The centre's notes: shown to its social workers only.
    note: str | None = None
    recorded_by: str | None = None
    recorded_at: datetime


class Person(msgspec.Struct, kw_only=True):
    id: int
    display_name: str


class Room(msgspec.Struct, kw_only=True):
    size_m2: int
    floor: int
    lift: bool
    private_bathroom: bool
    furnished: bool


class Habits(msgspec.Struct, kw_only=True):
    has_pets: bool
    accepts_pets: bool
    smokes: bool
    accepts_smoker: bool
    rhythm: Rhythm


class Application(msgspec.Struct, kw_only=True):
    """An application as its person and the centre's social workers read it."""

    id: int
    side: Side
    status: ApplicationStatus
    centre_id: int
    centre_name: str
    person: Person
    recorded_by_centre: bool
    birth_date: date
    age: int
    available_from: date
    available_until: date | None
    formulas: list[Formula]
    monthly_eur: int
    services: list[Service]
    languages: list[str]
    habits: Habits
    room: Room | None
    occupation: Occupation | None
    occupation_detail: str | None
    # The exact place: the home or the place of study or work (its person and the centre).
    address: str | None
    about: str
    steps: list[Step]
    # The pairing in progress that the reader may see.
    pair_id: int | None
    created_at: datetime


class ApplicationSummary(msgspec.Struct, kw_only=True):
    id: int
    side: Side
    status: ApplicationStatus
    centre_id: int
    person: Person
    available_from: date
    available_until: date | None
    # Interviews, home visit, references: which are done favourably.
    interview_done: bool
    home_visit_done: bool
    references_done: bool
    created_at: datetime


class Fit(msgspec.Struct, kw_only=True):
    """Why a candidate is proposed: every part of its score, for the social worker."""

    score: int
    distance: Band
    common_days: int
    start_gap_days: int
    formula: Formula
    budget_margin_eur: int
    shared_services: list[Service]
    shared_languages: list[str]
    rhythms_match: bool


class Candidate(msgspec.Struct, kw_only=True):
    application: ApplicationSummary
    fit: Fit


class DocumentInfo(msgspec.Struct, kw_only=True):
    id: int
    kind: DocumentKind
    generated_at: datetime
    sha256: str


class PairSide(msgspec.Struct, kw_only=True):
    """One side of a pair. Erased people leave ``person`` empty."""

    application_id: int | None
    person: Person | None


class Pair(msgspec.Struct, kw_only=True):
    id: int
    status: PairStatus
    centre_id: int
    centre_name: str
    host: PairSide
    young: PairSide
    proposed_at: datetime
    introduced_on: date | None
    trial_started_on: date | None
    trial_ends_on: date | None
    agreement_signed_on: date | None
    next_visit_due: date | None
    # The next visit's day has passed, or the trial ended without agreement or end.
    visit_overdue: bool
    trial_over: bool
    ended_on: date | None
    end_reason: EndReason | None
    # The host's home, shown to the young person once they are introduced.
    host_address: str | None
    # Both sides' feedback at the end: the centre's reading.
    host_feedback: str | None
    young_feedback: str | None
    steps: list[Step]
    documents: list[DocumentInfo]


class HousingOverview(msgspec.Struct, kw_only=True):
    """A centre's housing workspace: open applications and live pairs."""

    applications: list[ApplicationSummary]
    pairs: list[Pair]
