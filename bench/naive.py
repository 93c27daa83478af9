"""The reference to beat: the plain ``ST_DWithin`` + ``ORDER BY ST_Distance`` matcher.

Same data, same job, same public-cell rules as the engine
(``voisins.matching.engine.match_request``); only the candidate search differs. The
naive search is the query a developer writes first: every filter in one WHERE clause,
the category as a bound parameter, the radius as ``ST_DWithin`` on the public cell
centres (``cell_xy``, which the all-volunteers GiST index ``volunteers_cell`` serves),
then ``ORDER BY ST_Distance(cell_xy, cell)``. PostgreSQL fetches every volunteer whose
cell lies within the request's radius, checks the filters on each of them and sorts
the survivors, so its cost grows with the number of volunteers in the circle. Its
only concession to the engine is the cut: ``FETCH FIRST n ROWS WITH TIES`` on the
cell distance, because the privacy rule (whole rings of cells, never half a cell)
decides what the right answer is, and both must return the same answer.

The load, the scoring (``scoring.total``, the seeded ``scoring.ranked``, then
``scoring.score`` for the chosen) and the writes (lock, matches, ``last_proposed_at``,
the post, the outbox row) are the engine's own functions, called the same way, so the
two differ in the search only.
It makes a single pass at the request's radius (no widening), which can only flatter
it.

The WHERE clause is written here by hand, independently of
``voisins.matching.candidates``; the parameters are the ones ``candidate_query_sql``
returns, so a renamed parameter fails loudly, and ``bench.match`` checks that both
return the same volunteers for every request (``same_candidates_as_naive``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.matching import engine
from voisins.matching.candidates import Request, candidate_query_sql
from voisins.matching.scoring import Features, ranked, score, total
from voisins.outbox import emit
from voisins.settings import Settings

# The request's public cell centre, in the grid plane (SRID 0, metres).
CELL = (
    "ST_SetSRID(ST_MakePoint(CAST(:cell_x AS double precision), "
    "CAST(:cell_y AS double precision)), 0)"
)

NAIVE_SQL = f"""-- bench: naive search
SELECT v.user_id AS volunteer_id,
       ST_Distance(v.cell_xy, {CELL}) AS distance_m,
       cardinality(ARRAY(SELECT unnest(v.skill_tags)
                         INTERSECT SELECT unnest(CAST(:tags AS text[])))) AS skill_overlap,
       COALESCE((SELECT sum(upper(r) - lower(r))
                 FROM unnest(v.availability * CAST(:slots AS int4multirange)) AS r), 0)
           AS available_minutes,
       (cardinality(CAST(:langs AS text[])) = 0 OR v.languages && CAST(:langs AS text[]))
           AS language_match,
       v.last_proposed_at, v.completed_count, v.no_show_count
FROM volunteers v
JOIN users u ON u.id = v.user_id
WHERE v.categories @> ARRAY[CAST(:category AS text)]
  AND v.cell_srid = CAST(:cell_srid AS integer)
  AND ST_DWithin(v.cell_xy, {CELL}, CAST(:radius_m AS double precision))
  AND ST_DWithin(v.cell_xy, {CELL}, v.reach_m)
  AND (NOT CAST(:language_required AS boolean) OR v.languages && CAST(:langs AS text[]))
  AND NOT v.paused
  AND u.status = 'active'
  AND v.user_id <> CAST(:author_id AS bigint)
  AND v.active_matches < v.max_active_matches
  AND (v.last_matched_at IS NULL OR v.last_matched_at <= CAST(:cooldown_before AS timestamptz))
  AND (NOT CAST(:sensitive AS boolean)
       OR (v.id_checked_at IS NOT NULL
           AND v.record_extract_date >= CAST(:record_valid_since AS date)))
  AND NOT EXISTS (SELECT 1 FROM blocks b
                  WHERE (b.blocker_id = CAST(:author_id AS bigint) AND b.blocked_id = v.user_id)
                     OR (b.blocker_id = v.user_id AND b.blocked_id = CAST(:author_id AS bigint)))
  AND NOT EXISTS (SELECT 1 FROM matches m
                  WHERE m.post_id = CAST(:post_id AS bigint) AND m.volunteer_id = v.user_id
                    AND (m.status <> 'withdrawn'
                         OR m.close_reason IS DISTINCT FROM 'places filled'))
