"""Location privacy, end to end: every endpoint is called as every kind of person on the
seeded neighbourhood (with matches in every state), and no response may show another
person's exact point or address, or a distance finer than a 1 km band. The same browse
gives the same bytes from anywhere in a public cell.

Matches change who may see what: once a match is confirmed (after review when
sensitive), its volunteer sees the request's exact place and the author's contact, and
the author's side sees the volunteer's contact — never the volunteer's home. What each
viewer may see is worked out from the matches in the database before each response is
judged, so the sweep checks the same responses before and after confirmation.

The scanner is proven on responses that *must* show a place (the author's own post),
so a scanner that sees nothing fails here too. The endpoint list comes from the
OpenAPI spec: a new endpoint without a call plan below fails
``test_every_operation_has_a_privacy_call_plan``.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import pyotp
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.geo.coordinates import LonLat
from voisins.geo.grid import cell_centre, cell_polygon, distance_m, snap
from voisins.notify.signing import unsubscribe_token
from voisins.settings import Settings, load_settings

from .support.housing import (
    ODILE_HOME_ADDRESS,
    STUDY_BASILE,
    host_body,
    in_days,
    years_ago,
    young_body,
)
from .support.housing_documents import day_fr, pdf_text
from .support.housing_world import (
    ELSEWHERE,
    STUDY_ADDRESS,
    HousingWorld,
    with_housing,
)
from .support.people import PASSWORD, Person
from .support.world import (
    ADDRESS_ALICE,
    GOUTTE_DOR,
    HOME_ALICE,
    HOME_BASILE,
    HOME_ODILE,
    HOME_OUTSIDE,
    HOME_VERA,
    HOME_VICTOR,
    ODILE_PHONE,
    World,
    build_world,
    post_body,
    vet,
    volunteer_body,
    with_matches,
)

# ---------------------------------------------------------------------------------------
# Who lives where, and who may see it
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """An exact place seeded by ``build_world`` and its private address, if any."""

    name: str
    lonlat: tuple[float, float]
    address: str | None = None


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


# ---------------------------------------------------------------------------------------
# Who may know whom
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """What tells a person apart: the contact a confirmed match exchanges, and their id."""

    name: str
    user_id: int
    display_name: str
    email: str | None
    phone: str | None


DISPLAY_NAMES = {
    "alice": "Alice",
    "basile": "Basile",
    "vera": "Vera",
    "victor": "Victor",
    "stranger": "Sam",
    "odile": "Odile",
}
# Keys under which a user id names someone.
IDENTITY_KEYS = frozenset(
    {
        "author_id",
        "volunteer_id",
        "user_id",
        "actor_id",
        "requester_id",
        "resident_id",
        "on_behalf_of",
        "created_by",
        "closed_by",
        "reviewed_by",
    }
)
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


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def identity_leaks(
    body: Any, forbidden: Iterable[Identity], skip_keys: frozenset[str] = frozenset()
) -> list[str]:
    """Where ``body`` names one of the ``forbidden`` people: their display name as a
    value, their e-mail or phone in any text, or their id under an identity key."""
    people = list(forbidden)
    found: list[str] = []
    for path, node in _walk(body):
        if isinstance(node, str):
            folded = node.casefold()
            for who in people:
                if node == who.display_name:
                    found.append(f"{who.name}'s name at {path}")
                if who.email and who.email.casefold() in folded:
                    found.append(f"{who.name}'s e-mail at {path}")
                if who.phone and (who.phone in node or _digits(node) == _digits(who.phone)):
                    found.append(f"{who.name}'s phone at {path}")
        elif isinstance(node, dict):
            for key, value in node.items():
                if key not in IDENTITY_KEYS or key in skip_keys or not _is_number(value):
                    continue
                for who in people:
                    if value == who.user_id:
                        found.append(f"{who.name}'s id at {path}.{key}")
    return found


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


# ---------------------------------------------------------------------------------------
# The leak scanner
# ---------------------------------------------------------------------------------------

SAME_AT_6_DECIMALS = 5e-7
PAIR_TOLERANCE = 1e-7
# Any point closer than this to an exact place is a leak unless it is that place's
# public cell centre. A point of another cell is always >= 250 m away (500 m grid).
NEAR_M = 100.0
GRID_M = 500
DISTANCE_KEY = re.compile(r"dist|met(?:er|re)|(?:^|_)k?m$", re.IGNORECASE)
# How far the viewer themselves goes: a setting of their own, not a distance to anyone.
OWN_RADIUS_KEYS = frozenset({"radius_km", "search_radius_km"})
BAND_KEYS = frozenset({"min_km", "max_km", "label_fr", "label_en"})


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _walk(node: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")


def _lonlat_pairs(node: Any) -> Iterator[tuple[float, float]]:
    """Every (lon, lat) a client could read from one object: named fields or a GeoJSON
    position."""
    if isinstance(node, dict):
        for lon_key, lat_key in (("lon", "lat"), ("lng", "lat"), ("longitude", "latitude")):
            lon, lat = node.get(lon_key), node.get(lat_key)
            if _is_number(lon) and _is_number(lat):
                yield float(lon), float(lat)  # type: ignore[arg-type]
    elif isinstance(node, list) and len(node) == 2 and all(_is_number(v) for v in node):
        yield float(node[0]), float(node[1])


@cache
def _public_centre(lonlat: tuple[float, float]) -> LonLat:
    return cell_centre(snap(LonLat(*lonlat), GRID_M))


@cache
def _public_corners(lonlat: tuple[float, float]) -> tuple[tuple[float, float], ...]:
    """The corners of the place's public cell (a map draws cells as squares): like its
    centre, they come from the fixed grid, not from the place. Every grid corner
    within ``NEAR_M`` of a place is one of these four."""
    return tuple(cell_polygon(snap(LonLat(*lonlat), GRID_M)).exterior.coords)


def _coordinate_text(value: float) -> re.Pattern[str]:
    return re.compile(rf"(?<!\d){re.escape(f'{value:.6f}')}(?!\d)")


def location_leaks(body: Any, forbidden: Iterable[Place]) -> list[str]:
    """Where ``body`` shows one of the ``forbidden`` places: a coordinate equal to 6
    decimals, a lon and its lat in one object, a point within ``NEAR_M`` other than
    the public cell centre, the coordinate as text, or the address."""
    places = list(forbidden)
    found: list[str] = []
    for path, node in _walk(body):
        if _is_number(node):
            for place in places:
                for axis, coord in zip(("lon", "lat"), place.lonlat, strict=True):
                    if abs(node - coord) < SAME_AT_6_DECIMALS:
                        found.append(f"{place.name}'s exact {axis} {coord} at {path}")
        elif isinstance(node, str):
            folded = node.casefold()
            for place in places:
                if place.address and place.address.casefold() in folded:
                    found.append(f"{place.name}'s address at {path}")
                for axis, coord in zip(("lon", "lat"), place.lonlat, strict=True):
                    if _coordinate_text(coord).search(node):
                        found.append(f"{place.name}'s exact {axis} as text at {path}")
        if isinstance(node, dict | list):
            values = node.values() if isinstance(node, dict) else node
            numbers = [float(v) for v in values if _is_number(v)]
            for place in places:
                lon, lat = place.lonlat
                if any(abs(v - lon) < PAIR_TOLERANCE for v in numbers) and any(
                    abs(v - lat) < PAIR_TOLERANCE for v in numbers
                ):
                    found.append(f"{place.name}'s exact point (lon and lat together) in {path}")
            for lon, lat in _lonlat_pairs(node):
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    continue
                for place in places:
                    centre = _public_centre(place.lonlat)
                    if abs(lon - centre.lon) < 1e-6 and abs(lat - centre.lat) < 1e-6:
                        continue
                    if any(
                        abs(lon - x) < 1e-6 and abs(lat - y) < 1e-6
                        for x, y in _public_corners(place.lonlat)
                    ):
                        continue
                    metres = distance_m(LonLat(lon, lat), LonLat(*place.lonlat))
                    if metres < NEAR_M:
                        found.append(f"a point {metres:.0f} m from {place.name}'s home in {path}")
    return found


def _is_band(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == BAND_KEYS
        and all(type(value[k]) is int for k in ("min_km", "max_km"))
        and value["min_km"] >= 0
        and value["max_km"] == value["min_km"] + 1
        and all(isinstance(value[k], str) and value[k] for k in ("label_fr", "label_en"))
    )


def fine_distances(node: Any, path: str = "$") -> list[str]:
    """Distance-like keys holding anything but a 1 km band (or null)."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}"
            if DISTANCE_KEY.search(key) and key not in OWN_RADIUS_KEYS:
                if value is not None and not _is_band(value):
                    found.append(f"{here} holds {value!r}, not a 1 km band")
            else:
                found.extend(fine_distances(value, here))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(fine_distances(value, f"{path}[{index}]"))
    return found


