"""The leak scanner: finds, in any response body (JSON, text, a PDF's text), an exact
place or a distance finer than a 1 km band (``location_leaks``, ``fine_distances``,
``leaks``, ``reveals``), or a person named to someone who may not know them
(``identity_leaks``). It knows places and people only as the ``Place`` and ``Identity``
it is given; who may see what is tests/support/entitlement.py's."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from voisins.geo.coordinates import LonLat
from voisins.geo.grid import cell_centre, cell_polygon, distance_m, snap


@dataclass(frozen=True)
class Place:
    """An exact place seeded by ``build_world`` and its private address, if any."""

    name: str
    lonlat: tuple[float, float]
    address: str | None = None


@dataclass(frozen=True)
class Identity:
    """What tells a person apart: the contact a confirmed match exchanges, and their id."""

    name: str
    user_id: int
    display_name: str
    email: str | None
    phone: str | None


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


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def walk(node: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}[{index}]")


def _lonlat_pairs(node: Any) -> Iterator[tuple[float, float]]:
    """Every (lon, lat) a client could read from one object: named fields or a GeoJSON
    position."""
    if isinstance(node, dict):
        for lon_key, lat_key in (("lon", "lat"), ("lng", "lat"), ("longitude", "latitude")):
            lon, lat = node.get(lon_key), node.get(lat_key)
            if is_number(lon) and is_number(lat):
                yield float(lon), float(lat)  # type: ignore[arg-type]
    elif isinstance(node, list) and len(node) == 2 and all(is_number(v) for v in node):
        yield float(node[0]), float(node[1])


@cache
def public_centre(lonlat: tuple[float, float]) -> LonLat:
    return cell_centre(snap(LonLat(*lonlat), GRID_M))


@cache
def public_corners(lonlat: tuple[float, float]) -> tuple[tuple[float, float], ...]:
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
    for path, node in walk(body):
        if is_number(node):
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
            numbers = [float(v) for v in values if is_number(v)]
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
                    centre = public_centre(place.lonlat)
                    if abs(lon - centre.lon) < 1e-6 and abs(lat - centre.lat) < 1e-6:
                        continue
                    if any(
                        abs(lon - x) < 1e-6 and abs(lat - y) < 1e-6
                        for x, y in public_corners(place.lonlat)
                    ):
                        continue
                    metres = distance_m(LonLat(lon, lat), LonLat(*place.lonlat))
                    if metres < NEAR_M:
                        found.append(f"a point {metres:.0f} m from {place.name}'s home in {path}")
    return found


def is_band(value: Any) -> bool:
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
                if value is not None and not is_band(value):
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


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def identity_leaks(
    body: Any, forbidden: Iterable[Identity], skip_keys: frozenset[str] = frozenset()
) -> list[str]:
    """Where ``body`` names one of the ``forbidden`` people: their display name as a
    value, their e-mail or phone in any text, or their id under an identity key."""
    people = list(forbidden)
    found: list[str] = []
    for path, node in walk(body):
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
                if key not in IDENTITY_KEYS or key in skip_keys or not is_number(value):
                    continue
                for who in people:
                    if value == who.user_id:
                        found.append(f"{who.name}'s id at {path}.{key}")
    return found