ORDER BY ST_Distance(v.cell_xy, {CELL})
FETCH FIRST CAST(:window AS integer) ROWS WITH TIES
"""


async def load_request(conn: AsyncConnection, post_id: int) -> tuple[Request, Any]:
    """The engine's own load (the post row, locked), as ``match_request`` reads it."""
    row = (await conn.execute(text(engine.LOAD_REQUEST), {"id": post_id})).one()
    return engine.request_of(row), row


def batch_size(row: Any, settings: Settings) -> int:
    return settings.match_batch_per_needed * (row.volunteers_needed - row.held)


def search_params(
    request: Request, row: Any, settings: Settings, now: datetime, window_factor: int
) -> dict[str, Any]:
    """The parameters the engine's first batch uses for this request (its radius in
    whole kilometres), plus the category (the engine spells it as a literal in its
    SQL; the naive query binds it)."""
    _, params = candidate_query_sql(
        request,
        radius_m=row.reach_m,
        window=batch_size(row, settings) * window_factor,
        now=now,
        cooldown_s=settings.match_cooldown_s,
    )
    return {**params, "category": request.category}


def bind(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters ``sql`` names (the engine may add its own, e.g. a walk budget)."""
    return {k: v for k, v in params.items() if f":{k}" in sql}


async def naive_search(
    conn: AsyncConnection, request: Request, params: dict[str, Any]
) -> list[Features]:
    rows = (await conn.execute(text(NAIVE_SQL), bind(NAIVE_SQL, params))).all()
    return [
        Features(
            volunteer_id=r.volunteer_id,
            distance_m=float(r.distance_m),
            skill_overlap=r.skill_overlap,
            post_skills=len(request.skill_tags),
            available_minutes=int(r.available_minutes),
            post_minutes=request.minutes,
            language_match=r.language_match,
            last_proposed_at=r.last_proposed_at,
            completed=r.completed_count,
            no_shows=r.no_show_count,
        )
        for r in rows
    ]


async def naive_match(
    conn: AsyncConnection,
    post_id: int,
    settings: Settings,
    *,
    now: datetime,
    window_factor: int,
) -> tuple[int, set[int]]:
    """Load, search the plain way, score, write proposals + outbox; return how many
    were proposed and the candidates the search found (for the same-answer check).

    The first batch of ``engine.match_request``, step for step, with the naive search
    in place of ``find_candidates``."""
    request, row = await load_request(conn, post_id)
    params = search_params(request, row, settings, now, window_factor)
    found = await naive_search(conn, request, params)
    size = batch_size(row, settings)
    by_id = {f.volunteer_id: f for f in found}
    best = ranked(post_id, {vid: total(f, settings, now) for vid, f in by_id.items()})[:size]
    if not best:
        return 0, set(by_id)
    batch = row.match_batch + 1
    deadline = now + timedelta(seconds=settings.match_deadline_s)
    await engine.insert_proposals(
        conn,
        [
            engine.Chosen(post_id, vid, row.sensitive, by_id[vid], score(by_id[vid], settings, now))
            for vid in best
        ],
        batch=batch,
        deadline=deadline,
        now=now,
    )
    await conn.execute(
        text(
            "UPDATE posts SET match_batch = :batch, match_radius_m = :radius, "
            "match_deadline_at = :deadline WHERE id = :id"
        ),
        {"batch": batch, "radius": params["radius_m"], "deadline": deadline, "id": post_id},
    )
    await emit(conn, "match.proposed", post_id=post_id, batch=batch)
    return len(best), set(by_id)