def leaks(body: Any, forbidden: Iterable[Place]) -> list[str]:
    return location_leaks(body, forbidden) + fine_distances(body)


def reveals(body: Any, place: Place) -> bool:
    return bool(location_leaks(body, [place]))


# ---------------------------------------------------------------------------------------
# Every operation of the API, and how to call it as each viewer
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str


async def spec_operations(client: AsyncTestClient) -> dict[str, Operation]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    ops: dict[str, Operation] = {}
    for path, item in response.json()["paths"].items():
        for method, op in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                ops[op["operationId"]] = Operation(method.upper(), path)
    return ops


@dataclass
class Call:
    path: dict[str, int] = field(default_factory=dict)
    query: dict[str, Any] | None = None
    json: Any = None


@dataclass
class Ctx:
    world: World
    lyon: int  # a third centre, far from every seeded place
    dead_letter: int = 0
    # An assisted resident of centre_18 whom the sweep may erase (Odile must stay).
    spare_resident: int = 0
    # Basile's report of one of Victor's messages: it brings their conversation to the
    # centres it reached.
    message_report: int = 0
    # Intergenerational housing: applications, a pair proposed (tests/support/housing_world).
    housing: HousingWorld | None = None
    serial: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def unique(self) -> int:
        return next(self.serial)


Plan = Callable[[Ctx, str], list[Call]]
LYON = {
    "type": "Polygon",
    "coordinates": [[[4.83, 45.75], [4.85, 45.75], [4.85, 45.77], [4.83, 45.77], [4.83, 45.75]]],
}
MARSEILLE = {
    "type": "Polygon",
    "coordinates": [[[5.36, 43.29], [5.38, 43.29], [5.38, 43.31], [5.36, 43.31], [5.36, 43.29]]],
}
# Somewhere no one lives (1er arrondissement), for bodies that must be refused anyway.
NOWHERE = (2.337001, 48.860002)
HOMES = {"alice": HOME_ALICE, "basile": HOME_BASILE, "vera": HOME_VERA, "stranger": HOME_OUTSIDE}
# Victor posts nothing at his home (no post may sit on a volunteer's home: its covering
# centre would see it), but keeps it when he saves his volunteer profile.
VOLUNTEER_HOMES = {**HOMES, "victor": HOME_VICTOR}


def _browse(ctx: Ctx, viewer: str) -> list[Call]:
    calls = [
        Call(query={"lon": p.lonlat[0], "lat": p.lonlat[1], "radius_km": radius, "per_page": 100})
        for p in PLACES.values()
        for radius in (0.1, 20)
    ]
    calls.append(Call(query={"lon": HOME_ALICE[0], "lat": HOME_ALICE[1], "category": "courses"}))
    calls.append(Call(query={"lon": HOME_BASILE[0], "lat": HOME_BASILE[1], "kind": "offer"}))
    calls.append(Call(query={"near": "me", "radius_km": 20}))
    return calls


def _login(ctx: Ctx, viewer: str) -> list[Call]:
    who = person(ctx.world, viewer)
    if who is None:
        return [Call(json={"email": "nobody@example.org", "password": "not the password"})]
    body: dict[str, Any] = {"email": who.email, "password": PASSWORD}
    if who.totp_secret:
        body["totp_code"] = pyotp.TOTP(who.totp_secret).now()
    return [Call(json=body)]


def _email(ctx: Ctx, viewer: str) -> str:
    who = person(ctx.world, viewer)
    return who.email if who else "nobody@example.org"


def _create_post(ctx: Ctx, viewer: str) -> list[Call]:
    if viewer in HOMES:
        home = HOMES[viewer]
        location: dict[str, Any] = {"lon": home[0], "lat": home[1]}
        if viewer == "alice":
            location["address"] = ADDRESS_ALICE
        return [Call(json=post_body(home, location=location))]
    # Staff post for an assisted resident; only worker_18 acts for Odile.
    return [Call(json=post_body(HOME_ODILE, on_behalf_of=ctx.world.odile_id))]


def _put_volunteer(ctx: Ctx, viewer: str) -> list[Call]:
    return [Call(json=volunteer_body(VOLUNTEER_HOMES.get(viewer, NOWHERE)))]


def _match(ctx: Ctx, name: str) -> dict[str, int]:
    return {"match_id": ctx.world.matches[name]}


def _every_match(ctx: Ctx, viewer: str) -> list[Call]:
    return [Call({"match_id": m}) for m in ctx.world.matches.values()]


def _consent(ctx: Ctx) -> dict[str, Any]:
    return {
        "method": "phone",
        "obtained_at": datetime.now(UTC).isoformat(),
        "centre_id": ctx.world.centre_18,
    }


def _housing(ctx: Ctx) -> HousingWorld:
    assert ctx.housing is not None
    return ctx.housing


def _every_application(ctx: Ctx, viewer: str) -> list[Call]:
    return [Call({"application_id": a}) for a in _housing(ctx).applications]


def _every_pair(ctx: Ctx, viewer: str) -> list[Call]:
    # The seeded pair, and the one the sweep proposes (the next id).
    return [Call({"pair_id": p}) for p in (_housing(ctx).pair, _housing(ctx).pair + 1)]


def _create_housing_application(ctx: Ctx, viewer: str) -> list[Call]:
    """Residents apply as young people (Alice, Basile and Victor have an application in
    progress: 409); social workers try to record a host application for Odile (worker_18
    has one: 409; worker_20 does not act for her: 422)."""
    world = ctx.world
    if viewer in ("worker_18", "worker_20", "admin"):
        centre = world.centre_20 if viewer == "worker_20" else world.centre_18
        return [Call(json=host_body(centre, world.odile_id))]
    where = {"lon": ELSEWHERE[0], "lat": ELSEWHERE[1]}
    # Born on a day no seeded applicant was (their birth dates are hunted for).
    return [Call(json=young_body(world.centre_18, location=where, birth_date=years_ago(23)))]


def _step_body(kind: str) -> dict[str, Any]:
    return {"kind": kind, "done_on": in_days(0), "outcome": "favourable"}


def _every_centre(ctx: Ctx) -> list[Call]:
    return [Call({"centre_id": c}) for c in (ctx.world.centre_18, ctx.world.centre_20, ctx.lyon)]


