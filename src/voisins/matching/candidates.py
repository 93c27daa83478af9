"""Candidate search on the public grid: the right nearby volunteers for a request, in
milliseconds, decided from public cells only.

Privacy first. Whatever the matcher does can be observed — whether someone is
proposed at all, in which batch, what a radius lets through — so it must not depend on
anything finer than the public cell (DESIGN.md, "Location privacy"). Here every
distance is the distance between two cell centres in the grid's plane (``cell_xy``,
sql/0010), radii are whole kilometres, and every cut is made between whole rings of
cells: ``FETCH FIRST n ROWS WITH TIES`` on the cell-centre distance never keeps one
person of a cell and drops another of the same cell (or of another cell at the same
distance). Exact points are not read at all. Inside a ring, the scoring (not the
physical order of rows) decides, with ties broken by a per-request seeded draw.

Speed. The query walks a per-category GiST index of ``cell_xy`` nearest-first
(``ORDER BY cell_xy <-> cell``): a dense city costs no more than the first few
hundred neighbours. When that walk cannot fill the batch (few volunteers pass the
filters), a second query sweeps the whole radius with every filter at once. bench/
measures both against the naive query; EXPLAIN in bench/results/match-explain.txt.
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

# The close reason of propositions withdrawn because the request got all its
# volunteers: the only withdrawn propositions that may be made again.
PLACES_FILLED = "places filled"

# The request's (or offer's) own cell centre, in the grid plane.
_CELL = geosql.grid_point("cell_x", "cell_y")


@dataclass(frozen=True)
class Request:
    """What the search needs to know about a request (or about an offer's needs).

    The place is the post's public cell only: the search never sees the exact point.
    """

    post_id: int
    author_id: int
    category: str
    skill_tags: list[str]
    languages: list[str]
    slots: list[Range]
    sensitive: bool
    cell_srid: int
    cell_x: float
    cell_y: float
    language_required: bool = False

    @property
    def minutes(self) -> int:
        return sum(r.upper - r.lower for r in self.slots)


# What the scoring reads, measured against the request. Skills, languages (unless one
# is required) and availability are preferences, scored, not filters: a request
# with a rare tag still reaches the best people who can come.
_MEASURES = f"""
       {geosql.distance_m("v.cell_xy", _CELL)} AS distance_m,
       cardinality(ARRAY(SELECT unnest(v.skill_tags)
                         INTERSECT SELECT unnest(CAST(:tags AS text[])))) AS skill_overlap,
       COALESCE((SELECT sum(upper(r) - lower(r))
                 FROM unnest(v.availability * CAST(:slots AS int4multirange)) AS r), 0)
           AS available_minutes,
       (cardinality(CAST(:langs AS text[])) = 0 OR v.languages && CAST(:langs AS text[]))
           AS language_match,
       v.last_proposed_at, v.completed_count, v.no_show_count
"""

# The hard filters, but the category and the request's radius, which the index
# walk applies. A volunteer is never asked twice about the same request: a
# proposition that went with a pause, a withdrawal or an expiry counts too (else
# pausing and un-pausing would replay the search). Only the propositions withdrawn
# because the places were filled may be made again, when a place reopens.
_FILTERS = f"""
  v.cell_srid = CAST(:cell_srid AS integer)
  AND {geosql.within_m("v.cell_xy", _CELL, "v.reach_m")}
  AND (NOT CAST(:language_required AS boolean) OR v.languages && CAST(:langs AS text[]))
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
                    AND (m.status <> 'withdrawn'
                         OR m.close_reason IS DISTINCT FROM '{PLACES_FILLED}'))
"""

# The columns the walk carries from the index scan to the filters.
_WALKED = """v.user_id, v.cell_srid, v.cell_xy, v.reach_m, v.skill_tags, v.languages,
       v.availability, v.paused, v.active_matches, v.max_active_matches, v.last_matched_at,
       v.id_checked_at, v.record_extract_date, v.last_proposed_at, v.completed_count,
       v.no_show_count"""


def _index_predicate(category: str, sensitive: bool) -> str:
    """The partial-index predicates (sql/0010), spelled as literals so the planner can
    use those indexes. ``category`` must be one of the fixed categories."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    predicate = f"v.categories @> '{{{category}}}'"
    if sensitive:
        predicate += " AND v.id_checked_at IS NOT NULL AND v.record_extract_date IS NOT NULL"
    return predicate


def walk_sql(category: str, sensitive: bool) -> str:
    """Phase 1: walk the category's index nearest cell first, about ``:walk`` rows
    (whole rings) within the request's radius, then filter and keep the ``:window``
    nearest that pass (whole rings). ``walked`` tells whether the walk stopped at its
    row budget rather than at the radius (then phase 2 may run)."""
    return f"""
WITH near AS MATERIALIZED (
    SELECT {_WALKED} FROM volunteers v
    WHERE {_index_predicate(category, sensitive)}
      AND {geosql.within_m("v.cell_xy", _CELL, "CAST(:radius_m AS double precision)")}
    ORDER BY {geosql.nearest_first("v.cell_xy", _CELL)}
    FETCH FIRST CAST(:walk AS integer) ROWS WITH TIES
)
SELECT w.walked, c.*
FROM (SELECT count(*) AS walked FROM near) AS w
LEFT JOIN LATERAL (
    SELECT v.user_id AS volunteer_id, {_MEASURES}
    FROM near v JOIN users u ON u.id = v.user_id
    WHERE {_FILTERS}
    ORDER BY distance_m
    FETCH FIRST CAST(:window AS integer) ROWS WITH TIES
) AS c ON true
"""


