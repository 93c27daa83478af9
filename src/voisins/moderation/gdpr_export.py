"""Right of access (RGPD art. 15, portability art. 20): everything voisins holds about
one person, as one JSON document.

The export holds the person's own data — their exact home and addresses included, since
they may see them — and nothing that belongs to someone else: the other side of a match
is not named, reports about the person are only counted (never who filed them or what
they said), the notes social workers wrote about others are left out.

Intergenerational housing: the person's applications (every field, their own address,
exact place and birth date included), the steps of their applications and of their
pairs with the centre's notes (the right of access covers what the centre recorded about
them), their pairs with the other person's first name only, and the pair's documents
(the charter and the agreement they signed, as PDF). Neither side learns of the other
before the centre introduces them: a pair proposed but not yet introduced is given
without the other person's name nor its steps' notes, which would tell it. The other
person's feedback at the end is theirs and stays out.

One module although over 600 lines: it is one document, half of it the declaration of
its parts, half the queries that fill them, part by part, in the document's order.
"""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.geo import sql as geosql
from voisins.housing.applications import shown_status
from voisins.housing.rules import habits_of, terms_of
from voisins.notify.inbox import Notification
from voisins.posts.reads import schedule_of
from voisins.posts.schemas import Schedule
from voisins.schedule import from_multirange

FORMAT = "voisins.export/1"

NOTICE_FR = (
    "Voici toutes les données que voisins conserve sur vous. Les personnes avec qui vous "
    "avez été mis en relation n'y sont pas nommées : leurs données sont les leurs ; de vos "
    "conversations, seuls vos messages y figurent ; de la personne avec qui le centre vous "
    "a proposé un logement intergénérationnel, seul le prénom, une fois que le centre vous "
    "a présentés l'un à l'autre. Les "
    "signalements vous concernant ne sont indiqués que par leur nombre ; l'identité des "
    "personnes qui les ont faits n'est jamais communiquée. Pour toute question, adressez-vous "
    "à votre centre social."
)
NOTICE_EN = (
    "This is all the data voisins holds about you. The people you were matched with are "
    "not named: their data is theirs; of your conversations, only your messages are "
    "given; of the person the centre paired you with for intergenerational housing, only "
    "the first name, once the centre introduced you. Reports about you are given as a "
    "count only; who "
    "made them is never disclosed. Ask your centre social for anything else."
)


class Account(msgspec.Struct, kw_only=True):
    id: int
    email: str | None
    phone: str | None
    display_name: str
    role: str
    locale: str
    status: str
    assisted: bool
    vulnerability: list[str]
    second_factor_enabled: bool
    centre_ids: list[int]
    created_at: datetime
    suspended_at: datetime | None


class Home(msgspec.Struct, kw_only=True):
    lon: float
    lat: float
    address: str | None


class Availability(msgspec.Struct):
    day: int
    start: str
    end: str


class VolunteerData(msgspec.Struct, kw_only=True):
    home: Home
    cell_key: str
    radius_km: float
    categories: list[str]
    skill_tags: list[str]
    languages: list[str]
    availability: list[Availability]
    max_active_matches: int
    paused: bool
    id_checked_at: datetime | None
    record_extract_date: date | None
    completed_count: int
    no_show_count: int
    created_at: datetime
    updated_at: datetime


class PostData(msgspec.Struct, kw_only=True):
    id: int
    kind: str
    category: str
    title: str
    description: str
    skill_tags: list[str]
    languages: list[str]
    beneficiary: list[str]
    schedule: Schedule
    volunteers_needed: int
    urgency: str
    sensitive: bool
    status: str
    location: Home
    cell_key: str
    search_radius_km: float
    closed_reason: str | None
    # True when a social worker wrote it for the person (aller-vers).
    posted_by_social_worker: bool
    created_at: datetime
    published_at: datetime | None
    expires_at: datetime