# Reads run first, for every viewer; then each write, for every viewer in turn.
READS: dict[str, Plan] = {
    "healthLive": lambda ctx, v: [Call()],
    "healthReady": lambda ctx, v: [Call()],
    "getMe": lambda ctx, v: [Call()],
    "listCentres": lambda ctx, v: [Call(query={"per_page": 100})],
    "getCentre": lambda ctx, v: [
        Call({"centre_id": c}) for c in (ctx.world.centre_18, ctx.world.centre_20, ctx.lyon)
    ],
    "browsePosts": _browse,
    "listMyPosts": lambda ctx, v: [Call(query={"per_page": 100})],
    "getPost": lambda ctx, v: [Call({"post_id": p}) for p in ctx.world.posts.values()],
    "getVolunteerProfile": lambda ctx, v: [Call()],
    "listAssistedResidents": lambda ctx, v: [Call(query={"per_page": 100})],
    "getAssistedResident": lambda ctx, v: [Call({"resident_id": ctx.world.odile_id})],
    "listNotifications": lambda ctx, v: [Call(query={"per_page": 100})],
    "getNotificationPreferences": lambda ctx, v: [Call()],
    "listDeadLetters": lambda ctx, v: [Call(query={"per_page": 100})],
    "listWebhooks": lambda ctx, v: [Call({"centre_id": ctx.world.centre_18})],
    # A mail's unsubscribe link: a forged token, then Vera's own.
    "unsubscribePage": lambda ctx, v: [
        Call({"token": "forged.token"}),
        Call({"token": unsubscribe_token(load_settings().secret_key, ctx.world.vera.id)}),
    ],
    "listPropositions": lambda ctx, v: [
        Call(query={"per_page": 100}),
        Call(query={"active": False, "per_page": 100}),
    ],
    "getProposition": _every_match,
    "listPostMatches": lambda ctx, v: [Call({"post_id": p}) for p in ctx.world.posts.values()],
    "matchHistory": _every_match,
    "listVisits": _every_match,
    # GDPR: my own data, and an assisted resident's for the social worker acting for them.
    "exportMyData": lambda ctx, v: [Call()],
    "exportAssistedResidentData": lambda ctx, v: [Call({"resident_id": ctx.world.odile_id})],
    # A centre's statistics (its social workers, its partners', administrators): JSON,
    # CSV and the activity map by public cell.
    "getCentreStatistics": lambda ctx, v: _every_centre(ctx),
    "exportCentreStatistics": lambda ctx, v: _every_centre(ctx),
    "getCentreActivityMap": lambda ctx, v: _every_centre(ctx),
    # The centre social workspace (social workers of the covering centres only).
    "listReviewQueue": lambda ctx, v: [Call(query={"per_page": 100})],
    "getVetting": lambda ctx, v: [
        Call({"volunteer_id": p.id}) for p in (ctx.world.vera, ctx.world.victor)
    ],
    # Finding volunteers to vet: by name, e-mail and phone, and the two lists.
    "searchVolunteers": lambda ctx, v: [
        Call(query={"q": q}) for q in ("Vera", ctx.world.vera.email, "Victor", "06")
    ],
    "listVolunteersAwaitingVetting": lambda ctx, v: [Call(query={"per_page": 100})],
    "listExpiringVetting": lambda ctx, v: [Call(query={"per_page": 100})],
    "listFollowups": lambda ctx, v: [Call(query={"open": False, "per_page": 100})],
    "listReports": lambda ctx, v: [Call(query={"open": False, "per_page": 100})],
    "listBlocks": lambda ctx, v: [Call()],
    # Conversations: the two sides' (and the social workers acting for an assisted
    # side's); the covering centre reads one only through a report on one of its messages.
    "listConversations": lambda ctx, v: [Call(query={"per_page": 100})],
    "getConversation": _every_match,
    "listMessages": lambda ctx, v: [
        Call({"match_id": m}, query={"limit": 200}) for m in ctx.world.matches.values()
    ],
    "reportedConversation": lambda ctx, v: [
        Call({"report_id": r}) for r in (ctx.message_report, ctx.message_report + 1000)
    ],
    # Intergenerational housing: the person's and the centre's; a pair its two people's
    # only once introduced.
    "listHousingApplications": lambda ctx, v: [
        Call(),
        Call(query={"side": "host"}),
        Call(query={"status": "open"}),
    ],
    "getHousingApplication": _every_application,
    "listHousingCandidates": _every_application,
    "listHousingPairs": lambda ctx, v: [Call(), Call(query={"live": True})],
    "getHousingPair": _every_pair,
    # The charter the sweep draws up (the first document).
    "getHousingDocument": lambda ctx, v: [Call({"pair_id": _housing(ctx).pair, "document_id": 1})],
}
MATCH_READS = (
    "listPropositions",
    "getProposition",
    "listPostMatches",
    "matchHistory",
    "getConversation",
)
HOUSING_READS = (
    "listHousingApplications",
    "getHousingApplication",
    "listHousingPairs",
    "getHousingPair",
    "getHousingDocument",
)
WRITES: dict[str, Plan] = {
    "addWebhook": lambda ctx, v: [
        Call(
            {"centre_id": ctx.world.centre_18},
            json={
                "url": "https://partenaire.example.org/hooks",
                "secret": "a partner's shared secret",
            },
        )
    ],
    "disableWebhook": lambda ctx, v: [Call({"centre_id": ctx.world.centre_18, "webhook_id": 1})],
    "unsubscribe": lambda ctx, v: [
        Call({"token": unsubscribe_token(load_settings().secret_key, ctx.world.victor.id)})
    ],
    "markAllNotificationsRead": lambda ctx, v: [Call()],
    # Everyone's own first message, and someone else's: 404 unless it is theirs.
    "markNotificationRead": lambda ctx, v: [Call({"notification_id": n}) for n in range(1, 4)],
    "putNotificationPreferences": lambda ctx, v: [
        Call(json={"quiet_start": "22:00", "quiet_end": "07:30", "digest": False})
    ],
    "redriveDeadLetter": lambda ctx, v: [Call({"delivery_id": ctx.dead_letter})],
    "register": lambda ctx, v: [
        Call(
            json={
                "email": f"nouveau{ctx.unique()}@example.org",
                "password": PASSWORD,
                "display_name": "Nouveau",
            }
        )
    ],
    "login": _login,
    "totpSetup": lambda ctx, v: [Call()],
    "passwordResetRequest": lambda ctx, v: [Call(json={"email": _email(ctx, v)})],
    "updateMe": lambda ctx, v: [Call(json={"locale": "fr"})],
    # The same password again: other sessions end, the caller's stays (the sweep's).
    "changePassword": lambda ctx, v: [
        Call(json={"current_password": PASSWORD, "new_password": PASSWORD})
    ],
    # Only asked for: the address stays the account's until the e-mailed link is used.
    "changeEmail": lambda ctx, v: [
        Call(json={"current_password": PASSWORD, "email": f"nouvelle{ctx.unique()}@example.org"})
    ],
    # The link again, to the new address asked for just above.
    "emailConfirmResend": lambda ctx, v: [Call()],
    "createStaffUser": lambda ctx, v: [
        Call(
            json={
                "email": f"ts{ctx.unique()}@example.org",
                "display_name": "Nouvelle TS",
                "password": PASSWORD,
                "role": "social_worker",
                "centre_id": ctx.lyon,
            }
        )
    ],
    "createCentre": lambda ctx, v: [
        Call(json={"name": f"Centre social Marseille {ctx.unique()}", "territory": MARSEILLE})
    ],
    "updateCentre": lambda ctx, v: [
        Call({"centre_id": ctx.world.centre_18}, json={"contact_phone": "01 40 00 00 00"})
    ],
    "addCentreMember": lambda ctx, v: [
        Call({"centre_id": ctx.world.centre_18}, json={"user_id": ctx.world.worker_18.id})
    ],
    "addCentrePartner": lambda ctx, v: [
        Call({"centre_id": ctx.world.centre_18}, json={"partner_id": ctx.lyon})
    ],
    "removeCentrePartner": lambda ctx, v: [
        Call({"centre_id": ctx.world.centre_18, "partner_id": ctx.lyon})
    ],
    "createPost": _create_post,
    "updatePost": lambda ctx, v: [
        Call({"post_id": ctx.world.posts[name]}, json={"description": "Merci d'avance !"})
        for name in ("alice", "odile")
    ],
    "publishPost": lambda ctx, v: [Call({"post_id": ctx.world.posts["alice_draft"]})],
    "withdrawPost": lambda ctx, v: [Call({"post_id": ctx.world.posts["alice_draft"]})],
    # The match life cycle (with_matches seeded the states), before Alice closes her
    # request: Victor declines Alice's request and Vera accepts it (confirmed at once,
    # not sensitive); worker_18 approves one of Odile's sensitive visits and rejects the
    # other; Alice marks hers done and both sides thank; Basile cancels Victor.
    "declineMatch": lambda ctx, v: [Call(_match(ctx, "alice_victor"))],
    "acceptMatch": lambda ctx, v: [Call(_match(ctx, "alice_vera"))],
    "approveMatch": lambda ctx, v: [
        Call(_match(ctx, "odile_vera_1"), json={"reason": "Bénévole vérifiée, connue du centre"})
    ],
    "rejectMatch": lambda ctx, v: [
        Call(_match(ctx, "odile_vera_2"), json={"reason": "Une visite à la fois"})
    ],
    # The conversations of the three confirmed matches (and attempts on the others):
    # each side writes, reads, then shows its phone and e-mail to the other side.
    "sendMessage": lambda ctx, v: [
        Call({"match_id": m}, json={"text": "Bonjour, à samedi !"})
        for m in ctx.world.matches.values()
    ],
    "markConversationRead": lambda ctx, v: [
        Call({"match_id": m}, json={"up_to": 10**6}) for m in ctx.world.matches.values()
    ],
    "shareContacts": lambda ctx, v: [
        Call({"match_id": m}, json={"phone": True, "email": True})
        for m in ctx.world.matches.values()
    ],
    "completeMatch": lambda ctx, v: [Call(_match(ctx, "alice_vera"))],
    "giveFeedback": lambda ctx, v: [
        Call(_match(ctx, "alice_vera"), json={"kind": "thanks", "comment": "Merci !"})
    ],
    "cancelMatch": lambda ctx, v: [
        Call(_match(ctx, "basile_victor"), json={"reason": "Empêchement"})
    ],
    "closePost": lambda ctx, v: [
        Call({"post_id": ctx.world.posts[name]}, json={"reason": "Aide trouvée"})
        for name in ("alice", "odile")
    ],
    "putVolunteerProfile": _put_volunteer,
    "setVetting": lambda ctx, v: [
        Call(
            {"volunteer_id": ctx.world.vera.id},
            json={"id_checked_at": datetime.now(UTC).isoformat()},
        )
    ],
    "createAssistedResident": lambda ctx, v: [
        Call(json={"display_name": "Paulette", "consent": _consent(ctx)})
    ],
    "recordConsent": lambda ctx, v: [Call({"resident_id": ctx.world.odile_id}, json=_consent(ctx))],
    # Answers {"status", "erasure_id", "message"}; only worker_18 acts for the spare.
    "eraseAssistedResident": lambda ctx, v: [
        Call({"resident_id": ctx.spare_resident}, json={"confirm": True})
    ],
    # Housing: applications, steps, a second pair proposed; the seeded pair is introduced
    # (meeting), its charter drawn up, its trial begun, and it ends (before the end every
    # viewer reads housing again: the young person now sees the host's home).
    "createHousingApplication": _create_housing_application,
    "recordHousingApplicationStep": lambda ctx, v: [
        Call({"application_id": _housing(ctx).host_2}, json=_step_body("home_visit")),
        Call({"application_id": _housing(ctx).young_2}, json=_step_body("references")),
    ],
    "withdrawHousingApplication": lambda ctx, v: [
        Call({"application_id": _housing(ctx).spare_young})
    ],
    "proposeHousingPair": lambda ctx, v: [
        Call(
            json={
                "host_application_id": _housing(ctx).host_2,
                "young_application_id": _housing(ctx).young_2,
            }
        )
    ],
    "recordHousingPairStep": lambda ctx, v: [
        Call({"pair_id": _housing(ctx).pair}, json=_step_body("meeting")),
        Call({"pair_id": _housing(ctx).pair}, json=_step_body("trial")),
    ],
    "generateHousingDocument": lambda ctx, v: [
        Call({"pair_id": _housing(ctx).pair}, json={"kind": kind})
        for kind in ("charter", "agreement")
    ],
    "endHousingPair": lambda ctx, v: [
        Call(
            {"pair_id": _housing(ctx).pair},
            json={
                "reason": "young_request",
                "ended_on": in_days(0),
                "host_feedback": "Très bonne entente.",
                "young_feedback": "Merci pour tout.",
            },
        )
    ],
    # Safeguarding, last: a block withdraws propositions the match writes above need.
    "createReport": lambda ctx, v: [
        Call(json={"post_id": ctx.world.posts["alice"], "reason": "inappropriate"}),
        Call(json={"match_id": ctx.world.matches["basile_victor"], "reason": "no_show"}),
    ],
    "resolveReport": lambda ctx, v: [Call({"report_id": 1}, json={"resolution": "Vu au centre"})],
    "approvePost": lambda ctx, v: [
        Call({"post_id": ctx.world.posts["alice_review_1"]}, json={"reason": "Demande claire"})
    ],
    "rejectPost": lambda ctx, v: [
        Call({"post_id": ctx.world.posts["alice_review_2"]}, json={"reason": "Hors du cadre"})
    ],
    "recordFollowupContact": lambda ctx, v: [
        Call({"followup_id": 1}, json={"outcome": "Appel, tout va bien"})
    ],
    "recordCheckin": lambda ctx, v: [
        Call(_match(ctx, "odile_vera_1"), json={"visited_on": date.today().isoformat()})
    ],
    "stopArrangement": lambda ctx, v: [
        Call(_match(ctx, "odile_vera_1"), json={"reason": "Fin des visites"})
    ],
    "blockPerson": lambda ctx, v: [
        Call(json={"post_id": ctx.world.posts["alice"]}),
        Call(json={"match_id": ctx.world.matches["basile_victor"]}),
    ],
    "unblockPerson": lambda ctx, v: [Call({"block_id": 1})],
}
# After these writes every viewer runs the match reads again, so that the states they
# lead to (confirmed, confirmed after review, cancelled) are scanned before later writes
# move on; the full read pass runs once more at the end.
CHECKPOINTS = {
    "acceptMatch": MATCH_READS,
    "approveMatch": MATCH_READS,
    "cancelMatch": MATCH_READS,
    "generateHousingDocument": HOUSING_READS,
}
# Operations the privacy sweep does not call, and why each cannot show a place.
NOT_CALLED = {
    # A stream that never ends; it carries {"type", "event_id"} only (tests/notify).
    "inboxEvents": "an endless event stream of ids",
    # A stream that never ends; its messages are listMessages' (swept above), to the
    # same two sides (tests/test_access_matrix.py reads it as every viewer).
    "conversationEvents": "an endless event stream of the messages listMessages answers",
    # Ends the caller's session (the sweep needs it); answers {"status": "logged_out"}.
    "logout": "ends the session",
    # Needs a code from a fresh TOTP set-up; answers the caller's own account (like getMe).
    "totpEnable": "needs a fresh TOTP enrolment",
    # Needs the token sent by e-mail; answers {"status": "password_changed"} only.
    "passwordResetConfirm": "needs the e-mailed token",
    # Needs the token sent by e-mail; answers {"status": "email_confirmed"} only.
    "emailConfirm": "needs the e-mailed token",
    # Erases the caller, whom the sweep still needs; answers {"status", "erasure_id",
    # "message"} only. tests/test_gdpr.py erases a canary and hunts for it in pg_dump.
    "eraseMyAccount": "erases the caller",
    # Answer ids and counts only ({"user_id", "status", "cancelled_matches", …}); suspending
    # a sweep viewer would end the session the sweep needs (tests/test_moderation.py).
    "suspendPerson": "ends a viewer's session",
    "reinstatePerson": "follows a suspension",
}


