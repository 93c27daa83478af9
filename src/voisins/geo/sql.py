"""Spatial SQL fragments for SQLAlchemy ``text()`` queries: the only place naming PostGIS.

asyncpg binds typed parameters and does no implicit casts, so every bound value is
cast explicitly (an untyped ``:lon`` inside ``ST_MakePoint`` fails to prepare). The
SRID is always explicit. Parameter names are checked because they are pasted into
SQL text; column and expression arguments are trusted SQL written by developers and
must never come from user input.
"""

from __future__ import annotations

import re

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _param(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a bind parameter name: {name!r}")
    return f":{name}"


def point_4326(lon_param: str, lat_param: str) -> str:
    """A WGS84 point geometry from two bound floats.

    ``point_4326("lon", "lat")`` gives ``ST_SetSRID(ST_MakePoint(CAST(:lon AS double
    precision), CAST(:lat AS double precision)), 4326)``.
    """
    lon, lat = _param(lon_param), _param(lat_param)
    return (
        f"ST_SetSRID(ST_MakePoint(CAST({lon} AS double precision), "
        f"CAST({lat} AS double precision)), 4326)"
    )


def grid_point(x_param: str, y_param: str) -> str:
    """A point of the public grid's plane from two bound floats: projected metres of
    the cell's zone (``cell_xy`` columns, sql/0010), SRID 0, Euclidean distances."""
    x, y = _param(x_param), _param(y_param)
    return (
        f"ST_SetSRID(ST_MakePoint(CAST({x} AS double precision), CAST({y} AS double precision)), 0)"
    )


def geom_from_ewkt(param: str) -> str:
    """A geometry from a bound EWKT string such as ``territory.ewkt(geom)``."""
    return f"ST_GeomFromEWKT(CAST({_param(param)} AS text))"


def contains_point(territory_col: str, point_sql: str) -> str:
    """True when the territory holds the point, its boundary included.

    ``ST_Covers`` rather than ``ST_Contains``: a point exactly on the edge of a territory
    still belongs to it. Both use the GiST index of ``territory_col``.
    """
    return f"ST_Covers({territory_col}, {point_sql})"


def lon_lat(col: str, prefix: str = "") -> str:
    """Select a point column as two floats.

    ``lon_lat("p.public_centre", "centre_")`` gives
    ``ST_X(p.public_centre) AS centre_lon, ST_Y(p.public_centre) AS centre_lat``.
    """
    if prefix and not _NAME.fullmatch(prefix):
        raise ValueError(f"not an alias prefix: {prefix!r}")
    return f"ST_X({col}) AS {prefix}lon, ST_Y({col}) AS {prefix}lat"


def x_y(col: str, prefix: str = "") -> str:
    """Select a grid-plane point as two floats: ``x_y("p.cell_xy", "cell_")`` gives
    ``ST_X(p.cell_xy) AS cell_x, ST_Y(p.cell_xy) AS cell_y``."""
    if prefix and not _NAME.fullmatch(prefix):
        raise ValueError(f"not an alias prefix: {prefix!r}")
    return f"ST_X({col}) AS {prefix}x, ST_Y({col}) AS {prefix}y"


def as_geography(point_sql: str) -> str:
    """A geometry in EPSG:4326 as geography: distances in metres on the spheroid."""
    return f"CAST({point_sql} AS geography)"


def within_m(col: str, point_sql: str, metres_sql: str) -> str:
    """True when ``col`` lies within the distance; uses the GiST index of ``col`` (its
    bounding-box test becomes an index condition)."""
    return f"ST_DWithin({col}, {point_sql}, {metres_sql})"


def in_box_m(col: str, point_sql: str, metres_sql: str) -> str:
    """True when ``col``'s bounding box meets the square of half-side ``metres`` around
    the point: the GiST index's own test, cheaper than ``within_m`` and usable beside a
    nearest-first order. Callers still compare the exact distance."""
    return f"{col} && ST_Expand({point_sql}, {metres_sql})"


def nearest_first(col: str, point_sql: str) -> str:
    """The ORDER BY key that walks the GiST index of ``col`` nearest-first (KNN); only
    index-ordered as ``ORDER BY col <-> constant LIMIT k``."""
    return f"{col} <-> {point_sql}"


def distance_m(col: str, point_sql: str) -> str:
    """Distance in metres between two geographies (spheroid), or between two points of
    the grid plane (Euclidean, projected metres)."""
    return f"ST_Distance({col}, {point_sql})"


def as_geojson(col: str, decimals: int = 6) -> str:
    """A geometry as GeoJSON text, coordinates rounded to ``decimals``."""
    return f"ST_AsGeoJSON({col}, {int(decimals)})"
