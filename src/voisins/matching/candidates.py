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

Speed. The first query walks a per-category GiST index of ``cell_xy`` nearest-first
(``ORDER BY cell_xy <-> cell``; sensitive requests walk the vetted volunteers of the
category, sql/0012) and filters each row as it comes: it stops as soon as its window
(and the window's last ring) is full, so a dense city costs no more than the first
few dozen neighbours who qualify, and at most ``WALK_ROWS``. When that walk cannot
fill the batch (few volunteers pass the filters), a second query scans the whole
radius nearest first with every filter. Both plans are fixed by the query's shape, not
by the values: the planner never sees the request's cell, radius or languages (see
``Q_CELL``), so a prepared statement's custom and generic plans are the same and a
cold connection plans like a warm one. bench/ measures both against the naive query;
EXPLAIN in bench/results/match-explain.txt.

One module although over 400 lines: the candidate query is built from the fragments
below (filters, measures, the cell and radius parameters), and its two plans, the open
requests an offer is matched against and matching/profile_change.py's check of one
volunteer are all made of them; the benchmark reads them together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from asyncpg import Range
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.accounts.volunteer import RECORD_VALIDITY
from voisins.categories import LABELS as CATEGORIES
from voisins.geo import sql as geosql
from voisins.matching.scoring import Features

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


# The walk and the sweep read the request's cell, zone, radius, languages and window
# through one-row sub-selects: the executor computes each once (an InitPlan), but the planner
# cannot see the values, so the plan it makes is the one it would make for any
# request — a custom plan equals the generic plan, and the plan does not depend on
# how warm the connection's statement cache is (PostgreSQL plans the first five
# executions of a prepared statement with the values, then may switch for good).
# With the values in view, its estimates for the radius (the box, then the exact
# distance test again) multiply into "one row", and the custom plans of the sweep
# read the whole radius through a bitmap and sort it: 160 ms at 1M volunteers where
# the generic plan, a nearest-first scan that stops at its window, takes 1 ms
# (bench/README.md).
Q_CELL = f"(SELECT {_CELL})"
Q_SRID = "(SELECT CAST(:cell_srid AS integer))"
Q_RADIUS = "(SELECT CAST(:radius_m AS double precision))"
_Q_LANGS = "(SELECT CAST(:langs AS text[]))"

# The distance between the volunteer's cell centre and the request's, in the grid
# plane. For two points the index-order operator (<->) is exactly the Euclidean
# distance ST_Distance gives; it is also the walk's index order, and PostGIS declares
# it 20 times cheaper, which keeps the planner from thinking a filter or a sort on it
# worth parallel workers.
DISTANCE = geosql.nearest_first("v.cell_xy", Q_CELL)

# What the scoring reads, measured against the request (``distance_m`` is computed by
# each query: the walk has it from its index order). Skills, languages (unless one is
# required) and availability are preferences, scored, not filters: a request with a
# rare tag still reaches the best people who can come.
MEASURES = """
       CASE WHEN cardinality(CAST(:tags AS text[])) = 0 THEN 0
            ELSE cardinality(ARRAY(SELECT unnest(v.skill_tags)
                                   INTERSECT SELECT unnest(CAST(:tags AS text[]))))
       END AS skill_overlap,
       COALESCE((SELECT sum(upper(r) - lower(r))
                 FROM unnest(v.availability * CAST(:slots AS int4multirange)) AS r), 0)
           AS available_minutes,
       (cardinality(CAST(:langs AS text[])) = 0 OR v.languages && CAST(:langs AS text[]))
           AS language_match,
       v.last_proposed_at, v.completed_count, v.no_show_count
"""