async def make_ctx(client: AsyncTestClient, engine: AsyncEngine) -> Ctx:
    world = await with_matches(client, engine, await build_world(client, engine))
    lyon = await client.post(
        "/api/v1/centres",
        json={"name": "Centre social Lyon", "territory": LYON},
        headers=world.admin.headers,
    )
    assert lyon.status_code == 201, lyon.text
    # Two of Alice's posts waiting for review (as in a centre reviewing every post).
    for name in ("alice_review_1", "alice_review_2"):
        draft = await client.post(
            "/api/v1/posts",
            json=post_body(HOME_ALICE, title=f"À valider {name[-1]}", publish=False),
            headers=world.alice.headers,
        )
        assert draft.status_code == 201, draft.text
        world.posts[name] = draft.json()["id"]
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE posts SET status = 'in_review' WHERE id = ANY(:ids)"),
            {"ids": [world.posts["alice_review_1"], world.posts["alice_review_2"]]},
        )
    spare = await client.post(
        "/api/v1/assisted-residents",
        json={
            "display_name": "Suzanne",
            "consent": {
                "method": "in_person",
                "obtained_at": datetime.now(UTC).isoformat(),
                "centre_id": world.centre_18,
            },
        },
        headers=world.worker_18.headers,
    )
    assert spare.status_code == 201, spare.text
    # What the notification worker would have left: one inbox message per person and a
    # dead letter (the worker itself is exercised in tests/notify).
    async with engine.begin() as conn:
        event = (
            await conn.execute(
                text(
                    "INSERT INTO outbox (topic, payload, processed_at) "
                    "VALUES ('match.proposed', '{}', now()) RETURNING id"
                )
            )
        ).scalar_one()
        await conn.execute(
            text(
                "INSERT INTO notifications (user_id, event_id, kind, title, body) "
                "SELECT id, :e, 'match.proposed', 'Nouvelle proposition', 'Courses' FROM users"
            ),
            {"e": event},
        )
        dead = (
            await conn.execute(
                text(
                    "INSERT INTO deliveries (event_id, user_id, channel, kind, status, attempts, "
                    "last_error) VALUES (:e, :u, 'email', 'match.proposed', 'dead', 6, "
                    "'SMTPConnectError') RETURNING id"
                ),
                {"e": event, "u": world.vera.id},
            )
        ).scalar_one()
    # Basile and Victor (confirmed) talk; Basile reports one of Victor's messages.
    said: dict[str, int] = {}
    for name, words in (("basile", "Bonjour Victor, merci !"), ("victor", "Je passe jeudi.")):
        sent = await client.post(
            f"/api/v1/matches/{world.matches['basile_victor']}/messages",
            json={"text": words},
            headers=getattr(world, name).headers,
        )
        assert sent.status_code == 201, sent.text
        said[name] = sent.json()["id"]
    report = await client.post(
        "/api/v1/reports",
        json={"message_id": said["victor"], "reason": "inappropriate"},
        headers=world.basile.headers,
    )
    assert report.status_code == 201, report.text
    housing = await with_housing(client, world)
    return Ctx(
        world,
        lyon.json()["id"],
        dead_letter=dead,
        spare_resident=spare.json()["id"],
        message_report=report.json()["id"],
        housing=housing,
    )


