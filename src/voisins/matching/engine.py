"""Proposing volunteers for a request, batch after batch, then wider, then the
centre's follow-up list — never a silent dead end.

Everything runs in the caller's transaction: match rows, the post's escalation state
and the outbox row that asks for notifications commit together or not at all.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.geo import sql as geosql
from voisins.matching.candidates import (
    Request,
    find_candidates,
    find_open_requests,
)
from voisins.matching.scoring import Features, score
from voisins.outbox import emit
from voisins.settings import Settings

MAX_RADIUS_M = 20_000
# Candidates fetched per proposal to make: scoring may prefer a slightly farther,
# better-suited volunteer to the nearest one.
WINDOW_FACTOR = 3


class MatchOutcome(msgspec.Struct):
    post_id: int
    batch: int
    radius_m: int
    proposed: list[int]
    followup: bool = False


_LOAD = f"""
SELECT p.id, p.author_id, p.kind, p.status, p.category, p.skill_tags, p.languages, p.slots,
       p.sensitive, p.volunteers_needed, p.search_radius_m, p.match_batch, p.match_radius_m,
       p.match_exhausted_at, {geosql.lon_lat("p.point")},
       (SELECT count(*) FROM matches m
        WHERE m.post_id = p.id AND match_holds_place(m.status)) AS held
FROM posts p WHERE p.id = :id FOR UPDATE OF p
"""


def _request(row: Any) -> Request:
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


async def _insert_proposals(
    conn: AsyncConnection,
    *,
    post_id: int,
    batch: int,
    sensitive: bool,
    chosen: list[tuple[Features, Any]],
    deadline: datetime,
    now: datetime,
    offer_id: int | None = None,
) -> None:
    await conn.execute(
        text(
            """
            INSERT INTO matches (post_id, volunteer_id, offer_id, batch, sensitive, score,
                                 score_breakdown, distance_m, proposed_at, deadline_at)
            SELECT CAST(:post_id AS bigint), u.volunteer_id, CAST(:offer_id AS bigint),
                   CAST(:batch AS smallint), CAST(:sensitive AS boolean), u.score,
                   CAST(u.breakdown AS jsonb), u.distance_m, CAST(:now AS timestamptz),
                   CAST(:deadline AS timestamptz)
            FROM unnest(CAST(:volunteers AS bigint[]), CAST(:scores AS real[]),
                        CAST(:breakdowns AS text[]), CAST(:distances AS integer[]))
                 AS u(volunteer_id, score, breakdown, distance_m)
            """
        ),
        {
            "post_id": post_id,
            "offer_id": offer_id,
            "batch": batch,
            "sensitive": sensitive,
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


async def _to_followup(conn: AsyncConnection, post_id: int, now: datetime) -> None:
    """Nobody can be found: the covering centres (or the admins) reach out instead."""
    await conn.execute(
        text(
            """
            INSERT INTO followups (post_id, centre_id, reason)
            SELECT :post_id, pc.centre_id, 'no_response' FROM post_centres pc
            WHERE pc.post_id = :post_id
            UNION ALL
            SELECT :post_id, NULL, 'no_response'
            WHERE NOT EXISTS (SELECT 1 FROM post_centres WHERE post_id = :post_id)
            ON CONFLICT DO NOTHING
            """
        ),
        {"post_id": post_id},
    )
    await conn.execute(
        text("UPDATE posts SET match_exhausted_at = :now, match_deadline_at = NULL WHERE id = :id"),
        {"now": now, "id": post_id},
    )
    await emit(conn, "post.no_response", post_id=post_id)


def next_step(batch: int, base_m: int, settings: Settings) -> tuple[int, int] | None:
    """(batch number, radius) of the next batch, or None when the search is exhausted:
    ``match_max_batches`` batches at the request's radius, then one at a radius widened
    by ``match_widen_factor`` (at most 20 km)."""
    if batch < settings.match_max_batches:
        return batch + 1, base_m
    wider = min(MAX_RADIUS_M, round(base_m * settings.match_widen_factor))
    if batch == settings.match_max_batches and wider > base_m:
        return batch + 1, wider
    return None


async def match_request(
    conn: AsyncConnection, post_id: int, settings: Settings, *, now: datetime
) -> MatchOutcome:
    """Propose the next batch for a published request: search, score, write.

    The first call proposes at the request's own radius. Each later call (after a
    deadline, a refusal or a cancellation) proposes the next best at the same radius
    until ``match_max_batches`` batches went out, then once more at a radius widened by
    ``match_widen_factor`` (at most 20 km); when even that finds nobody, the request
    goes to its centre's follow-up list.
    """
    row = (await conn.execute(text(_LOAD), {"id": post_id})).first()
    if row is None or row.kind != "request" or row.status != "published":
        return MatchOutcome(post_id, 0, 0, [])
    if row.match_exhausted_at is not None:
        return MatchOutcome(post_id, row.match_batch, row.match_radius_m or 0, [], followup=True)
    remaining = row.volunteers_needed - row.held
    if remaining <= 0:
        return MatchOutcome(post_id, row.match_batch, row.match_radius_m or 0, [])
    request = _request(row)
    base = row.search_radius_m
    batch = row.match_batch
    size = settings.match_batch_per_needed * remaining
    while True:
        step = next_step(batch, base, settings)
        if step is None:
            await _to_followup(conn, post_id, now)
            return MatchOutcome(post_id, batch, row.match_radius_m or base, [], followup=True)
        batch, radius = step
        found = await find_candidates(
            conn,
            request,
            radius_m=radius,
            window=size * WINDOW_FACTOR,
            now=now,
            cooldown_s=settings.match_cooldown_s,
            enough=size,
        )
        if found:
            break
        if radius == base:
            # Nobody new at this radius: later batches here would find nobody either.
            batch = max(batch, settings.match_max_batches)
    scored = sorted(
        ((f, score(f, settings, now)) for f in found),
        key=lambda pair: (-pair[1].total, pair[0].distance_m, pair[0].volunteer_id),
    )[:size]
    deadline = now + timedelta(seconds=settings.match_deadline_s)
    await _insert_proposals(
        conn,
        post_id=post_id,
        batch=batch,
        sensitive=row.sensitive,
        chosen=scored,
        deadline=deadline,
        now=now,
    )
    await conn.execute(
        text(
            "UPDATE posts SET match_batch = :batch, match_radius_m = :radius, "
            "match_deadline_at = :deadline WHERE id = :id"
        ),
        {"batch": batch, "radius": radius, "deadline": deadline, "id": post_id},
    )
    await emit(conn, "match.proposed", post_id=post_id, batch=batch)
    return MatchOutcome(post_id, batch, radius, [f.volunteer_id for f, _ in scored])


async def match_offer(
    conn: AsyncConnection, offer_id: int, settings: Settings, *, now: datetime
) -> MatchOutcome:
    """A published offer looks for open requests nearby in its category; each one
    becomes a proposition to the offer's author."""
    row = (await conn.execute(text(_LOAD), {"id": offer_id})).first()
    if row is None or row.kind != "offer" or row.status != "published":
        return MatchOutcome(offer_id, 0, 0, [])
    offer = _request(row)
    vetted = bool(
        (
            await conn.execute(
                text(
                    "SELECT id_checked_at IS NOT NULL AND record_extract_date >= :since "
                    "FROM volunteers WHERE user_id = :id"
                ),
                {"id": row.author_id, "since": (now - timedelta(days=3 * 365)).date()},
            )
        ).scalar()
    )
    found = await find_open_requests(
        conn,
        offer,
        radius_m=row.search_radius_m,
        window=settings.match_batch_per_needed,
        vetted=vetted,
        now=now,
    )
    deadline = now + timedelta(seconds=settings.match_deadline_s)
    proposed = []
    for request in found:
        features = Features(
            volunteer_id=row.author_id,
            distance_m=request.distance_m,
            skill_overlap=request.skill_overlap,
            post_skills=request.post_skills,
            available_minutes=request.available_minutes,
            post_minutes=request.post_minutes,
            language_match=request.language_match,
            last_proposed_at=None,
            completed=0,
            no_shows=0,
        )
        sensitive = (
            await conn.execute(
                text("SELECT sensitive FROM posts WHERE id = :id"), {"id": request.post_id}
            )
        ).scalar_one()
        await _insert_proposals(
            conn,
            post_id=request.post_id,
            batch=1,
            sensitive=sensitive,
            chosen=[(features, score(features, settings, now))],
            deadline=deadline,
            now=now,
            offer_id=offer_id,
        )
        proposed.append(request.post_id)
    if proposed:
        await emit(conn, "match.offer_proposed", post_id=offer_id, requests=json.dumps(proposed))
    return MatchOutcome(offer_id, 1, row.search_radius_m, proposed)


