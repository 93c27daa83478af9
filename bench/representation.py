"""geography(Point, 4326) or geometry(Point, 2154)? Measured, not guessed.

On the largest dataset, the bench database (only) gets a copy of the volunteers table,
``bench_knn``, with one extra column ``geom2154 = ST_Transform(point, 2154)`` and
exactly two indexes: a GiST index on ``geog`` and one on ``geom2154``. A copy, so
that the engine's partial indexes on ``volunteers`` (which exist for geography only)
cannot tilt the comparison. The same bare index-ordered nearest-neighbour query —
``ORDER BY col <-> q LIMIT 50`` with the engine's filters and radius conditions —
then runs on each representation for every request, alternating which goes first,
with bitmap scans, sequential scans and sorts disabled so that both are the KNN walk
the engine relies on. Besides the timings it records how far Lambert-93 planar
distances drift from spheroid distances near each of the 20 cities (the projection's
scale error), since a planar shortcut is only worth it if its metres are right.
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
FROM bench_knn v
JOIN users u ON u.id = v.user_id
WHERE ST_DWithin(v.geog, {POINT}, CAST(:radius_m AS double precision))
  AND ST_DWithin(v.geog, {POINT}, v.radius_m)
  AND {FILTERS}
ORDER BY v.geog <-> {POINT}
LIMIT {KNN_LIMIT}
"""

KNN_2154_SQL = f"""
SELECT v.user_id
FROM bench_knn v
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
FROM (SELECT geom2154, geog FROM bench_knn
      ORDER BY geog <-> {POINT} LIMIT 200) AS v
WHERE ST_Distance(v.geog, {POINT}) > 100
"""


# Both walks must be the index-ordered KNN scan, whatever the planner estimates.
FORCE_KNN = (
    "SET LOCAL enable_bitmapscan = off",
    "SET LOCAL enable_seqscan = off",
    "SET LOCAL enable_sort = off",
)


async def build_table(raw: asyncpg.Connection, log: Any) -> None:
    t0 = time.perf_counter()
    await raw.execute("SET maintenance_work_mem = '1GB'")
    await raw.execute(
        "CREATE TABLE bench_knn AS SELECT v.*, "
        "CAST(ST_Transform(v.point, 2154) AS geometry(Point, 2154)) AS geom2154 "
        "FROM volunteers v"
    )
    await raw.execute("CREATE INDEX bench_knn_geog ON bench_knn USING gist (geog)")
    await raw.execute("CREATE INDEX bench_knn_geom2154 ON bench_knn USING gist (geom2154)")
    await raw.execute("VACUUM ANALYZE bench_knn")
    log(f"representation: bench_knn copy + 2 GiST indexes in {time.perf_counter() - t0:.1f}s")


_TO_2154 = Transformer.from_crs(4326, 2154, always_xy=True)


def with_2154(params: dict[str, Any]) -> dict[str, Any]:
    x, y = _TO_2154.transform(params["lon"], params["lat"])
    return {**params, "x": x, "y": y}


def knn_params(params: dict[str, Any]) -> dict[str, Any]:
    """The candidate-query parameters the bare KNN queries name (both name the same)."""
    return {
        k: v for k, v in with_2154(params).items() if f":{k}" in KNN_2154_SQL + KNN_GEOGRAPHY_SQL
    }


async def scale_error(conn: AsyncConnection, cities: Any) -> float:
    worst = 0.0
    for _, _, lon, lat in cities:
        x, y = _TO_2154.transform(lon, lat)
        value = (
            await conn.execute(text(SCALE_ERROR_SQL), {"lon": lon, "lat": lat, "x": x, "y": y})
        ).scalar()
        worst = max(worst, float(value or 0.0))
    return worst