def sweep_sql(category: str, sensitive: bool, language_required: bool) -> str:
    """Phase 2, for requests that few volunteers can answer: every filter at once over
    the radius, nearest cells first (whole rings). A required language is spelled out
    so that the planner can intersect the languages' GIN index with the cell index."""
    language = "AND v.languages && CAST(:langs AS text[])" if language_required else ""
    return f"""
SELECT v.user_id AS volunteer_id, {_MEASURES}
FROM volunteers v JOIN users u ON u.id = v.user_id
WHERE {_index_predicate(category, sensitive)}
  AND {geosql.within_m("v.cell_xy", _CELL, "CAST(:radius_m AS double precision)")}
  {language}
  AND {_FILTERS}
ORDER BY distance_m
FETCH FIRST CAST(:window AS integer) ROWS WITH TIES
"""


# Rows the first phase may walk (plus the rest of its last ring): enough for the usual
# request, small enough to stay within a few milliseconds.
WALK_ROWS = 600


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
        "cell_srid": request.cell_srid,
        "cell_x": request.cell_x,
        "cell_y": request.cell_y,
        "radius_m": radius_m,
        "tags": request.skill_tags,
        "langs": request.languages,
        "language_required": request.language_required and bool(request.languages),
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
    """At least the ``window`` nearest volunteers (by cell) who pass every filter —
    more when the last ring holds several — nearest cells first.

    Phase 1 walks about ``walk_rows`` volunteers of the category, nearest cells first;
    when that budget ran out before ``enough`` of them passed, phase 2 sweeps the whole
    radius with every filter. Both depend on public cells only."""
    params = _params(request, radius_m=radius_m, window=window, now=now, cooldown_s=cooldown_s)
    params["walk"] = walk_rows
    rows = (await conn.execute(text(walk_sql(request.category, request.sensitive)), params)).all()
    found = [_features(r, request) for r in rows if r.volunteer_id is not None]
    # The walk's candidates suffice when they fill the batch (``enough``); scoring then
    # picks among them. Only when even the batch cannot be filled is the whole radius
    # swept.
    if len(found) < (enough or window) and rows and rows[0].walked >= walk_rows:
        sql = sweep_sql(request.category, request.sensitive, params["language_required"])
        found = [_features(r, request) for r in (await conn.execute(text(sql), params)).all()]
    return found


# Open requests near an offer, on the grid: within the offer's reach and within the
# request's own, both whole kilometres between cell centres; whole rings only.
OPEN_REQUESTS_SQL = f"""
SELECT p.id AS post_id,
       {geosql.distance_m("p.cell_xy", _CELL)} AS distance_m,
       cardinality(ARRAY(SELECT unnest(p.skill_tags)
                         INTERSECT SELECT unnest(CAST(:tags AS text[])))) AS skill_overlap,
       cardinality(p.skill_tags) AS post_skills,
       COALESCE((SELECT sum(upper(r) - lower(r))
                 FROM unnest(p.slots * CAST(:slots AS int4multirange)) AS r), 0)
           AS available_minutes,
       COALESCE((SELECT sum(upper(r) - lower(r)) FROM unnest(p.slots) AS r), 0) AS post_minutes,
       (cardinality(p.languages) = 0 OR p.languages && CAST(:langs AS text[])) AS language_match,
       p.sensitive
FROM posts p
WHERE p.status = 'published' AND p.kind = 'request'
  AND {geosql.within_m("p.cell_xy", _CELL, "CAST(:radius_m AS double precision)")}
  AND p.cell_srid = CAST(:cell_srid AS integer)
  AND {geosql.within_m("p.cell_xy", _CELL, "p.reach_m")}
  AND p.category = CAST(:category AS text)
  AND p.author_id <> CAST(:author_id AS bigint)
  AND p.expires_at > CAST(:now AS timestamptz)
  AND (NOT p.language_required OR p.languages && CAST(:langs AS text[]))
  AND (NOT p.sensitive OR CAST(:vetted AS boolean))
  AND NOT EXISTS (SELECT 1 FROM blocks b
                  WHERE (b.blocker_id = p.author_id AND b.blocked_id = CAST(:author_id AS bigint))
                     OR (b.blocker_id = CAST(:author_id AS bigint) AND b.blocked_id = p.author_id))
  AND NOT EXISTS (SELECT 1 FROM matches m
                  WHERE m.post_id = p.id AND m.volunteer_id = CAST(:author_id AS bigint)
                    AND (m.status <> 'withdrawn'
                         OR m.close_reason IS DISTINCT FROM '{PLACES_FILLED}'))
  AND (SELECT count(*) FROM matches m
       WHERE m.post_id = p.id AND match_holds_place(m.status)) < p.volunteers_needed
ORDER BY {geosql.nearest_first("p.cell_xy", _CELL)}
FETCH FIRST CAST(:window AS integer) ROWS WITH TIES
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
    sensitive: bool


async def find_open_requests(
    conn: AsyncConnection,
    offer: Request,
    *,
    radius_m: int,
    window: int,
    vetted: bool,
    now: datetime,
) -> list[OpenRequest]:
    """Open requests near an offer, in its category: at least the ``window`` nearest
    by cell (whole rings), nearest cells first."""
    rows = (
        await conn.execute(
            text(OPEN_REQUESTS_SQL),
            {
                "cell_srid": offer.cell_srid,
                "cell_x": offer.cell_x,
                "cell_y": offer.cell_y,
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