class MatchData(msgspec.Struct, kw_only=True):
    """A match as one side lived it; the other side is not named."""

    id: int
    side: str  # "volunteer": I was proposed to help; "author": help with my request
    post_id: int
    category: str
    status: str
    sensitive: bool
    proposed_at: datetime
    responded_at: datetime | None
    confirmed_at: datetime | None
    closed_at: datetime | None
    # My own words when I cancelled it.
    my_close_reason: str | None


class MessageData(msgspec.Struct, kw_only=True):
    """A message of my side of a conversation, or one I typed for an assisted resident
    I act for. The other side's messages are theirs and stay out."""

    id: int
    match_id: int
    side: str  # "requester" or "volunteer"
    # Typed by a social worker for an assisted resident (signed as such).
    on_behalf: bool
    # "me", or the name of the social worker who wrote for me; None once their account
    # is erased.
    typed_by: str | None
    # None once erased (retention of support records).
    text: str | None
    created_at: datetime
    erased_at: datetime | None


class ContactShareData(msgspec.Struct, kw_only=True):
    """What my side of a match chose to show the other side."""

    match_id: int
    phone: bool
    email: bool
    changed_at: datetime


class FeedbackData(msgspec.Struct, kw_only=True):
    match_id: int
    kind: str
    comment: str | None
    created_at: datetime


class CheckinData(msgspec.Struct, kw_only=True):
    match_id: int
    visited_on: date
    created_at: datetime


# My in-app notifications, as my inbox shows them (its own name in the export's schema).
class NotificationData(Notification):
    pass


class PreferencesData(msgspec.Struct, kw_only=True):
    channels: dict[str, Any]
    quiet_start: str
    quiet_end: str
    urgent_breaks_quiet: bool
    digest: bool
    daily_cap: int
    email_unsubscribed: bool
    updated_at: datetime


class ConsentData(msgspec.Struct, kw_only=True):
    id: int
    centre_id: int
    obtained_by: int
    obtained_at: datetime
    method: str
    note: str | None
    recorded_at: datetime
    withdrawn_at: datetime | None


class ReportData(msgspec.Struct, kw_only=True):
    """A report I filed; the centre's resolution notes are about someone else."""

    id: int
    reason: str
    post_id: int | None
    comment: str | None
    created_at: datetime
    resolved_at: datetime | None


class BlockData(msgspec.Struct, kw_only=True):
    """That I blocked someone, and when; not whom (their account is theirs)."""

    created_at: datetime


class SessionData(msgspec.Struct, kw_only=True):
    created_at: datetime
    expires_at: datetime
    second_factor_proven: bool


class ReportsAboutMe(msgspec.Struct, kw_only=True):
    count: int
    note_fr: str = (
        "Nombre de signalements vous concernant. Qui les a faits et ce qu'ils disent ne sont "
        "pas communiqués."
    )
    note_en: str = "How many reports concern you. Who made them and what they say is not given."


class HousingStepData(msgspec.Struct, kw_only=True):
    """A step the centre recorded, with its note (None: none written, erased by the
    retention of support records, or withheld before the introduction)."""

    id: int
    kind: str
    done_on: date
    outcome: str
    note: str | None
    recorded_at: datetime


class HousingApplicationData(msgspec.Struct, kw_only=True):
    id: int
    side: str  # "host" or "young"
    status: str
    centre_id: int
    # True when a social worker recorded it for the person.
    recorded_by_social_worker: bool
    birth_date: date
    available_from: date
    available_until: date | None
    formulas: list[str]
    monthly_eur: int
    services: list[str]
    languages: list[str]
    has_pets: bool
    accepts_pets: bool
    smokes: bool
    accepts_smoker: bool
    rhythm: str
    room_m2: int | None
    floor: int | None
    lift: bool | None
    private_bathroom: bool | None
    furnished: bool | None
    occupation: str | None
    occupation_detail: str | None
    # The host's home, or the young person's place of study or work.
    location: Home
    cell_key: str
    about: str
    created_at: datetime
    updated_at: datetime
    steps: list[HousingStepData]