# The hard filters, but the category, the zone, the distances and the account's
# status, which each query places where its plan needs them. A volunteer is never
# asked twice about the same request: a proposition that went with a pause, a
# withdrawal or an expiry counts too (else pausing and un-pausing would replay the
# search). Only the propositions withdrawn because the places were filled may be
# made again, when a place reopens.
# The people the author blocked or who blocked the author, and those already asked,
# are read once per query (two small index lookups, uncorrelated sub-selects that
# run once) and compared as arrays: a few ids, whatever the number of rows checked.
FILTERS = f"""
  (NOT (SELECT CAST(:language_required AS boolean)) OR v.languages && {_Q_LANGS})
  AND NOT v.paused
  AND v.user_id <> CAST(:author_id AS bigint)
  AND v.active_matches < v.max_active_matches
  AND (v.last_matched_at IS NULL OR v.last_matched_at <= CAST(:cooldown_before AS timestamptz))
  AND (NOT CAST(:sensitive AS boolean)
       OR (v.id_checked_at IS NOT NULL
           AND v.record_extract_date >= CAST(:record_valid_since AS date)))
  AND v.user_id <> ALL (ARRAY(
        SELECT b.blocked_id FROM blocks b WHERE b.blocker_id = CAST(:author_id AS bigint)
        UNION ALL
        SELECT b.blocker_id FROM blocks b WHERE b.blocked_id = CAST(:author_id AS bigint)))
  AND v.user_id <> ALL (ARRAY(
        SELECT m.volunteer_id FROM matches m
        WHERE m.post_id = CAST(:post_id AS bigint)
          AND (m.status <> 'withdrawn' OR m.close_reason IS DISTINCT FROM '{PLACES_FILLED}')))
"""

# The columns the walk carries from the index scan to the filters and the measures.
_WALKED = """w.user_id, w.reach_m, w.skill_tags, w.languages, w.availability, w.paused,
           w.active_matches, w.max_active_matches, w.last_matched_at, w.id_checked_at,
           w.record_extract_date, w.last_proposed_at, w.completed_count, w.no_show_count"""


def index_predicate(category: str, sensitive: bool, alias: str = "v") -> str:
    """The partial-index predicate of the category's index (sql/0010), or of its
    vetted volunteers' index for a sensitive request (sql/0012), spelled as literals so
    the planner can use that index. ``category`` must be one of the fixed categories.
    (The full vetting check, ID included, is among the filters.)"""
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    predicate = f"{alias}.categories @> '{{{category}}}'"
    if sensitive:
        predicate += f" AND {alias}.record_extract_date IS NOT NULL"
    return predicate


def walk_sql(category: str, sensitive: bool, walk_rows: int | None = None) -> str:
    """Phase 1: walk the category's index nearest cell first and stop as soon as the
    ``:window`` nearest that pass every filter are found (whole rings).

    The walk is one pipeline, read lazily from the top: the inner index scan yields
    volunteers in cell-distance order, each is filtered as it comes, and the outer
    ``FETCH FIRST … WITH TIES`` stops the scan once its window and last ring are full.
    The outer ORDER BY names the inner distance column, so the planner keeps the
    index order (no Sort node, which would read everything first). ``walk_rows`` caps
    the scan (plus the rest of its last ring) for requests that few volunteers pass;
    it is a literal, and the radius is checked above the scan rather than inside it,
    so that no estimate — custom or generic plan, any radius — can turn the walk into
    a bitmap scan of the whole radius followed by a sort.

    Past the radius every row passes, flagged ``beyond``: where fewer than the window
    qualify within the radius, the walk stops a few rows past it instead of reading
    its whole budget, and a ``beyond`` row tells that the radius was read to its end
    (no sweep needed). Those rows are markers only, never candidates. (The account's
    status is read last, for the rows that passed everything else.)"""
    budget = WALK_ROWS if walk_rows is None else int(walk_rows)
    if budget < 1:
        raise ValueError("walk_rows must be positive")
    return f"""-- voisins: candidates.walk
SELECT v.user_id AS volunteer_id, v.distance_m, v.distance_m > {Q_RADIUS} AS beyond,
       {MEASURES}
FROM (
    SELECT {_WALKED},
           {geosql.nearest_first("w.cell_xy", Q_CELL)} AS distance_m
    FROM volunteers w
    WHERE {index_predicate(category, sensitive, "w")}
      AND w.cell_srid = {Q_SRID}
    ORDER BY {geosql.nearest_first("w.cell_xy", Q_CELL)}
    FETCH FIRST {budget} ROWS WITH TIES
) AS v
WHERE v.distance_m > {Q_RADIUS}
   OR (v.distance_m <= v.reach_m AND {FILTERS}
       AND (SELECT u.status FROM users u WHERE u.id = v.user_id) = 'active')
ORDER BY v.distance_m
FETCH FIRST (SELECT CAST(:window AS integer)) ROWS WITH TIES
"""


