"""Points as people send them: WGS84 longitude-latitude, checked before anything uses them."""

from __future__ import annotations

import math
from typing import NamedTuple

from voisins.errors import Invalid
from voisins.geo.france import zone_at


class LonLat(NamedTuple):
    """A WGS84 (EPSG:4326) position, longitude first like GeoJSON and PostGIS."""

    lon: float
    lat: float


def _number(value: object, path: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid.field(path, "must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise Invalid.field(path, "must be a finite number")
    if not low <= number <= high:
        raise Invalid.field(path, f"must be between {low:g} and {high:g}")
    return number


def validate_point(lon: float, lat: float, *, field: str = "location") -> LonLat:
    """Return the point if it is a real position in France, else raise ``Invalid``.

    Errors name ``{field}.lon`` / ``{field}.lat`` for a bad number and ``field`` for a
    position outside France; a position that lands in France once longitude and
    latitude are exchanged is reported as swapped, the most common client mistake.
    """
    x = _number(lon, f"{field}.lon", -180.0, 180.0)
    y = _number(lat, f"{field}.lat", -90.0, 90.0)
    if zone_at(x, y) is not None:
        return LonLat(x, y)
    if abs(x) <= 90.0 and zone_at(y, x) is not None:
        raise Invalid.field(field, "longitude and latitude look swapped")
    raise Invalid.field(field, "must be in France (metropolitan or overseas)")