class HousingDocumentData(msgspec.Struct, kw_only=True):
    id: int
    kind: str  # "charter" or "agreement"
    generated_at: datetime
    sha256: str
    pdf_base64: str


class HousingPairData(msgspec.Struct, kw_only=True):
    """A pairing the centre proposed; the other person by first name only."""

    id: int
    side: str  # my side: "host" or "young"
    my_application_id: int
    status: str
    centre_id: int
    # None before the centre introduced us, or once their account is erased.
    other_first_name: str | None
    proposed_at: datetime
    introduced_on: date | None
    trial_started_on: date | None
    trial_ends_on: date | None
    agreement_signed_on: date | None
    next_visit_due: date | None
    ended_on: date | None
    end_reason: str | None
    # What I said at the end (the other side's words are theirs).
    my_feedback: str | None
    steps: list[HousingStepData]
    documents: list[HousingDocumentData]


class PersonalData(msgspec.Struct, kw_only=True):
    format: str
    generated_at: datetime
    notice_fr: str
    notice_en: str
    account: Account
    volunteer: VolunteerData | None
    posts: list[PostData]
    matches: list[MatchData]
    messages: list[MessageData]
    contact_shares: list[ContactShareData]
    feedback_given: list[FeedbackData]
    checkins: list[CheckinData]
    notifications: list[NotificationData]
    notification_preferences: PreferencesData | None
    consents: list[ConsentData]
    reports_filed: list[ReportData]
    reports_about_me: ReportsAboutMe
    blocks: list[BlockData]
    sessions: list[SessionData]
    housing_applications: list[HousingApplicationData]
    housing_pairs: list[HousingPairData]


async def _rows(conn: AsyncConnection, sql: str, person_id: int) -> list[Any]:
    return list((await conn.execute(text(sql), {"p": person_id})).all())


async def _account(conn: AsyncConnection, person_id: int) -> Account:
    row = (
        await conn.execute(
            text(
                """
                SELECT u.id, u.email, u.phone, u.display_name, u.role, u.locale, u.status,
                       u.assisted, u.vulnerability,
                       u.totp_enabled_at IS NOT NULL AS second_factor_enabled,
                       ARRAY(SELECT centre_id FROM centre_members m WHERE m.user_id = u.id
                             ORDER BY centre_id) AS centre_ids,
                       u.created_at, u.suspended_at
                FROM users u WHERE u.id = :p
                """
            ),
            {"p": person_id},
        )
    ).one()
    return Account(**{**row._mapping, "vulnerability": list(row.vulnerability)})