def sweep_sql(category: str, sensitive: bool) -> str:
    """Phase 2, for requests that few volunteers can answer: every filter at once over
    the whole radius, nearest cells first (whole rings). The planner, blind to the
    values (see ``Q_CELL``), scans the category's index nearest first within the
    radius's box and stops once the window and its last ring are full; only when
    fewer than the window pass in the whole radius does it read all of it.

    A required language stays a filter here: with the languages' GIN index the
    planner would intersect two bitmaps over the whole radius (for French, 98 % of
    volunteers: 170-230 ms at 1M), where the nearest-first scan stops after
    window ÷ share rows (3,000 for a language 1 % speak)."""
    return f"""-- voisins: candidates.sweep
SELECT v.user_id AS volunteer_id, {DISTANCE} AS distance_m, false AS beyond, {MEASURES}
FROM volunteers v JOIN users u ON u.id = v.user_id
WHERE {index_predicate(category, sensitive)}
  AND {geosql.within_m("v.cell_xy", Q_CELL, Q_RADIUS)}
  AND v.cell_srid = {Q_SRID}
  AND {DISTANCE} <= v.reach_m
  AND u.status = 'active'
  AND {FILTERS}
ORDER BY distance_m
FETCH FIRST (SELECT CAST(:window AS integer)) ROWS WITH TIES
"""


# Most rows the first phase may walk (plus the rest of its last ring) before it gives
# up and the sweep runs; a typical request stops long before (at its window).
WALK_ROWS = 600


def candidate_query_sql(
    request: Request, *, radius_m: int, window: int, now: datetime, cooldown_s: int
) -> tuple[str, dict[str, Any]]:
    """The first query ``find_candidates`` sends for this request (the walk, or the
    sweep when a language is required) and its parameters; the benchmark EXPLAINs it."""
    params = query_params(request, radius_m=radius_m, window=window, now=now, cooldown_s=cooldown_s)
    if params["language_required"]:
        return sweep_sql(request.category, request.sensitive), params
    return walk_sql(request.category, request.sensitive), params


def query_params(
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
    }


def features_of(rows: Sequence[Any], request: Request) -> list[Features]:
    """The scoring's inputs, one per candidate row (columns in the order the queries
    select them; the walk's markers from beyond the radius are left out); the
    request's own figures are computed once."""
    post_skills, post_minutes = len(request.skill_tags), request.minutes
    return [
        Features(
            volunteer_id=volunteer_id,
            distance_m=float(distance_m),
            skill_overlap=skill_overlap,
            post_skills=post_skills,
            available_minutes=int(available_minutes),
            post_minutes=post_minutes,
            language_match=language_match,
            last_proposed_at=last_proposed_at,
            completed=completed,
            no_shows=no_shows,
        )
        for (
            volunteer_id,
            distance_m,
            beyond,
            skill_overlap,
            available_minutes,
            language_match,
            last_proposed_at,
            completed,
            no_shows,
        ) in rows
        if not beyond
    ]


@lru_cache(maxsize=64)
def _walk(category: str, sensitive: bool, walk_rows: int) -> TextClause:
    return text(walk_sql(category, sensitive, walk_rows))


@lru_cache(maxsize=64)
def _sweep(category: str, sensitive: bool) -> TextClause:
    return text(sweep_sql(category, sensitive))


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

    Phase 1 walks the volunteers of the category nearest cells first, until the
    window is full or ``walk_rows`` were read; when that gave fewer than ``enough``,
    phase 2 sweeps the whole radius with every filter. A request that needs a
    language goes to the sweep at once. Both depend on public cells only."""
    params = query_params(request, radius_m=radius_m, window=window, now=now, cooldown_s=cooldown_s)
    sweep = _sweep(request.category, request.sensitive)
    if params["language_required"]:
        # A required language may be spoken by most (French) or by 1 % of the
        # volunteers: the walk would often spend its budget for a few of them and
        # the sweep run anyway. The sweep alone stops at its window as soon as the
        # walk would when the language is common.
        return features_of((await conn.execute(sweep, params)).all(), request)
    walk = _walk(request.category, request.sensitive, walk_rows)
    rows = (await conn.execute(walk, params)).all()
    found = features_of(rows, request)
    # The walk's candidates suffice when they fill the batch (``enough``); scoring then
    # picks among them. Fewer, and no row from beyond the radius, means the walk spent
    # its budget inside the radius: only then is the whole radius swept.
    if len(found) < (enough or window) and not any(row.beyond for row in rows):
        found = features_of((await conn.execute(sweep, params)).all(), request)
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