async def match_post(
    conn: AsyncConnection, post_id: int, settings: Settings, *, now: datetime
) -> MatchOutcome:
    """Run the matcher for a just-published post, whichever its kind."""
    kind = (
        await conn.execute(text("SELECT kind FROM posts WHERE id = :id"), {"id": post_id})
    ).scalar()
    if kind == "offer":
        return await match_offer(conn, post_id, settings, now=now)
    return await match_request(conn, post_id, settings, now=now)


async def escalate_due(
    conn: AsyncConnection, settings: Settings, *, now: datetime, limit: int = 100
) -> list[MatchOutcome]:
    """Requests whose batch deadline passed: expire the unanswered propositions, then
    propose the next batch (or widen, or hand over to the follow-up list)."""
    await conn.execute(
        text(
            "UPDATE matches SET status = 'expired', closed_at = :now "
            "WHERE status = 'proposed' AND deadline_at <= :now"
        ),
        {"now": now},
    )
    due = (
        await conn.execute(
            text(
                """
                SELECT id FROM posts
                WHERE status = 'published' AND kind = 'request' AND match_exhausted_at IS NULL
                  AND match_deadline_at <= :now
                ORDER BY match_deadline_at LIMIT :limit
                FOR UPDATE SKIP LOCKED
                """
            ),
            {"now": now, "limit": limit},
        )
    ).scalars()
    outcomes = []
    for post_id in list(due):
        outcomes.append(await match_request(conn, post_id, settings, now=now))
    return outcomes