async def _volunteer(conn: AsyncConnection, person_id: int) -> VolunteerData | None:
    row = (
        await conn.execute(
            text(f"SELECT v.*, {geosql.lon_lat('v.point')} FROM volunteers v WHERE user_id = :p"),
            {"p": person_id},
        )
    ).first()
    if row is None:
        return None
    slots = from_multirange([(r.lower, r.upper) for r in row.availability])
    return VolunteerData(
        home=Home(lon=row.lon, lat=row.lat, address=row.address),
        cell_key=row.cell_key,
        radius_km=row.radius_m / 1000,
        categories=list(row.categories),
        skill_tags=list(row.skill_tags),
        languages=list(row.languages),
        availability=[Availability(d, s, e) for d, s, e in slots],
        max_active_matches=row.max_active_matches,
        paused=row.paused,
        id_checked_at=row.id_checked_at,
        record_extract_date=row.record_extract_date,
        completed_count=row.completed_count,
        no_show_count=row.no_show_count,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


_POSTS = f"""
SELECT p.*, {geosql.lon_lat("p.point")}
FROM posts p WHERE p.author_id = :p ORDER BY p.created_at, p.id
"""


def _post(row: Any) -> PostData:
    return PostData(
        id=row.id,
        kind=row.kind,
        category=row.category,
        title=row.title,
        description=row.description,
        skill_tags=list(row.skill_tags),
        languages=list(row.languages),
        beneficiary=list(row.beneficiary_flags),
        schedule=schedule_of(row),
        volunteers_needed=row.volunteers_needed,
        urgency=row.urgency,
        sensitive=row.sensitive,
        status=row.status,
        location=Home(lon=row.lon, lat=row.lat, address=row.address),
        cell_key=row.cell_key,
        search_radius_km=row.search_radius_m / 1000,
        closed_reason=row.closed_reason,
        posted_by_social_worker=row.created_by is not None and row.created_by != row.author_id,
        created_at=row.created_at,
        published_at=row.published_at,
        expires_at=row.expires_at,
    )


_MATCHES = """
SELECT m.id, CASE WHEN m.volunteer_id = :p THEN 'volunteer' ELSE 'author' END AS side,
       m.post_id, p.category, m.status, m.sensitive, m.proposed_at, m.responded_at,
       m.confirmed_at, m.closed_at,
       CASE WHEN m.closed_by = :p THEN m.close_reason END AS my_close_reason
FROM matches m JOIN posts p ON p.id = m.post_id
WHERE m.volunteer_id = :p OR p.author_id = :p
ORDER BY m.proposed_at, m.id
"""
# My side's messages in my matches (for an assisted resident, those the social workers
# acting for them typed too), and those I typed for the residents I act for.
_MESSAGES = """
SELECT c.id, c.match_id, c.side, c.on_behalf,
       CASE WHEN c.author_id = :p THEN 'me' ELSE u.display_name END AS typed_by,
       c.body AS text, c.created_at, c.erased_at
FROM conversation_messages c
JOIN matches m ON m.id = c.match_id
JOIN posts p ON p.id = m.post_id
LEFT JOIN users u ON u.id = c.author_id
WHERE c.author_id = :p
   OR (c.side = 'volunteer' AND m.volunteer_id = :p)
   OR (c.side = 'requester' AND p.author_id = :p)
ORDER BY c.match_id, c.id
"""
_CONTACT_SHARES = """
SELECT cs.match_id, cs.phone, cs.email, cs.changed_at
FROM contact_shares cs
JOIN matches m ON m.id = cs.match_id
JOIN posts p ON p.id = m.post_id
WHERE (cs.side = 'volunteer' AND m.volunteer_id = :p)
   OR (cs.side = 'requester' AND p.author_id = :p)
ORDER BY cs.match_id
"""
_FEEDBACK = """
SELECT match_id, kind, comment, created_at FROM feedback WHERE author_id = :p
ORDER BY created_at, match_id
"""
_CHECKINS = """
SELECT match_id, visited_on, created_at FROM checkins WHERE author_id = :p ORDER BY id
"""
_NOTIFICATIONS = """
SELECT id, kind, title, body, link, created_at, read_at FROM notifications
WHERE user_id = :p ORDER BY id
"""
_PREFERENCES = "SELECT * FROM notification_preferences WHERE user_id = :p"
_CONSENTS = """
SELECT id, centre_id, obtained_by, obtained_at, method, note, recorded_at, withdrawn_at
FROM consents WHERE resident_id = :p ORDER BY recorded_at, id
"""
_REPORTS_FILED = """
SELECT id, reason, post_id, comment, created_at, resolved_at FROM reports
WHERE reporter_id = :p ORDER BY created_at, id
"""
# Reports about the person or one of their posts, counted only.
_REPORTS_ABOUT = """
SELECT count(*) FROM reports r
WHERE r.reported_id = :p OR r.post_id IN (SELECT id FROM posts WHERE author_id = :p)
"""
_BLOCKS = "SELECT created_at FROM blocks WHERE blocker_id = :p ORDER BY created_at"
_SESSIONS = """
SELECT created_at, expires_at, second_factor_at IS NOT NULL AS second_factor_proven
FROM sessions WHERE user_id = :p AND expires_at > now() ORDER BY created_at
"""


_HOUSING_APPLICATIONS = f"""
SELECT a.*, {geosql.lon_lat("a.point")},
       EXISTS (SELECT 1 FROM housing_pairs p
               WHERE a.id IN (p.host_application_id, p.young_application_id)
                 AND p.status <> 'ended' AND p.introduced_on IS NOT NULL) AS introduced
FROM housing_applications a WHERE a.person_id = :p ORDER BY a.created_at, a.id
"""
# My pairs, on either side, once we were introduced: a pairing the centre only
# proposed is not told to its people, in their export either (housing/applications.py
# ``shown_status``).
_HOUSING_PAIRS = """
SELECT hp.*, mine.side, mine.id AS my_application_id,
       CASE WHEN hp.introduced_on IS NOT NULL THEN ou.display_name END AS other_first_name
FROM housing_applications mine
JOIN housing_pairs hp ON mine.id IN (hp.host_application_id, hp.young_application_id)
LEFT JOIN housing_applications other ON other.id = CASE
    WHEN mine.side = 'host' THEN hp.young_application_id ELSE hp.host_application_id END
LEFT JOIN users ou ON ou.id = other.person_id AND ou.status <> 'erased'
WHERE mine.person_id = :p AND hp.introduced_on IS NOT NULL
ORDER BY hp.proposed_at, hp.id
"""
_HOUSING_STEPS = """
SELECT s.id, s.application_id, s.pair_id, s.kind, s.done_on, s.outcome, s.note,
       s.recorded_at
FROM housing_steps s
WHERE s.application_id = ANY(:applications) OR s.pair_id = ANY(:pairs)
ORDER BY s.done_on, s.id
"""
_HOUSING_DOCUMENTS = """
SELECT id, pair_id, kind, generated_at, sha256, pdf FROM housing_documents
WHERE pair_id = ANY(:pairs) ORDER BY generated_at, id
"""


async def _housing(
    conn: AsyncConnection, person_id: int
) -> tuple[list[HousingApplicationData], list[HousingPairData]]:
    applications = await _rows(conn, _HOUSING_APPLICATIONS, person_id)
    pairs = await _rows(conn, _HOUSING_PAIRS, person_id)
    ids = {"applications": [a.id for a in applications], "pairs": [p.id for p in pairs]}
    steps: dict[tuple[str, int], list[HousingStepData]] = {}
    for r in await conn.execute(text(_HOUSING_STEPS), ids):
        key = ("application", r.application_id) if r.application_id else ("pair", r.pair_id)
        steps.setdefault(key, []).append(
            HousingStepData(
                id=r.id,
                kind=r.kind,
                done_on=r.done_on,
                outcome=r.outcome,
                note=r.note,
                recorded_at=r.recorded_at,
            )
        )
    # The documents of a pair its two people may still download: introduced, not ended
    # (they carry the host's address, which an ended pair no longer shows).
    readable = [p.id for p in pairs if p.introduced_on is not None and p.status != "ended"]
    documents: dict[int, list[HousingDocumentData]] = {}
    for r in await conn.execute(text(_HOUSING_DOCUMENTS), {"pairs": readable}):
        documents.setdefault(r.pair_id, []).append(
            HousingDocumentData(
                id=r.id,
                kind=r.kind,
                generated_at=r.generated_at,
                sha256=r.sha256,
                pdf_base64=base64.b64encode(bytes(r.pdf)).decode("ascii"),
            )
        )

    def pair_steps(row: Any) -> list[HousingStepData]:
        found = steps.get(("pair", row.id), [])
        if row.introduced_on is None:
            # Before the introduction, the notes would tell who was proposed.
            return [msgspec.structs.replace(s, note=None) for s in found]
        return found

    return (
        [
            HousingApplicationData(
                id=a.id,
                side=a.side,
                status=shown_status(a, as_centre=False),
                centre_id=a.centre_id,
                recorded_by_social_worker=a.recorded_by is not None,
                birth_date=a.birth_date,
                **terms_of(a),
                **habits_of(a),
                room_m2=a.room_m2,
                floor=a.floor,
                lift=a.lift,
                private_bathroom=a.private_bathroom,
                furnished=a.furnished,
                occupation=a.occupation,
                occupation_detail=a.occupation_detail,
                location=Home(lon=a.lon, lat=a.lat, address=a.address),
                cell_key=a.cell_key,
                about=a.about,
                created_at=a.created_at,
                updated_at=a.updated_at,
                steps=steps.get(("application", a.id), []),
            )
            for a in applications
        ],
        [
            HousingPairData(
                id=p.id,
                side=p.side,
                my_application_id=p.my_application_id,
                status=p.status,
                centre_id=p.centre_id,
                other_first_name=p.other_first_name,
                proposed_at=p.proposed_at,
                introduced_on=p.introduced_on,
                trial_started_on=p.trial_started_on,
                trial_ends_on=p.trial_ends_on,
                agreement_signed_on=p.agreement_signed_on,
                next_visit_due=p.next_visit_due,
                ended_on=p.ended_on,
                end_reason=p.end_reason,
                my_feedback=p.host_feedback if p.side == "host" else p.young_feedback,
                steps=pair_steps(p),
                documents=documents.get(p.id, []),
            )
            for p in pairs
        ],
    )


def _preferences(row: Any | None) -> PreferencesData | None:
    if row is None:
        return None
    return PreferencesData(
        channels=dict(row.channels),
        quiet_start=row.quiet_start.strftime("%H:%M"),
        quiet_end=row.quiet_end.strftime("%H:%M"),
        urgent_breaks_quiet=row.urgent_breaks_quiet,
        digest=row.digest,
        daily_cap=row.daily_cap,
        email_unsubscribed=row.email_unsubscribed,
        updated_at=row.updated_at,
    )


async def personal_data(conn: AsyncConnection, person_id: int, *, now: datetime) -> PersonalData:
    """Everything about ``person_id``; the caller has checked who may ask."""

    def structs(kind: type[Any], rows: list[Any]) -> list[Any]:
        return [kind(**r._mapping) for r in rows]

    preferences = (await conn.execute(text(_PREFERENCES), {"p": person_id})).first()
    reports_about = (await conn.execute(text(_REPORTS_ABOUT), {"p": person_id})).scalar_one()
    housing_applications, housing_pairs = await _housing(conn, person_id)
    return PersonalData(
        format=FORMAT,
        generated_at=now,
        notice_fr=NOTICE_FR,
        notice_en=NOTICE_EN,
        account=await _account(conn, person_id),
        volunteer=await _volunteer(conn, person_id),
        posts=[_post(r) for r in await _rows(conn, _POSTS, person_id)],
        matches=structs(MatchData, await _rows(conn, _MATCHES, person_id)),
        messages=structs(MessageData, await _rows(conn, _MESSAGES, person_id)),
        contact_shares=structs(ContactShareData, await _rows(conn, _CONTACT_SHARES, person_id)),
        feedback_given=structs(FeedbackData, await _rows(conn, _FEEDBACK, person_id)),
        checkins=structs(CheckinData, await _rows(conn, _CHECKINS, person_id)),
        notifications=structs(NotificationData, await _rows(conn, _NOTIFICATIONS, person_id)),
        notification_preferences=_preferences(preferences),
        consents=structs(ConsentData, await _rows(conn, _CONSENTS, person_id)),
        reports_filed=structs(ReportData, await _rows(conn, _REPORTS_FILED, person_id)),
        reports_about_me=ReportsAboutMe(count=int(reports_about)),
        blocks=structs(BlockData, await _rows(conn, _BLOCKS, person_id)),
        sessions=structs(SessionData, await _rows(conn, _SESSIONS, person_id)),
        housing_applications=housing_applications,
        housing_pairs=housing_pairs,
    )
