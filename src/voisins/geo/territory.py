"""A centre's territory: GeoJSON in, a checked shapely MultiPolygon out, and back.

shapely is lenient (it closes open rings, accepts strings that look like numbers,
builds self-intersecting polygons), so the GeoJSON is walked and checked by hand
first, with an error path for the first bad position (``territory.coordinates[0][3]``,
like msgspec's paths), and only then turned into geometry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient
from shapely.validation import explain_validity

from voisins.errors import Invalid
from voisins.geo.france import zone_at
from voisins.geo.grid import project

MAX_VERTICES = 20_000
MIN_AREA_KM2 = 0.01
MAX_AREA_KM2 = 5_000.0
_DECIMALS = 6

Position = tuple[float, float]
Ring = list[Position]


class _Budget:
    """Counts positions across all rings so a huge payload is refused early."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.used = 0

    def take(self, count: int) -> None:
        self.used += count
        if self.used > MAX_VERTICES:
            raise Invalid.field(self.path, f"too many vertices (at most {MAX_VERTICES:,})")


def _list(value: object, path: str, what: str) -> Sequence[object]:
    if not isinstance(value, list | tuple):
        raise Invalid.field(path, f"must be {what}")
    return value


def _coordinate(value: object, path: str, low: float, high: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid.field(path, f"{name} must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise Invalid.field(path, f"{name} must be a finite number")
    if not low <= number <= high:
        raise Invalid.field(path, f"{name} must be between {low:g} and {high:g}")
    return number


def _position(value: object, path: str) -> Position:
    items = _list(value, path, "a [longitude, latitude] position")
    # Two values exactly: an altitude would be dropped without a word, so it is refused
    # (the API documents positions as [longitude, latitude]).
    if len(items) != 2:
        raise Invalid.field(path, "must be a [longitude, latitude] position")
    return (
        _coordinate(items[0], path, -180.0, 180.0, "longitude"),
        _coordinate(items[1], path, -90.0, 90.0, "latitude"),
    )


def _ring(value: object, path: str, budget: _Budget) -> Ring:
    items = _list(value, path, "a list of positions")
    if items and not isinstance(items[0], list | tuple):  # one nesting level missing
        raise Invalid.field(f"{path}[0]", "must be a [longitude, latitude] position")
    if len(items) < 4:
        raise Invalid.field(path, "a ring needs at least 4 positions (the last repeats the first)")
    budget.take(len(items))
    ring = [_position(item, f"{path}[{i}]") for i, item in enumerate(items)]
    if ring[0] != ring[-1]:
        raise Invalid.field(path, "ring is not closed: the last position must repeat the first")
    return ring


def _polygon(value: object, path: str, budget: _Budget) -> Polygon:
    rings = _list(value, path, "a list of rings")
    if not rings:
        raise Invalid.field(path, "polygon must not be empty")
    shell, *holes = (_ring(ring, f"{path}[{i}]", budget) for i, ring in enumerate(rings))
    return Polygon(shell, holes)


def _unwrap(geojson: object, field: str) -> tuple[dict[str, Any], str]:
    """The geometry object and its error path, looking inside a Feature."""
    if not isinstance(geojson, dict):
        raise Invalid.field(field, "must be a GeoJSON Polygon or MultiPolygon object")
    if geojson.get("type") == "Feature":
        field = f"{field}.geometry"
        geojson = geojson.get("geometry")
        if not isinstance(geojson, dict):
            raise Invalid.field(field, "must be a GeoJSON Polygon or MultiPolygon object")
    kind = geojson.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        shown = kind if isinstance(kind, str) and len(kind) <= 30 else "something else"
        raise Invalid.field(f"{field}.type", f"must be Polygon or MultiPolygon, not {shown}")
    return geojson, field


def parse_territory(geojson: object, *, field: str = "territory") -> MultiPolygon:
    """Check a GeoJSON Polygon/MultiPolygon (or a Feature holding one) and build it.

    Refused, with ``Invalid`` naming ``field`` or a path below it: wrong type, malformed
    or out-of-range coordinates, rings shorter than 4 positions or not closed, more
    than ``MAX_VERTICES`` positions, invalid geometry (self-intersection...), an area
    outside [``MIN_AREA_KM2``, ``MAX_AREA_KM2``], or any part outside the one French
    zone that holds it.
    """
    geometry, path = _unwrap(geojson, field)
    coordinates_path = f"{path}.coordinates"
    budget = _Budget(coordinates_path)
    raw = _list(geometry.get("coordinates"), coordinates_path, "a list")
    if geometry["type"] == "Polygon":
        polygons = [_polygon(raw, coordinates_path, budget)] if raw else []
    else:
        polygons = [
            _polygon(item, f"{coordinates_path}[{i}]", budget) for i, item in enumerate(raw)
        ]
    territory = MultiPolygon(polygons)
    if territory.is_empty:
        raise Invalid.field(coordinates_path, "must not be empty")
    if not territory.is_valid:
        raise Invalid.field(path, f"invalid geometry: {explain_validity(territory)}")

    inner = territory.representative_point()
    zone = zone_at(inner.x, inner.y)
    if zone is None:
        raise Invalid.field(path, "must lie in France (metropolitan or overseas)")
    # Area in the zone's projected CRS: metres, with little distortion inside the zone.
    area_km2 = project(territory, zone.srid).area / 1e6
    if area_km2 < MIN_AREA_KM2:
        raise Invalid.field(path, f"area is too small (at least {MIN_AREA_KM2:g} km²)")
    if area_km2 > MAX_AREA_KM2:
        raise Invalid.field(path, f"area is too large (at most {MAX_AREA_KM2:,.0f} km²)")
    if not zone.polygon.covers(territory):
        raise Invalid.field(path, "must lie entirely in France, within one region")
    return territory


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, _DECIMALS)
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    return value


def to_geojson(geom: BaseGeometry) -> dict[str, Any]:
    """GeoJSON of ``geom`` with lists, 6-decimal coordinates and RFC 7946 winding
    (outer rings counter-clockwise)."""
    if isinstance(geom, Polygon):
        geom = orient(geom, sign=1.0)
    elif isinstance(geom, MultiPolygon):
        geom = MultiPolygon([orient(part, sign=1.0) for part in geom.geoms])
    return {key: _rounded(value) for key, value in mapping(geom).items()}


def to_wkt(geom: BaseGeometry) -> str:
    """WKT at full precision (the stored geometry is exactly the checked one)."""
    return str(shapely.to_wkt(geom, rounding_precision=-1, trim=True))


def ewkt(geom: BaseGeometry, srid: int = 4326) -> str:
    """``SRID=4326;MULTIPOLYGON(...)``, to bind through ``sql.geom_from_ewkt``."""
    return f"SRID={int(srid)};{to_wkt(geom)}"
