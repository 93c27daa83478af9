"""Distances as other people see them: 1 km bands between public cell centres.

A shown distance is never computed from an exact point, and never shown finer than
a kilometre: ``public_distance`` takes cells, not points, so it cannot be misused.
"""

from __future__ import annotations

import math
from functools import lru_cache

import msgspec

from voisins.geo.grid import Cell, cell_centre, distance_m


class Band(msgspec.Struct, frozen=True):
    """``[min_km, max_km)`` with its French and English labels."""

    min_km: int
    max_km: int
    label_fr: str
    label_en: str


@lru_cache(maxsize=256)
def _band(index: int) -> Band:
    if index == 0:
        return Band(0, 1, "moins de 1 km", "less than 1 km")
    return Band(index, index + 1, f"{index} à {index + 1} km", f"{index} to {index + 1} km")


def band_for_m(distance_m: float) -> Band:
    """The band of a distance in metres: 999 m is "moins de 1 km", 1000 m is "1 à 2 km"."""
    if not math.isfinite(distance_m) or distance_m < 0:
        raise ValueError("distance must be a finite, non-negative number of metres")
    return _band(math.floor(distance_m / 1000))


def public_distance_m(a: Cell, b: Cell) -> float:
    """Metres between the two cell centres: for sorting and radius filters, never shown."""
    return distance_m(cell_centre(a), cell_centre(b))


def public_distance(a: Cell, b: Cell) -> Band:
    """The band shown to people: from the two cell centres, never from exact points."""
    return band_for_m(public_distance_m(a, b))
