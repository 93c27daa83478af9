"""geography(Point, 4326) or geometry(Point, 2154)? Measured, not guessed.

On the largest dataset, the bench database (only) gets a stored column
``geom2154 = ST_Transform(point, 2154)`` with its own GiST index. The same bare
index-ordered nearest-neighbour query — ``ORDER BY col <-> q LIMIT 50`` with the
engine's filters and radius conditions — then runs on each representation for every
request, alternating which goes first. Besides the timings it records how far
Lambert-93 planar distances drift from spheroid distances near each of the 20 cities
(the projection's scale error), since a planar shortcut is only worth it if the
metres it gives are right.
"""

from __future__ import annotations

import time
from typing import Any

import asyncpg
from pyproj import Transformer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.naive import FILTERS, POINT

POINT_2154 = (
    "ST_SetSRID(ST_MakePoint(CAST(:x AS double precision), CAST(:y AS double precision)), 2154)"
)
KNN_LIMIT = 50

KNN_GEOGRAPHY_SQL = f"""
SELECT v.user_id
FROM volunteers v
JOIN users u ON u.id = v.user_id
WHERE ST_DWithin(v.geog, {POINT}, CAST(:radius_m AS double precision))
  AND ST_DWithin(v.geog, {POINT}, v.radius_m)
  AND {FILTERS}
ORDER BY v.geog <-> {POINT}
LIMIT {KNN_LIMIT}
"""

KNN_2154_SQL = f"""
SELECT v.user_id
FROM volunteers v
JOIN users u ON u.id = v.user_id
WHERE ST_DWithin(v.geom2154, {POINT_2154}, CAST(:radius_m AS double precision))
  AND ST_DWithin(v.geom2154, {POINT_2154}, v.radius_m)
  AND {FILTERS}
ORDER BY v.geom2154 <-> {POINT_2154}
LIMIT {KNN_LIMIT}
"""

# Near each city: planar Lambert-93 distance vs spheroid distance of 200 neighbours.
SCALE_ERROR_SQL = f"""
SELECT max(abs(ST_Distance(v.geom2154, {POINT_2154}) / ST_Distance(v.geog, {POINT}) - 1))
FROM (SELECT geom2154, geog FROM volunteers
      ORDER BY geog <-> {POINT} LIMIT 200) AS v
WHERE ST_Distance(v.geog, {POINT}) > 100
"""


async def add_2154_column(raw: asyncpg.Connection, log: Any) -> None:
    t0 = time.perf_counter()
    await raw.execute("SET maintenance_work_mem = '1GB'")
    # A stored generated column rewrites the table once (no dead tuples left behind).
    await raw.execute(
        "ALTER TABLE volunteers ADD COLUMN geom2154 geometry(Point, 2154) "
        "GENERATED ALWAYS AS (ST_Transform(point, 2154)) STORED"
    )
    await raw.execute("CREATE INDEX volunteers_geom2154 ON volunteers USING gist (geom2154)")
    await raw.execute("VACUUM ANALYZE volunteers")
    log(f"representation: geom2154 column + GiST index in {time.perf_counter() - t0:.1f}s")


_TO_2154 = Transformer.from_crs(4326, 2154, always_xy=True)


def with_2154(params: dict[str, Any]) -> dict[str, Any]:
    x, y = _TO_2154.transform(params["lon"], params["lat"])
    return {**params, "x": x, "y": y}


def knn_params(params: dict[str, Any]) -> dict[str, Any]:
    """The candidate-query parameters minus those the bare KNN query does not name."""
    return {k: v for k, v in with_2154(params).items() if k != "window"}


async def scale_error(conn: AsyncConnection, cities: Any) -> float:
    worst = 0.0
    for _, _, lon, lat in cities:
        x, y = _TO_2154.transform(lon, lat)
        value = (
            await conn.execute(text(SCALE_ERROR_SQL), {"lon": lon, "lat": lat, "x": x, "y": y})
        ).scalar()
        worst = max(worst, float(value or 0.0))
    return worst
