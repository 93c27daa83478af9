"""The fixed public privacy grid.

Every exact point is snapped to the square cell of a fixed grid that contains it; what
other people see is derived from the cell's centre only. The grid is square in the
zone's projected CRS (metres): Lambert-93 for metropolitan France and Corsica, a local
UTM projection overseas (see ``voisins.geo.france`` for why). Cell ``(ix, iy)`` covers
``[ix * size, (ix + 1) * size) x [iy * size, (iy + 1) * size)`` in that CRS, so the
same point always falls in the same cell, whoever asks and however often.

The transformations from WGS84 to these CRSs are plain projections (their datums are
aligned with WGS84 at the metre level and PROJ uses a null datum shift), so snapping
needs no grid files and gives the same cell on every machine; a test pins known keys.
"""

from __future__ import annotations

import math
from functools import cache
from typing import NamedTuple

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from voisins.errors import Invalid
from voisins.geo.coordinates import LonLat
from voisins.geo.france import GRID_SRIDS, Zone, zone_at

__all__ = [
    "Cell",
    "Zone",
    "cell_centre",
    "cell_polygon",
    "distance_m",
    "point_in_cell",
    "project",
    "snap",
    "to_grid",
    "zone_for",
]

_GEOD = Geod(ellps="WGS84")
_DECIMALS = 6  # about 0.1 m: enough, and the same cell always yields the same floats


def zone_for(point: LonLat, *, field: str = "location") -> Zone:
    """The French zone holding ``point``; ``Invalid`` naming ``field`` outside France."""
    zone = zone_at(point.lon, point.lat)
    if zone is None:
        raise Invalid.field(field, "must be in France (metropolitan or overseas)")
    return zone


@cache
def _forward(srid: int) -> Transformer:
    return Transformer.from_crs(4326, srid, always_xy=True)


@cache
def _inverse(srid: int) -> Transformer:
    return Transformer.from_crs(srid, 4326, always_xy=True)


def to_grid(point: LonLat, srid: int) -> tuple[float, float]:
    """Project a WGS84 point into ``srid`` (metres, x east, y north)."""
    x, y = _forward(srid).transform(point.lon, point.lat, errcheck=True)
    return x, y


def project(geometry: BaseGeometry, srid: int) -> BaseGeometry:
    """Project a WGS84 geometry into ``srid`` (for areas and lengths in metres)."""
    transformer = _forward(srid)

    def forward(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1], errcheck=True)
        return np.column_stack((x, y))

    return shapely.transform(geometry, forward)


def _to_lonlat(srid: int, x: float, y: float) -> LonLat:
    lon, lat = _inverse(srid).transform(x, y, errcheck=True)
    return LonLat(round(lon, _DECIMALS), round(lat, _DECIMALS))


class Cell(NamedTuple):
    """One cell of the public grid: its CRS, its side in metres and its column/row."""

    srid: int
    size_m: int
    ix: int
    iy: int

    @property
    def key(self) -> str:
        """A stable text form, e.g. ``"2154:500:1304:13641"``."""
        return f"{self.srid}:{self.size_m}:{self.ix}:{self.iy}"

    @property
    def centre_xy(self) -> tuple[float, float]:
        """The cell's centre in the grid's plane (projected metres of its zone): the
        ``cell_xy`` columns' coordinates (sql/0010)."""
        return ((self.ix + 0.5) * self.size_m, (self.iy + 0.5) * self.size_m)

    @classmethod
    def from_key(cls, key: str, *, field: str = "cell") -> Cell:
        """Parse ``key``; ``Invalid`` naming ``field`` if it is not a cell of this grid."""
        parts = key.split(":") if isinstance(key, str) else []
        try:
            srid, size_m, ix, iy = (int(part) for part in parts)
        except ValueError:
            raise Invalid.field(field, "must look like SRID:SIZE:IX:IY") from None
        if srid not in GRID_SRIDS:
            raise Invalid.field(field, "unknown grid")
        if size_m <= 0:
            raise Invalid.field(field, "cell size must be positive")
        return cls(srid, size_m, ix, iy)


def snap(point: LonLat, size_m: int) -> Cell:
    """The cell of the ``size_m`` grid that contains ``point`` (``Invalid`` outside France)."""
    if size_m <= 0:
        raise ValueError("size_m must be positive")
    srid = zone_for(point).srid
    x, y = to_grid(point, srid)
    return Cell(srid, size_m, math.floor(x / size_m), math.floor(y / size_m))


def cell_centre(cell: Cell) -> LonLat:
    """The WGS84 centre of ``cell``, rounded to 6 decimals."""
    return _to_lonlat(cell.srid, (cell.ix + 0.5) * cell.size_m, (cell.iy + 0.5) * cell.size_m)


def point_in_cell(cell: Cell, fx: float, fy: float) -> LonLat:
    """The WGS84 point at the fractions ``(fx, fy)`` of the cell's width and height from
    its south-west corner (``0.5, 0.5`` is the centre); both must lie in ``[0, 1)``.
    Rounded to 6 decimals like every WGS84 point here (~0.1 m): a point within 0.1 m of
    an edge may round into the next cell."""
    if not (0 <= fx < 1 and 0 <= fy < 1):
        raise ValueError("fractions must lie in [0, 1)")
    return _to_lonlat(cell.srid, (cell.ix + fx) * cell.size_m, (cell.iy + fy) * cell.size_m)


def cell_polygon(cell: Cell) -> Polygon:
    """The cell's square as a WGS84 polygon (counter-clockwise, 6 decimals)."""
    x0, y0 = cell.ix * cell.size_m, cell.iy * cell.size_m
    x1, y1 = x0 + cell.size_m, y0 + cell.size_m
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return Polygon([_to_lonlat(cell.srid, x, y) for x, y in corners])


def distance_m(a: LonLat, b: LonLat) -> float:
    """Geodesic distance on the WGS84 ellipsoid, in metres."""
    _, _, metres = _GEOD.inv(a.lon, a.lat, b.lon, b.lat)
    return float(metres)
