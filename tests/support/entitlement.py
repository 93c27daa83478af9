"""Who in the seeded world (tests/support/world.py, housing_world.py) may see which exact
place and which person: the places and viewers the privacy tests hunt for, what each
viewer is entitled to before any match (``ENTITLED``, ``KNOWS``), and ``entitlement``,
which works out from the database what matches, reports and housing pairs have opened
since. ``headers_of`` signs a viewer's API calls."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .housing import (
    ODILE_HOME_ADDRESS,
    STUDY_BASILE,
)
from .housing_world import STUDY_ADDRESS
from .leak_scanner import PAIR_TOLERANCE, Identity, Place
from .people import Person
from .world import (
    ADDRESS_ALICE,
    HOME_ALICE,
    HOME_BASILE,
    HOME_ODILE,
    HOME_OUTSIDE,
    HOME_VERA,
    HOME_VICTOR,
    ODILE_PHONE,
    World,
)

PLACES = {
    p.name: p
    for p in (
        Place("alice", HOME_ALICE, ADDRESS_ALICE),
        Place("basile", HOME_BASILE),
        Place("vera", HOME_VERA),
        Place("victor", HOME_VICTOR),
        # Odile's home is also where she hosts (her housing application's address).
        Place("odile", HOME_ODILE, ODILE_HOME_ADDRESS),
        Place("outside", HOME_OUTSIDE),
        # Basile's place of study (his housing application): his and his centre's.
        Place("study_basile", STUDY_BASILE, STUDY_ADDRESS),
    )
}

VIEWERS = (
    "anonymous",
    "alice",
    "basile",
    "vera",
    "victor",
    "stranger",
    "worker_18",
    "worker_20",
    "admin",
)
# A volunteer's home is seen by that volunteer and nobody else, ever.
VOLUNTEERS = frozenset({"vera", "victor"})

# DESIGN.md: the exact place is shown to its author and to the social workers of the
# covering centre (and of the resident they act for). Everyone else sees cells.
ENTITLED: dict[str, frozenset[str]] = {
    "anonymous": frozenset(),
    "alice": frozenset({"alice"}),
    "basile": frozenset({"basile", "study_basile"}),
    "vera": frozenset({"vera"}),  # her own volunteer home
    "victor": frozenset({"victor"}),
    "stranger": frozenset({"outside"}),  # the author of the post outside every centre
    # Alice's posts lie in the Goutte d'Or territory; Odile is assisted by centre_18.
    "worker_18": frozenset({"alice", "odile"}),
    # Basile's post lies in the Belleville territory, so centre_20's social workers are
    # "social workers of the covering centre" for it.
    "worker_20": frozenset({"basile"}),
    "admin": frozenset(),
}


def forbidden_for(viewer: str) -> list[Place]:
    return [p for name, p in PLACES.items() if name not in ENTITLED[viewer]]


def place_at(lon: float, lat: float) -> str | None:
    return next(
        (
            name
            for name, p in PLACES.items()
            if abs(p.lonlat[0] - lon) < PAIR_TOLERANCE and abs(p.lonlat[1] - lat) < PAIR_TOLERANCE
        ),
        None,
    )


DISPLAY_NAMES = {
    "alice": "Alice",
    "basile": "Basile",
    "vera": "Vera",
    "victor": "Victor",
    "stranger": "Sam",
    "odile": "Odile",
}

# Whom each viewer may know before any match: themselves; the social workers of a
# covering centre see the author of a post in their territory (the post's private view),
# and worker_18 acts for Odile.
KNOWS: dict[str, frozenset[str]] = {
    "anonymous": frozenset(),
    "alice": frozenset({"alice"}),
    "basile": frozenset({"basile"}),
    "vera": frozenset({"vera"}),
    "victor": frozenset({"victor"}),
    "stranger": frozenset({"stranger"}),
    "worker_18": frozenset({"alice", "odile"}),
    "worker_20": frozenset({"basile"}),
    "admin": frozenset(),
}
# Social workers who speak for an assisted resident (consent through their centre).
ACTS_FOR = {"worker_18": frozenset({"odile"})}


def identities(world: World) -> dict[str, Identity]:
    people = {
        name: Identity(
            name,
            getattr(world, name).id,
            DISPLAY_NAMES[name],
            getattr(world, name).email,
            world.phones.get(name),
        )
        for name in ("alice", "basile", "vera", "victor", "stranger")
    }
    people["odile"] = Identity("odile", world.odile_id, "Odile", None, ODILE_PHONE)
    return people


@dataclass(frozen=True)
class Entitlement:
    """Which places and people each viewer may see, at one moment of the sweep."""

    places: dict[str, frozenset[str]]
    people: dict[str, frozenset[str]]

    def forbidden_places(self, viewer: str) -> list[Place]:
        return [p for name, p in PLACES.items() if name not in self.places[viewer]]

    def forbidden_people(self, viewer: str, everyone: dict[str, Identity]) -> list[Identity]:
        return [who for name, who in everyone.items() if name not in self.people[viewer]]


_MATCHES_EVER_CONFIRMED = text(
    """
    SELECT m.volunteer_id, p.author_id, m.status, m.sensitive,
           m.reviewed_by IS NOT NULL
               AND (m.review_note IS NOT NULL OR m.review_reason IS NOT NULL) AS reviewed,
           ST_X(p.point) AS lon, ST_Y(p.point) AS lat,
           ARRAY(SELECT centre_id FROM post_centres pc WHERE pc.post_id = p.id) AS centre_ids
    FROM matches m JOIN posts p ON p.id = m.post_id
    WHERE m.confirmed_at IS NOT NULL
    """
)


# A report on a message brings its conversation, both sides named, to the centres it
# reached (conversations/service.py ``for_report``).
_REPORTED_CONVERSATIONS = text(
    """
    SELECT m.volunteer_id, p.author_id,
           ARRAY(SELECT centre_id FROM report_centres rc WHERE rc.report_id = r.id) AS centre_ids
    FROM reports r JOIN matches m ON m.id = r.match_id JOIN posts p ON p.id = m.post_id
    WHERE r.message_id IS NOT NULL
    """
)


# Housing (housing/): an application's place and person are its centre's social
# workers'; a pair names each side to the other once the meeting introduced them, and
# shows the host's home to the young person while it lasts.
_HOUSING_APPLICATIONS = text(
    """
    SELECT person_id, centre_id, ST_X(point) AS lon, ST_Y(point) AS lat
    FROM housing_applications
    """
)
_HOUSING_PAIRS_INTRODUCED = text(
    """
    SELECT ha.person_id AS host, ya.person_id AS young, p.status,
           ST_X(ha.point) AS lon, ST_Y(ha.point) AS lat
    FROM housing_pairs p
    JOIN housing_applications ha ON ha.id = p.host_application_id
    JOIN housing_applications ya ON ya.id = p.young_application_id
    WHERE p.introduced_on IS NOT NULL
    """
)


_ALL_MATCHES = text(
    """
    SELECT m.volunteer_id, p.author_id,
           ARRAY(SELECT centre_id FROM post_centres pc WHERE pc.post_id = p.id) AS centre_ids
    FROM matches m JOIN posts p ON p.id = m.post_id
    """
)


async def entitlement(engine: AsyncEngine, world: World) -> Entitlement:
    """DESIGN.md: the exact place goes to the confirmed counterpart of a match (after
    review when sensitive) while the match stands (confirmed, then completed); contacts
    are exchanged both ways at confirmation — with the author, the social workers acting
    for them and those of the covering centre. A volunteer's home goes to nobody."""
    places = {v: set(ENTITLED[v]) for v in VIEWERS}
    people = {v: set(KNOWS[v]) for v in VIEWERS}
    names = {getattr(world, v).id: v for v in VIEWERS if v != "anonymous"}
    names[world.odile_id] = "odile"
    centres = {"worker_18": world.centre_18, "worker_20": world.centre_20}
    async with engine.connect() as conn:
        rows = (await conn.execute(_MATCHES_EVER_CONFIRMED)).all()
        every_match = (await conn.execute(_ALL_MATCHES)).all()
        reported = (await conn.execute(_REPORTED_CONVERSATIONS)).all()
        applications = (await conn.execute(_HOUSING_APPLICATIONS)).all()
        introduced = (await conn.execute(_HOUSING_PAIRS_INTRODUCED)).all()
    for row in applications:
        for viewer in ("worker_18", "worker_20"):
            if centres[viewer] == row.centre_id:
                people[viewer] |= {names.get(row.person_id)} - {None}
                places[viewer] |= {place_at(row.lon, row.lat)} - {None}
    for row in introduced:
        host, young = names.get(row.host), names.get(row.young)
        for one, other in ((host, young), (young, host)):
            if one is not None and other is not None and one in people:
                people[one].add(other)
        if young in places and row.status != "ended":
            places[young] |= {place_at(row.lon, row.lat)} - {None}
    # Administrators run the service: they may see who a failed delivery was for.
    people["admin"] |= set(names.values())
    # Social workers oversee their centre's matches (they review them): they may know
    # who was proposed, and who acted, in the matches of the posts they cover or post.
    for row in every_match:
        volunteer, author = names.get(row.volunteer_id), names.get(row.author_id)
        if volunteer is None or author is None:
            continue
        for viewer in ("worker_18", "worker_20"):
            if centres[viewer] in row.centre_ids or author in ACTS_FOR.get(viewer, ()):
                people[viewer].add(volunteer)
    for row in reported:
        for viewer in ("worker_18", "worker_20"):
            if centres[viewer] in row.centre_ids:
                people[viewer] |= {names.get(row.volunteer_id), names.get(row.author_id)} - {None}
    for row in rows:
        if row.sensitive and not row.reviewed:
            continue  # confirmed without a social worker's review: entitles nobody
        volunteer, author = names.get(row.volunteer_id), names.get(row.author_id)
        if volunteer is None or author is None:
            continue  # people created by the sweep itself
        place = place_at(row.lon, row.lat)
        if place is not None and row.status in ("confirmed", "completed"):
            places[volunteer].add(place)
        people[volunteer].add(author)
        for viewer in VIEWERS:
            speaks_for_author = (
                viewer == author
                or author in ACTS_FOR.get(viewer, ())
                or centres.get(viewer) in row.centre_ids
            )
            if speaks_for_author:
                people[viewer].add(volunteer)
    return Entitlement(
        {v: frozenset(p) for v, p in places.items()},
        {v: frozenset(p) for v, p in people.items()},
    )


def person(world: World, viewer: str) -> Person | None:
    return None if viewer == "anonymous" else getattr(world, viewer)


def headers_of(world: World, viewer: str) -> dict[str, str]:
    who = person(world, viewer)
    return dict(who.headers) if who else {}