def forbidden_places(seen: Seen) -> list[Place]:
    return seen.allowed.forbidden_places(seen.viewer)


def body_of(response: Any) -> Any:
    content_type = response.headers.get("content-type", "")
    if "json" in content_type and response.content:
        return response.json()
    # A housing document: the scanner reads its text, as its reader would.
    if content_type.startswith("application/pdf") and response.status_code == 200:
        return pdf_text(response.content)
    return response.text


async def send(client: AsyncTestClient, op: Operation, call: Call, headers: dict[str, str]) -> Any:
    # Every login (build_world's included) leaves a session cookie in the client: an
    # anonymous request must not carry the last person's session.
    client.cookies.clear()
    return await client.request(
        op.method,
        op.path.format(**call.path),
        params=call.query,
        json=call.json,
        headers=headers,
    )


@dataclass
class Seen:
    viewer: str
    op_id: str
    url: str
    status: int
    body: Any
    # "before" (first read pass), "writes", "after <write>" (checkpoint), "after".
    phase: str
    # What the viewer was entitled to once the call had answered.
    allowed: Entitlement


async def sweep(
    client: AsyncTestClient, engine: AsyncEngine, ctx: Ctx, ops: dict[str, Operation]
) -> list[Seen]:
    seen: list[Seen] = []
    allowed = await entitlement(engine, ctx.world)

    async def run(viewer: str, op_id: str, plan: Plan, phase: str) -> None:
        nonlocal allowed
        for call in plan(ctx, viewer):
            response = await send(client, ops[op_id], call, headers_of(ctx.world, viewer))
            if ops[op_id].method != "GET":
                allowed = await entitlement(engine, ctx.world)
            url = str(response.request.url)
            body = body_of(response)
            seen.append(Seen(viewer, op_id, url, response.status_code, body, phase, allowed))

    for viewer in VIEWERS:
        for op_id, plan in READS.items():
            await run(viewer, op_id, plan, "before")
    for op_id, plan in WRITES.items():
        for viewer in VIEWERS:
            await run(viewer, op_id, plan, "writes")
        if op_id in CHECKPOINTS:
            for viewer in VIEWERS:
                for read in CHECKPOINTS[op_id]:
                    await run(viewer, read, READS[read], f"after {op_id}")
    for viewer in VIEWERS:
        for op_id, plan in READS.items():
            await run(viewer, op_id, plan, "after")
    return seen


# ---------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------


async def test_every_operation_has_a_privacy_call_plan(client: AsyncTestClient) -> None:
    ops = await spec_operations(client)
    planned = set(READS) | set(WRITES)
    assert not set(READS) & set(WRITES)
    assert not planned & set(NOT_CALLED)
    missing = set(ops) - planned - set(NOT_CALLED)
    assert not missing, f"operations without a privacy call plan: {sorted(missing)}"
    stale = (planned | set(NOT_CALLED)) - set(ops)
    assert not stale, f"plans for operations that no longer exist: {sorted(stale)}"
    gets = {op_id for op_id, op in ops.items() if op.method == "GET"}
    # Endless; their payloads are checked in tests/notify and tests/test_access_matrix.py.
    streams = {"inboxEvents", "conversationEvents"}
    assert gets - streams <= set(READS), f"every GET is swept: {sorted(gets - set(READS))}"
    assert {op_id for op_id in READS if ops[op_id].method != "GET"} == set()


