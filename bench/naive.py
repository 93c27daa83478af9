"""The reference to beat: the plain ``ST_DWithin`` + ``ORDER BY ST_Distance`` matcher.

Same data, same filters, same scoring and the same writes as the engine
(``voisins.matching.engine.match_request``); only the candidate search differs. The
plain form makes PostgreSQL fetch every volunteer within the request's radius (the
GiST index only answers the bounding-box part of ``ST_DWithin``), check the filters
on each of them, compute the spheroid distance and sort the survivors, so its cost
grows with the number of volunteers in the circle. It makes a single pass at the
request's radius (no widening), which can only flatter it.

The WHERE clause below is kept in step with ``voisins.matching.candidates`` by hand
(the parameters are the ones ``candidate_query_sql`` returns, so a renamed parameter
fails loudly); ``bench.match`` also checks that both queries return the same
volunteers for every request and reports the share that agree.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.matching.candidates import Request, candidate_query_sql
from voisins.matching.scoring import Features, score
from voisins.settings import Settings

POINT = (
    "CAST(ST_SetSRID(ST_MakePoint(CAST(:lon AS double precision), "
    "CAST(:lat AS double precision)), 4326) AS geography)"
)

# Every filter of the engine's candidate query except the spatial ones.
FILTERS = """
      v.categories @> ARRAY[CAST(:category AS text)]
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
  AND NOT EXISTS (SELECT 1 FROM blocks b
                  WHERE (b.blocker_id = CAST(:author_id AS bigint) AND b.blocked_id = v.user_id)
                     OR (b.blocker_id = v.user_id AND b.blocked_id = CAST(:author_id AS bigint)))
  AND NOT EXISTS (SELECT 1 FROM matches m
                  WHERE m.post_id = CAST(:post_id AS bigint) AND m.volunteer_id = v.user_id
                    AND m.status <> 'withdrawn')
"""

NAIVE_SQL = f"""
SELECT v.user_id AS volunteer_id,
       ST_Distance(v.geog, {POINT}) AS distance_m,
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
WHERE ST_DWithin(v.geog, {POINT}, CAST(:radius_m AS double precision))
  AND ST_DWithin(v.geog, {POINT}, v.radius_m)
  AND {FILTERS}
ORDER BY ST_Distance(v.geog, {POINT})
LIMIT CAST(:window AS integer)
"""

LOAD_SQL = """
SELECT p.id, p.author_id, p.category, p.skill_tags, p.languages, p.slots, p.sensitive,
       p.volunteers_needed, p.search_radius_m, p.match_batch,
       ST_X(p.point) AS lon, ST_Y(p.point) AS lat,
       (SELECT count(*) FROM matches m
        WHERE m.post_id = p.id AND match_holds_place(m.status)) AS held
FROM posts p WHERE p.id = :id FOR UPDATE OF p
"""

INSERT_SQL = """
INSERT INTO matches (post_id, volunteer_id, batch, sensitive, score, score_breakdown,
                     distance_m, proposed_at, deadline_at)
SELECT CAST(:post_id AS bigint), u.volunteer_id, CAST(:batch AS smallint),
       CAST(:sensitive AS boolean), u.score, CAST(u.breakdown AS jsonb), u.distance_m,
       CAST(:now AS timestamptz), CAST(:deadline AS timestamptz)
FROM unnest(CAST(:volunteers AS bigint[]), CAST(:scores AS real[]),
            CAST(:breakdowns AS text[]), CAST(:distances AS integer[]))
     AS u(volunteer_id, score, breakdown, distance_m)
"""


def request_of(row: Any) -> Request:
    return Request(
        post_id=row.id,
        author_id=row.author_id,
        category=row.category,
        skill_tags=list(row.skill_tags),
        languages=list(row.languages),
        slots=list(row.slots),
        sensitive=row.sensitive,
        lon=row.lon,
        lat=row.lat,
    )


async def load_request(conn: AsyncConnection, post_id: int) -> tuple[Request, Any]:
    row = (await conn.execute(text(LOAD_SQL), {"id": post_id})).one()
    return request_of(row), row


def search_params(
    request: Request, row: Any, settings: Settings, now: datetime, window_factor: int
) -> dict[str, Any]:
    """The parameters the engine's first batch uses for this request, plus the
    category (the engine may spell it as a literal in its SQL; the naive query binds
    it)."""
    size = settings.match_batch_per_needed * (row.volunteers_needed - row.held)
    _, params = candidate_query_sql(
        request,
        radius_m=row.search_radius_m,
        window=size * window_factor,
        now=now,
        cooldown_s=settings.match_cooldown_s,
    )
    return {**params, "category": request.category}


def bind(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters ``sql`` names (the engine may add its own, e.g. a walk budget)."""
    return {k: v for k, v in params.items() if f":{k}" in sql}


async def naive_match(
    conn: AsyncConnection,
    post_id: int,
    settings: Settings,
    *,
    now: datetime,
    window_factor: int,
) -> int:
    """Load, search the plain way, score, write proposals + outbox; return how many."""
    request, row = await load_request(conn, post_id)
    params = search_params(request, row, settings, now, window_factor)
    rows = (await conn.execute(text(NAIVE_SQL), bind(NAIVE_SQL, params))).all()
    size = settings.match_batch_per_needed * (row.volunteers_needed - row.held)
    found = [
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
    chosen = sorted(
        ((f, score(f, settings, now)) for f in found),
        key=lambda pair: (-pair[1].total, pair[0].distance_m, pair[0].volunteer_id),
    )[:size]
    if not chosen:
        return 0
    deadline = now + timedelta(seconds=settings.match_deadline_s)
    await conn.execute(
        text(INSERT_SQL),
        {
            "post_id": post_id,
            "batch": row.match_batch + 1,
            "sensitive": row.sensitive,
            "now": now,
            "deadline": deadline,
            "volunteers": [f.volunteer_id for f, _ in chosen],
            "scores": [s.total for _, s in chosen],
            "breakdowns": [msgspec.json.encode(s.components).decode() for _, s in chosen],
            "distances": [round(f.distance_m) for f, _ in chosen],
        },
    )
    await conn.execute(
        text("UPDATE volunteers SET last_proposed_at = :now WHERE user_id = ANY(:ids)"),
        {"now": now, "ids": [f.volunteer_id for f, _ in chosen]},
    )
    await conn.execute(
        text(
            "UPDATE posts SET match_batch = :batch, match_radius_m = :radius, "
            "match_deadline_at = :deadline WHERE id = :id"
        ),
        {
            "batch": row.match_batch + 1,
            "radius": row.search_radius_m,
            "deadline": deadline,
            "id": post_id,
        },
    )
    await conn.execute(
        text("INSERT INTO outbox (topic, payload) VALUES ('match.proposed', CAST(:p AS jsonb))"),
        {"p": msgspec.json.encode({"post_id": post_id, "batch": row.match_batch + 1}).decode()},
    )
    return len(chosen)
