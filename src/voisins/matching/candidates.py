"""Candidate search: the right nearby volunteers for a request, in milliseconds.

The query walks the GiST index of ``volunteers.geog`` nearest-first
(``ORDER BY geog <-> point LIMIT k``); ``ST_DWithin(geog, point, R)`` becomes an index
condition that ends the walk at the request's radius, and every other filter is
checked on each row as the walk passes it, so a dense city costs no more than the
first few hundred neighbours. The naive form — ``ST_DWithin`` then
``ORDER BY ST_Distance`` — must fetch and sort everyone within R: bench/match.py
measures both on the same data (results in bench/results/, EXPLAIN in
bench/results/match-explain.txt).

Exact points are used here, so that a volunteer 300 m away ranks before one 3 km
away; nothing computed here is shown to people except through bands.

Why geography rather than geometry(Point, 2154): metre distances and radius
filters must hold overseas too (Lambert-93 is undefined in La Réunion or Guyane),
and the measured cost of the spheroid is small (see the "representation" entry of
bench/results/match-latest.json).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asyncpg import Range
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.categories import LABELS as CATEGORIES
from voisins.geo import sql as geosql
from voisins.matching.scoring import Features

# A criminal-record extract older than this does not count as vetting.
RECORD_VALIDITY = timedelta(days=3 * 365)

_POINT = geosql.as_geography(geosql.point_4326("lon", "lat"))


@dataclass(frozen=True)
class Request:
    """What the search needs to know about a request (or about an offer's needs)."""

    post_id: int
    author_id: int
    category: str
    skill_tags: list[str]
    languages: list[str]
    slots: list[Range]
    sensitive: bool
    lon: float
    lat: float

    @property
    def minutes(self) -> int:
        return sum(r.upper - r.lower for r in self.slots)


# The columns the filters and the scoring read, measured against the request.
_MEASURES = f"""
       {geosql.distance_m("v.geog", _POINT)} AS distance_m,
       cardinality(ARRAY(SELECT unnest(v.skill_tags)
                         INTERSECT SELECT unnest(CAST(:tags AS text[])))) AS skill_overlap,
       COALESCE((SELECT sum(upper(r) - lower(r))
                 FROM unnest(v.availability * CAST(:slots AS int4multirange)) AS r), 0)
           AS available_minutes,
       (cardinality(CAST(:langs AS text[])) = 0 OR v.languages && CAST(:langs AS text[]))
           AS language_match,
       v.last_proposed_at, v.completed_count, v.no_show_count
"""

# Every filter but the category and the radius, which the index walk applies.
_FILTERS = f"""
  {geosql.within_m("v.geog", _POINT, "v.radius_m")}
  AND (cardinality(CAST(:tags AS text[])) = 0 OR v.skill_tags && CAST(:tags AS text[]))
  AND (cardinality(CAST(:langs AS text[])) = 0 OR v.languages && CAST(:langs AS text[]))
  AND v.availability && CAST(:slots AS int4multirange)
  AND NOT v.paused
  AND u.status = 'active'
  AND v.user_id <> CAST(:author_id AS bigint)
  AND v.active_matches < v.max_active_matches
  AND (v.last_matched_at IS NULL OR v.last_matched_at <= CAST(:cooldown_before AS timestamptz))
  AND (NOT CAST(:sensitive AS boolean)
       OR (v.id_checked_at IS NOT NULL
           AND v.record_extract_date >= CAST(:record_valid_since AS date)))
  -- Blocks count both ways; two lookups, each on a primary-key or blocked_id index.
  AND NOT EXISTS (SELECT 1 FROM blocks b
                  WHERE b.blocker_id = CAST(:author_id AS bigint) AND b.blocked_id = v.user_id)
  AND NOT EXISTS (SELECT 1 FROM blocks b
                  WHERE b.blocker_id = v.user_id AND b.blocked_id = CAST(:author_id AS bigint))
  AND NOT EXISTS (SELECT 1 FROM matches m
                  WHERE m.post_id = CAST(:post_id AS bigint) AND m.volunteer_id = v.user_id
                    AND m.status <> 'withdrawn')
"""


def _index_predicate(category: str, sensitive: bool) -> str:
    """The partial-index predicates (sql/0004), spelled as literals so the planner can
    use those indexes. ``category`` must be one of the fixed categories."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    predicate = f"v.categories @> '{{{category}}}'"
    if sensitive:
        predicate += " AND v.id_checked_at IS NOT NULL AND v.record_extract_date IS NOT NULL"
    return predicate


def walk_sql(category: str, sensitive: bool) -> str:
    """Phase 1: walk the category's index nearest-first, at most ``:walk`` rows within
    the request's radius, then filter and keep the ``:window`` nearest that pass.
    ``walked`` tells whether the walk stopped at its row budget (then phase 2 runs)."""
    return f"""
WITH near AS MATERIALIZED (
    SELECT v.* FROM volunteers v
    WHERE {_index_predicate(category, sensitive)}
      AND {geosql.within_m("v.geog", _POINT, "CAST(:radius_m AS double precision)")}
    ORDER BY {geosql.nearest_first("v.geog", _POINT)}
    LIMIT CAST(:walk AS integer)
)
SELECT w.walked, c.*
FROM (SELECT count(*) AS walked FROM near) AS w
LEFT JOIN LATERAL (
    SELECT v.user_id AS volunteer_id, {_MEASURES}
    FROM near v JOIN users u ON u.id = v.user_id
    WHERE {_FILTERS}
    ORDER BY {geosql.nearest_first("v.geog", _POINT)}
    LIMIT CAST(:window AS integer)
) AS c ON true
"""


def sweep_sql(category: str, sensitive: bool) -> str:
    """Phase 2, for requests that few volunteers can answer: every filter at once over
    the radius (a bitmap scan of the category's index), nearest first."""
    return f"""
SELECT v.user_id AS volunteer_id, {_MEASURES}
FROM volunteers v JOIN users u ON u.id = v.user_id
WHERE {_index_predicate(category, sensitive)}
  AND {geosql.within_m("v.geog", _POINT, "CAST(:radius_m AS double precision)")}
  AND {_FILTERS}
ORDER BY distance_m
LIMIT CAST(:window AS integer)
"""


# Rows the first phase may walk: enough for the usual request (one volunteer in ten
# passing every filter), small enough to stay within a few milliseconds.
WALK_ROWS = 800


def candidate_query_sql(
    request: Request, *, radius_m: int, window: int, now: datetime, cooldown_s: int
) -> tuple[str, dict[str, Any]]:
    """The first-phase query and its parameters (also used by the benchmark's EXPLAIN)."""
    return walk_sql(request.category, request.sensitive), _params(
        request, radius_m=radius_m, window=window, now=now, cooldown_s=cooldown_s
    )


def _params(
    request: Request, *, radius_m: int, window: int, now: datetime, cooldown_s: int
) -> dict[str, Any]:
    return {
        "lon": request.lon,
        "lat": request.lat,
        "radius_m": radius_m,
        "tags": request.skill_tags,
        "langs": request.languages,
        "slots": request.slots,
        "author_id": request.author_id,
        "post_id": request.post_id,
        "sensitive": request.sensitive,
        "cooldown_before": now - timedelta(seconds=cooldown_s),
        "record_valid_since": (now - RECORD_VALIDITY).date(),
        "window": window,
        "walk": WALK_ROWS,
    }


def _features(row: Any, request: Request) -> Features:
    return Features(
        volunteer_id=row.volunteer_id,
        distance_m=float(row.distance_m),
        skill_overlap=row.skill_overlap,
        post_skills=len(request.skill_tags),
        available_minutes=int(row.available_minutes),
        post_minutes=request.minutes,
        language_match=row.language_match,
        last_proposed_at=row.last_proposed_at,
        completed=row.completed_count,
        no_shows=row.no_show_count,
    )


async def find_candidates(
    conn: AsyncConnection,
    request: Request,
    *,
    radius_m: int,
    window: int,
    now: datetime,
    cooldown_s: int,
    enough: int | None = None,
    walk_rows: int = WALK_ROWS,
) -> list[Features]:
    """The ``window`` nearest volunteers who pass every filter, nearest first.

    Phase 1 walks the nearest ``WALK_ROWS`` volunteers of the category; when that
    budget ran out before ``enough`` of them passed, phase 2 sweeps the whole radius
    with every filter (the answer is the same, only the plan differs)."""
    params = _params(request, radius_m=radius_m, window=window, now=now, cooldown_s=cooldown_s)
    params["walk"] = walk_rows
    rows = (await conn.execute(text(walk_sql(request.category, request.sensitive)), params)).all()
    found = [_features(r, request) for r in rows if r.volunteer_id is not None]
    # The walk's candidates suffice when they fill the batch (``enough``); scoring then
    # picks among them. Only when even the batch cannot be filled is the whole radius
    # swept.
    if len(found) < (enough or window) and rows and rows[0].walked >= walk_rows:
        rows = (
            await conn.execute(text(sweep_sql(request.category, request.sensitive)), params)
        ).all()
        found = [_features(r, request) for r in rows]
    return found


OPEN_REQUESTS_SQL = f"""
SELECT p.id AS post_id,
       {geosql.distance_m("p.geog", _POINT)} AS distance_m,
       cardinality(ARRAY(SELECT unnest(p.skill_tags)
                         INTERSECT SELECT unnest(CAST(:tags AS text[])))) AS skill_overlap,
       cardinality(p.skill_tags) AS post_skills,
       COALESCE((SELECT sum(upper(r) - lower(r))
                 FROM unnest(p.slots * CAST(:slots AS int4multirange)) AS r), 0)
           AS available_minutes,
       COALESCE((SELECT sum(upper(r) - lower(r)) FROM unnest(p.slots) AS r), 0) AS post_minutes,
       (cardinality(p.languages) = 0 OR p.languages && CAST(:langs AS text[])) AS language_match
FROM posts p
WHERE p.status = 'published' AND p.kind = 'request'
  AND {geosql.within_m("p.geog", _POINT, "CAST(:radius_m AS double precision)")}
  AND p.category = CAST(:category AS text)
  AND p.author_id <> CAST(:author_id AS bigint)
  AND p.expires_at > CAST(:now AS timestamptz)
  AND p.slots && CAST(:slots AS int4multirange)
  AND (NOT p.sensitive OR CAST(:vetted AS boolean))
  AND NOT EXISTS (SELECT 1 FROM blocks b
                  WHERE (b.blocker_id = p.author_id AND b.blocked_id = CAST(:author_id AS bigint))
                     OR (b.blocker_id = CAST(:author_id AS bigint) AND b.blocked_id = p.author_id))
  AND NOT EXISTS (SELECT 1 FROM matches m
                  WHERE m.post_id = p.id AND m.volunteer_id = CAST(:author_id AS bigint)
                    AND m.status <> 'withdrawn')
  AND (SELECT count(*) FROM matches m
       WHERE m.post_id = p.id AND match_holds_place(m.status)) < p.volunteers_needed
ORDER BY {geosql.nearest_first("p.geog", _POINT)}
LIMIT CAST(:window AS integer)
"""


@dataclass(frozen=True)
class OpenRequest:
    post_id: int
    distance_m: float
    skill_overlap: int
    post_skills: int
    available_minutes: int
    post_minutes: int
    language_match: bool


async def find_open_requests(
    conn: AsyncConnection,
    offer: Request,
    *,
    radius_m: int,
    window: int,
    vetted: bool,
    now: datetime,
) -> list[OpenRequest]:
    """Open requests near an offer, in its category, nearest first."""
    rows = (
        await conn.execute(
            text(OPEN_REQUESTS_SQL),
            {
                "lon": offer.lon,
                "lat": offer.lat,
                "radius_m": radius_m,
                "category": offer.category,
                "tags": offer.skill_tags,
                "langs": offer.languages or ["fr"],
                "slots": offer.slots,
                "author_id": offer.author_id,
                "vetted": vetted,
                "now": now,
                "window": window,
            },
        )
    ).all()
    return [OpenRequest(**dict(row._mapping)) for row in rows]