async def test_no_response_or_event_shows_another_persons_place_or_a_fine_distance(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    assert settings.grid_cell_m == GRID_M
    ctx = await make_ctx(client, engine)
    world = ctx.world
    # The scanner hunts for every place the world seeded, and no other.
    assert {p.lonlat for p in PLACES.values()} == set(world.exact_points)
    assert {p.address for p in PLACES.values() if p.address} == set(world.addresses)
    assert all(round(c, 6) == c for p in world.exact_points for c in p)

    ops = await spec_operations(client)
    seen = await sweep(client, engine, ctx, ops)
    people = identities(world)

    problems = [
        f"{s.phase}: {s.viewer} {s.op_id} {s.url} -> {s.status}: {leak}"
        for s in seen
        for leak in leaks(s.body, forbidden_places(s))
        + identity_leaks(
            s.body,
            s.allowed.forbidden_people(s.viewer, people),
        )
    ]
    assert not problems, "\n".join(problems)
    # A volunteer's home never became anyone else's to see.
    for s in seen:
        for viewer, places in s.allowed.places.items():
            assert places & VOLUNTEERS <= {viewer}, (s.phase, viewer, places)
    # "anonymous" really was: no session cookie rode along.
    assert {s.status for s in seen if s.viewer == "anonymous" and s.op_id == "getMe"} == {401}

    # Each operation answered someone with success: the sweep reached real data.
    silent = {
        op_id
        for op_id in {*READS, *WRITES}
        if not any(s.op_id == op_id and 200 <= s.status < 300 for s in seen)
    }
    assert not silent, f"never answered with success: {sorted(silent)}"
    # Browsing really showed distances, as bands.
    bands = [
        item["distance"]
        for s in seen
        if s.op_id == "browsePosts" and s.status == 200
        for item in s.body["items"]
    ]
    assert bands and all(_is_band(b) for b in bands)

    # Those entitled do see the exact place: the scanner finds what it hunts for.
    def answer(viewer: str, op_id: str, url_part: str = "", phase: str = "before") -> Seen:
        return next(
            s
            for s in seen
            if s.viewer == viewer
            and s.op_id == op_id
            and s.phase == phase
            and s.url.split("?")[0].endswith(url_part)
        )

    def body(viewer: str, op_id: str, url_part: str = "", phase: str = "before") -> Any:
        found = answer(viewer, op_id, url_part, phase)
        assert found.status == 200, (found.url, found.body)
        return found.body

    alice_post = f"/posts/{world.posts['alice']}"
    assert reveals(body("alice", "getPost", alice_post), PLACES["alice"])
    assert ADDRESS_ALICE in json.dumps(body("alice", "getPost", alice_post), ensure_ascii=False)
    assert reveals(body("alice", "listMyPosts"), PLACES["alice"])
    assert reveals(body("worker_18", "getPost", alice_post), PLACES["alice"])
    assert reveals(body("worker_18", "getPost", f"/posts/{world.posts['odile']}"), PLACES["odile"])
    assert reveals(
        body("worker_20", "getPost", f"/posts/{world.posts['basile']}"), PLACES["basile"]
    )
    assert reveals(body("vera", "getVolunteerProfile"), PLACES["vera"])
    assert reveals(
        body("stranger", "getPost", f"/posts/{world.posts['outside']}"), PLACES["outside"]
    )
    # ...and the same body read with someone else's entitlements is reported as a leak.
    alice_view = body("alice", "getPost", alice_post)
    found = leaks(alice_view, forbidden_for("basile"))
    assert any("alice's exact lon" in f for f in found)
    assert any("alice's exact lat" in f for f in found)
    assert any("alice's exact point (lon and lat together)" in f for f in found)
    assert any("alice's address" in f for f in found)
    assert all("alice" in f for f in found), found
    # The public view of the same post shows its cell, and the scanner lets it pass.
    public = body("basile", "getPost", alice_post)
    assert public["cell"]["lon"] == _public_centre(HOME_ALICE).lon
    assert "location" not in public and "author_id" not in public

    # Matches. The writes did what the plans meant, and only for the right person.
    def outcome(op_id: str) -> dict[str, int]:
        return {s.viewer: s.status for s in seen if s.op_id == op_id}

    m = world.matches
    assert body("victor", "declineMatch", phase="writes") == {
        "id": m["alice_victor"],
        "status": "declined",
    }
    assert body("vera", "acceptMatch", phase="writes")["status"] == "confirmed"
    assert body("worker_18", "approveMatch", phase="writes")["status"] == "confirmed"
    assert body("worker_18", "rejectMatch", phase="writes")["status"] == "rejected"
    assert body("alice", "completeMatch", phase="writes")["status"] == "completed"
    assert body("basile", "cancelMatch", phase="writes")["status"] == "cancelled"
    assert outcome("giveFeedback")["alice"] == outcome("giveFeedback")["vera"] == 201
    # A social worker of another centre may not review (nor may the volunteer herself).
    assert outcome("approveMatch")["worker_20"] == outcome("rejectMatch")["worker_20"] == 403
    assert outcome("approveMatch")["vera"] == 403
    for op_id in ("acceptMatch", "declineMatch", "getProposition"):
        assert outcome(op_id)["anonymous"] == 401
        assert {
            s.status for s in seen if s.op_id == op_id and s.viewer in ("alice", "stranger")
        } == {404}, op_id

    def proposition(viewer: str, match: str, phase: str) -> Any:
        return body(viewer, "getProposition", f"/me/propositions/{m[match]}", phase)

    def followed(viewer: str, post: str, phase: str) -> dict[int, Any]:
        items = body(viewer, "listPostMatches", f"/posts/{world.posts[post]}/matches", phase)
        return {item["id"]: item for item in items["answers"]}

    def contact(name: str) -> dict[str, Any]:
        who = people[name]
        return {
            "user_id": who.user_id,
            "display_name": who.display_name,
            "email": who.email,
            "phone": who.phone,
        }

    def named(name: str) -> dict[str, Any]:
        """A confirmed counterpart who has not shared their phone or e-mail (yet)."""
        return {**contact(name), "email": None, "phone": None}

    def volunteer_for(viewer: str, name: str) -> dict[str, Any]:
        """A confirmed volunteer as the request's side sees them: contacts are a choice
        between the neighbours; the centre's social workers reach volunteers directly."""
        return contact(name) if viewer.startswith("worker_") else named(name)

    # Vera saw Alice's request as a band, a cell and a title; nobody's place or name...
    before = proposition("vera", "alice_vera", "before")
    assert before["status"] == "proposed" and _is_band(before["distance"])
    assert before["requester"] is None and before["location"] is None
    assert not reveals(before, PLACES["alice"]) and not identity_leaks(before, people.values())
    vera_before = answer("vera", "getProposition", f"/me/propositions/{m['alice_vera']}")
    assert "alice" not in vera_before.allowed.places["vera"]
    assert "alice" not in vera_before.allowed.people["vera"]
    # ...and once the match is confirmed, Alice's exact place, address and name; her
    # phone and e-mail once she shares them from the conversation.
    confirmed = proposition("vera", "alice_vera", "after acceptMatch")
    assert confirmed["status"] == "confirmed"
    assert reveals(confirmed, PLACES["alice"])
    assert confirmed["location"] == {
        "lon": HOME_ALICE[0],
        "lat": HOME_ALICE[1],
        "address": ADDRESS_ALICE,
    }
    assert confirmed["requester"] == named("alice")
    shared = proposition("vera", "alice_vera", "after cancelMatch")
    assert shared["requester"] == contact("alice")
    # The scanner would have reported exactly that before confirmation.
    early = leaks(confirmed, vera_before.allowed.forbidden_places("vera"))
    assert early and all("alice" in f for f in early), early
    assert identity_leaks(confirmed, vera_before.allowed.forbidden_people("vera", people))
    completed = proposition("vera", "alice_vera", "after cancelMatch")
    assert completed["status"] == "completed" and reveals(completed, PLACES["alice"])
    # Vera then blocked Alice (blockPerson): the place and the contacts go again.
    blocked = proposition("vera", "alice_vera", "after")
    assert blocked["status"] == "completed" and not reveals(blocked, PLACES["alice"])
    assert blocked["requester"] is None
    # Victor, who declined, never saw where Alice lives, nor Vera's proposition.
    for phase in ("before", "after acceptMatch", "after"):
        victors = proposition("victor", "alice_victor", phase)
        assert victors["location"] is None and victors["requester"] is None
        assert not reveals(victors, PLACES["alice"])
    for op_id, url in (
        ("getProposition", f"/me/propositions/{m['alice_vera']}"),
        ("matchHistory", f"/matches/{m['alice_vera']}/history"),
    ):
        statuses = {
            s.status
            for s in seen
            if s.viewer == "victor" and s.op_id == op_id and s.url.split("?")[0].endswith(url)
        }
        assert statuses == {404}, (op_id, statuses)

    # Alice's side: the volunteers stay anonymous until confirmed; then Vera's name, and
    # her contact once shared, for Alice and for the covering centre's social worker —
    # never Vera's home.
    # Before anyone says yes nothing is listed (who was asked stays on the server).
    assert followed("alice", "alice", "before") == {}
    for viewer in ("alice", "worker_18"):
        after = followed(viewer, "alice", "after acceptMatch")
        assert after[m["alice_vera"]]["volunteer"] == volunteer_for(viewer, "vera")
        shared_answers = followed(viewer, "alice", "after cancelMatch")
        assert shared_answers[m["alice_vera"]]["volunteer"] == contact("vera")
        assert m["alice_victor"] not in after
        assert after[m["alice_vera"]]["status"] == "confirmed"
        assert not reveals(after, PLACES["vera"]) and _is_band(after[m["alice_vera"]]["distance"])

    # A sensitive match: nothing before a social worker approves it, with a reason.
    pending = proposition("vera", "odile_vera_1", "before")
    assert pending["status"] == "pending_review" and pending["location"] is None
    assert pending["requester"] is None and not reveals(pending, PLACES["odile"])
    # The reviewing social worker needs to know whom they approve; the author does not
    # learn it before approval.
    assert followed("worker_18", "odile_1", "before")[m["odile_vera_1"]]["volunteer"] == contact(
        "vera"
    )
    approved = proposition("vera", "odile_vera_1", "after approveMatch")
    assert approved["status"] == "confirmed" and reveals(approved, PLACES["odile"])
    assert approved["requester"]["display_name"] == "Odile"
    assert approved["requester"]["phone"] is None
    # worker_18 shared Odile's phone from the conversation (acting for her).
    odile_shared = proposition("vera", "odile_vera_1", "after cancelMatch")
    assert odile_shared["requester"]["phone"] == ODILE_PHONE
    by_worker = followed("worker_18", "odile_1", "after approveMatch")[m["odile_vera_1"]]
    assert by_worker["volunteer"] == volunteer_for("worker_18", "vera")
    rejected = proposition("vera", "odile_vera_2", "after")
    assert rejected["status"] == "rejected" and rejected["location"] is None
    assert not reveals(rejected, PLACES["odile"])

    # A confirmed match that is cancelled stops showing the place and the contacts.
    victor_before = proposition("victor", "basile_victor", "before")
    assert victor_before["status"] == "confirmed" and reveals(victor_before, PLACES["basile"])
    assert victor_before["requester"] == named("basile")
    for viewer in ("basile", "worker_20"):
        mine = followed(viewer, "basile_request", "before")
        assert mine[m["basile_victor"]]["volunteer"] == volunteer_for(viewer, "victor")
        assert m["basile_vera"] not in mine  # withdrawn when filled: never listed
        assert not reveals(mine, PLACES["victor"])
    cancelled = proposition("victor", "basile_victor", "after cancelMatch")
    assert cancelled["status"] == "cancelled" and cancelled["location"] is None
    assert cancelled["requester"] is None and not reveals(cancelled, PLACES["basile"])
    assert {
        i["volunteer"] for i in followed("basile", "basile_request", "after cancelMatch").values()
    } == {None}
    withdrawn = proposition("vera", "basile_vera", "before")
    assert withdrawn["status"] == "withdrawn" and not reveals(withdrawn, PLACES["basile"])
    # The entitlements moved as the design says, and never to a volunteer's home.
    assert "basile" in answer("victor", "getMe").allowed.places["victor"]
    assert "basile" not in answer("victor", "getMe", phase="after").allowed.places["victor"]
    # The scanner recognises a contact where it hunts for one.
    assert identity_leaks(body("alice", "getMe"), [people["alice"]])
    assert identity_leaks({"volunteer_id": world.vera.id}, [people["vera"]])

    # Conversations. The sides read theirs; the centre a message report reached reads
    # that one through the report; nobody else, and nobody learns who reported.
    bv = f"/matches/{m['basile_victor']}"
    texts = [msg["text"] for msg in body("victor", "listMessages", f"{bv}/messages")]
    assert texts == ["Bonjour Victor, merci !", "Je passe jeudi."]
    assert body("basile", "getConversation", f"{bv}/conversation")["other_name"] == "Victor"
    report_url = f"/moderation/reports/{ctx.message_report}/conversation"
    reported = body("worker_20", "reportedConversation", report_url)
    assert reported["match_id"] == m["basile_victor"] and len(reported["messages"]) == 2
    sides = {
        m["alice_vera"]: {"alice", "vera"},
        m["alice_victor"]: {"alice", "victor"},
        m["odile_vera_1"]: {"worker_18", "vera"},
        m["odile_vera_2"]: {"worker_18", "vera"},
        m["basile_victor"]: {"basile", "victor"},
        m["basile_vera"]: {"basile", "vera"},
    }
    conversation_ops = {"getConversation", "listMessages", "sendMessage"}
    conversation_ops |= {"markConversationRead", "shareContacts"}
    for s in seen:
        if s.op_id in conversation_ops:
            match_id = int(re.search(r"/matches/(\d+)/", s.url).group(1))  # type: ignore[union-attr]
            if s.viewer not in sides[match_id]:
                assert s.status in (401, 404), (s.viewer, s.url, s.status)
        if s.op_id == "reportedConversation" and s.viewer != "worker_20":
            assert s.status in (401, 403, 404), (s.viewer, s.url, s.status)
        # The reporter's id is the centre's to know: in no one else's answers, and the
        # reported person reads nothing about a report at all.
        if s.viewer not in ("worker_18", "worker_20", "admin"):
            assert not [p for p, _ in _walk(s.body) if p.endswith(".reporter_id")], s.url
        if s.viewer == "victor":
            # Nothing names the report about him nor the message it is about (his GDPR
            # export counts the reports about him, and that is all).
            named_keys = {"reporter_id", "report_id", "reported_message_id", "conversation_id"}
            for path, node in _walk(s.body):
                if isinstance(node, dict):
                    assert not named_keys & set(node), (s.op_id, path, node)
    # Alice and Vera showed each other their phone and e-mail, until a block closed
    # their conversation: then nothing shows.
    alice_vera = f"/matches/{m['alice_vera']}/conversation"
    shared = body("alice", "getConversation", alice_vera, "after cancelMatch")
    assert shared["their_contacts"] == {"phone": world.phones["vera"], "email": world.vera.email}
    closed = body("alice", "getConversation", alice_vera, "after")
    assert closed["closed_because"] == "blocked"
    assert closed["their_contacts"] == {"phone": None, "email": None}

    # Intergenerational housing. A birth date is its person's and their centre's; the
    # pair's documents (the charter and agreement both sign) name both parties with it.
    housing = _housing(ctx)
    may_know_birth = {"odile": {"worker_18"}, "jeanne": {"worker_18"}}
    for name in ("basile", "alice", "victor"):
        may_know_birth[name] = {name, "worker_18"}
    in_documents = {"odile": {"basile"}}
    problems = [
        f"{s.phase}: {s.viewer} {s.op_id} {s.url} -> {s.status}: {name}'s birth date"
        for s in seen
        for name, born in housing.birth_dates.items()
        if s.viewer not in may_know_birth[name]
        and not (s.op_id == "getHousingDocument" and s.viewer in in_documents.get(name, ()))
        and any(
            written in (s.body if isinstance(s.body, str) else json.dumps(s.body))
            for written in (born, day_fr(born))
        )
    ]
    assert not problems, "\n".join(problems)
    charter = body("worker_18", "getHousingDocument", phase="after generateHousingDocument")
    assert "Odile" in charter and "Basile" in charter and reveals(charter, PLACES["odile"])
    assert day_fr(housing.birth_dates["odile"]) in charter
    young_url = f"/housing/applications/{housing.young}"
    basiles = body("basile", "getHousingApplication", young_url)
    assert reveals(basiles, PLACES["study_basile"]) and basiles["address"] == STUDY_ADDRESS
    assert basiles["birth_date"] == housing.birth_dates["basile"]
    # The proposal is not told: his application reads open, without a pairing.
    assert basiles["status"] == "open" and basiles["pair_id"] is None
    assert reveals(body("worker_18", "getHousingApplication", young_url), PLACES["study_basile"])
    host_url = f"/housing/applications/{housing.host}"
    assert reveals(body("worker_18", "getHousingApplication", host_url), PLACES["odile"])
    # The young person sees the host's home from the meeting to the end, not before, not
    # after; nobody else but the centre ever reads the pair.
    pair_url = f"/housing/pairs/{housing.pair}"
    assert answer("basile", "getHousingPair", pair_url).status == 404
    during = body("basile", "getHousingPair", pair_url, "after generateHousingDocument")
    assert during["status"] == "trial" and during["host_address"] == ODILE_HOME_ADDRESS
    assert reveals(during, PLACES["odile"]) and not reveals(during, PLACES["study_basile"])
    assert during["host_feedback"] is None and all(st["note"] is None for st in during["steps"])
    ended = body("basile", "getHousingPair", pair_url, "after")
    assert ended["status"] == "ended" and not reveals(ended, PLACES["odile"])
    assert not reveals(body("worker_18", "getHousingPair", pair_url, "after"), PLACES["odile"])
    for s in seen:
        pair_read = s.op_id in ("getHousingPair", "getHousingDocument")
        if pair_read and s.viewer not in ("worker_18", "basile"):
            assert s.status in (401, 404), (s.viewer, s.url, s.status)
        # Candidates are the social worker's: an applicant is refused their own (403).
        if s.op_id == "listHousingCandidates" and s.viewer != "worker_18":
            assert s.status in (401, 403, 404), (s.viewer, s.url, s.status)
    housing_writes = {
        op_id: outcome(op_id)
        for op_id in WRITES
        if "Housing" in op_id and op_id != "createHousingApplication"
    }
    for op_id, statuses in housing_writes.items():
        succeeded = {v for v, status in statuses.items() if status < 300}
        expected = {"victor"} if op_id == "withdrawHousingApplication" else {"worker_18"}
        assert succeeded == expected, (op_id, statuses)
    created = outcome("createHousingApplication")
    assert {v for v, status in created.items() if status == 201} == {"vera", "stranger"}, created
    candidates = body("worker_18", "listHousingCandidates", f"{host_url}/candidates")
    assert candidates and all(_is_band(c["fit"]["distance"]) for c in candidates)

    # The events the sweep caused (published, withdrawn, closed posts, password resets,
    # every step of a match) carry ids, never places: their jobs go through Redis and
    # into logs.
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT topic, payload::text AS p FROM outbox"))).all()
    assert {"post.published", "post.closed", "post.withdrawn"} <= {r.topic for r in rows}
    match_topics = {"proposed", "accepted", "review_needed", "approved", "rejected"}
    match_topics |= {"confirmed", "completed", "cancelled"}
    assert {f"match.{t}" for t in match_topics} <= {r.topic for r in rows}
    problems = [
        f"{r.topic}: {leak}" for r in rows for leak in leaks(json.loads(r.p), PLACES.values())
    ]
    assert not problems, "\n".join(problems)


async def test_a_match_history_does_not_name_the_other_side_before_confirmation(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    world = await build_world(client, engine)
    people = identities(world)

    async def request(who: Person, method: str, url: str, body: Any = None) -> Any:
        client.cookies.clear()
        response = await client.request(method, f"/api/v1{url}", json=body, headers=who.headers)
        assert response.status_code in (200, 201), response.text
        return response.json()

    async def proposition_of(volunteer: Person, post_id: int) -> int:
        listed = await request(volunteer, "GET", "/me/propositions?active=false")
        return next(i["id"] for i in listed["items"] if i["post"]["id"] == post_id)

    # Victor declines Alice's request: they never exchanged anything.
    declined = await proposition_of(world.victor, world.posts["alice"])
    await request(world.victor, "POST", f"/matches/{declined}/decline")
    # Alice follows only the answers someone said yes to: this history would tell
    # whom the matcher asked, and when.
    client.cookies.clear()
    hidden = await client.get(f"/api/v1/matches/{declined}/history", headers=world.alice.headers)
    assert hidden.status_code == 404
    history = await request(world.victor, "GET", f"/matches/{declined}/history")
    assert [h["to_status"] for h in history] == ["proposed", "declined"]

    # Alice cancels a sensitive match still waiting for a social worker's review.
    await vet(client, world, world.vera)
    sensitive = await request(
        world.alice,
        "POST",
        "/posts",
        post_body(HOME_ALICE, title="Visite à ma voisine", beneficiary=["isolated_elderly"]),
    )
    assert sensitive["sensitive"] is True
    pending = await proposition_of(world.vera, sensitive["id"])
    assert (await request(world.vera, "POST", f"/matches/{pending}/accept"))[
        "status"
    ] == "pending_review"
    await request(world.alice, "POST", f"/matches/{pending}/cancel", {"reason": "Annulé"})
    history = await request(world.vera, "GET", f"/matches/{pending}/history")
    assert history[-1]["to_status"] == "cancelled"
    assert not identity_leaks(history, [people["alice"]])


async def test_browsing_answers_the_same_bytes_from_anywhere_in_a_cell(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    world = await build_world(client, engine)
    cell = snap(LonLat(*HOME_ALICE), settings.grid_cell_m)
    centre = cell_centre(cell)
    step = 25 / (111_320 * math.cos(math.radians(centre.lat)))  # 25 m of longitude
    west, east = LonLat(centre.lon - step, centre.lat), LonLat(centre.lon + step, centre.lat)
    assert snap(west, settings.grid_cell_m) == snap(east, settings.grid_cell_m) == cell
    assert 45 < distance_m(west, east) < 55

    async def browse(point: LonLat, radius: float, headers: dict[str, str]) -> bytes:
        client.cookies.clear()
        response = await client.get(
            "/api/v1/posts",
            params={"lon": point.lon, "lat": point.lat, "radius_km": radius},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        return response.content

    for radius in (0.5, 1, 3, 5, 20):
        first = await browse(west, radius, {})
        assert await browse(west, radius, {}) == first, "the same query twice"
        assert await browse(east, radius, {}) == first, "50 m away in the same cell"
        assert await browse(LonLat(*HOME_ALICE), radius, {}) == first, "Alice's doorstep"
        # Who asks changes nothing either (Vera authored nothing: no is_mine differs).
        assert await browse(east, radius, world.vera.headers) == first

    items = json.loads(await browse(west, 5, {}))["items"]
    assert {i["id"] for i in items} == {
        world.posts["alice"],
        world.posts["basile"],
        world.posts["odile"],
    }
    assert [i["distance"]["min_km"] for i in items] == sorted(
        i["distance"]["min_km"] for i in items
    )

    client.cookies.clear()
    near_me = [
        (
            await client.get(
                "/api/v1/posts", params={"near": "me", "radius_km": 5}, headers=world.vera.headers
            )
        ).content
        for _ in range(2)
    ]
    assert near_me[0] == near_me[1]


async def test_two_posts_in_one_cell_look_alike_to_strangers(
    client: AsyncTestClient, engine: AsyncEngine, settings: Settings
) -> None:
    world = await build_world(client, engine)
    # Odile's cell straddles the west edge of the Goutte d'Or territory (lon 2.348).
    cell = snap(LonLat(*HOME_ODILE), settings.grid_cell_m)
    centre = cell_centre(cell)
    west_edge = 2.3480
    assert west_edge == GOUTTE_DOR["coordinates"][0][0][0]
    neighbour = LonLat(round(west_edge - 0.0008, 6), centre.lat)  # ~60 m west of the edge
    assert snap(neighbour, settings.grid_cell_m) == cell
    assert HOME_ODILE[0] > west_edge > neighbour.lon
    created = await client.post(
        "/api/v1/posts",
        json=post_body((neighbour.lon, neighbour.lat)),
        headers=world.basile.headers,
    )
    assert created.status_code == 201, created.text

    client.cookies.clear()
    views = []
    for post_id in (world.posts["odile"], created.json()["id"]):
        response = await client.get(f"/api/v1/posts/{post_id}")
        assert response.status_code == 200
        # Covering centres are computed from the exact point: near a territory edge they
        # would tell which side of it someone lives, so strangers never get them.
        assert "centre_ids" not in response.json()
        assert "without_centre" not in response.json()
        views.append(response.json()["cell"])
    assert views[0] == views[1]


def test_scanner_catches_each_kind_of_leak() -> None:
    alice = PLACES["alice"]
    lon, lat = alice.lonlat
    cell = _public_centre(alice.lonlat)
    assert leaks({"cell": {"lon": cell.lon, "lat": cell.lat}}, [alice]) == []
    assert leaks({"distance": None, "radius_km": 3.0}, [alice]) == []
    band = {"min_km": 1, "max_km": 2, "label_fr": "1 à 2 km", "label_en": "1 to 2 km"}
    assert leaks({"distance": band}, [alice]) == []
    # A public cell drawn as a GeoJSON square: one corner of Odile's cell is 94 m from
    # her home, and is no clue to it; a point 10 m inside from that corner is.
    odile = PLACES["odile"]
    square = [[x, y] for x, y in _public_corners(odile.lonlat)]
    corner = min(square, key=lambda c: distance_m(LonLat(*c), LonLat(*odile.lonlat)))
    assert distance_m(LonLat(*corner), LonLat(*odile.lonlat)) < NEAR_M
    assert leaks({"type": "Polygon", "coordinates": [square]}, [odile]) == []
    assert leaks({"coordinates": [corner[0] - 0.0001, corner[1] - 0.0001]}, [odile])

    assert leaks({"x": lon}, [alice])  # a lone coordinate to 6 decimals
    assert leaks({"at": [lat, lon]}, [alice])  # both, any order
    assert leaks({"lon": round(lon, 4), "lat": round(lat, 4)}, [alice])  # rounded: ~10 m off
    assert leaks({"note": f"POINT({lon:.6f} {lat:.6f})"}, [alice])
    assert leaks({"note": ADDRESS_ALICE.upper()}, [alice])
    assert leaks({"items": [{"distance_m": 1234.5}]}, [])
    assert leaks({"distance": 0.8}, [])
    assert leaks({"distance": {**band, "min_km": 1.5}}, [])
    assert leaks({"distance": {**band, "max_km": 3}}, [])
    assert leaks({"km": 2}, [])
