"""Proposing volunteers for a request, batch after batch, then wider, then the
centre's follow-up list — never a silent dead end.

Everything runs in the caller's transaction: match rows, the post's escalation state
and the outbox row that asks for notifications commit together or not at all.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.accounts.volunteer import RECORD_VALIDITY
from voisins.db import once_more_if_crossed
from voisins.geo import sql as geosql
from voisins.matching.candidates import (
    Request,
    find_candidates,
    find_open_requests,
)
from voisins.matching.scoring import Features, Score, ranked, score, total
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


LOAD_REQUEST = f"""
SELECT p.id, p.author_id, p.kind, p.status, p.category, p.skill_tags, p.languages, p.slots,
       p.language_required, p.sensitive, p.volunteers_needed, p.reach_m, p.match_batch,
       p.match_radius_m, p.match_exhausted_at, p.cell_srid, {geosql.x_y("p.cell_xy", "cell_")},
       (SELECT count(*) FROM matches m
        WHERE m.post_id = p.id AND match_holds_place(m.status)) AS held
FROM posts p WHERE p.id = :id FOR UPDATE OF p
"""


def request_of(row: Any) -> Request:
    return Request(
        post_id=row.id,
        author_id=row.author_id,
        category=row.category,
        skill_tags=list(row.skill_tags),
        languages=list(row.languages),
        language_required=row.language_required,
        slots=list(row.slots),
        sensitive=row.sensitive,
        cell_srid=row.cell_srid,
        cell_x=row.cell_x,
        cell_y=row.cell_y,
    )


class Chosen(msgspec.Struct, frozen=True):
    """One proposition to write: who, for which request, how they scored."""

    post_id: int
    volunteer_id: int
    sensitive: bool
    features: Features
    score: Score


async def insert_proposals(
    conn: AsyncConnection,
    chosen: list[Chosen],
    *,
    batch: int,
    deadline: datetime,
    now: datetime,
    offer_id: int | None = None,
) -> None:
    """Write the propositions and mark the volunteers as just asked.

    Rows go in by volunteer id, so that match ids say nothing of the ranking. The
    volunteers are locked in id order first: concurrent publications asking the same
    people then queue instead of deadlocking."""
    chosen = sorted(chosen, key=lambda c: (c.volunteer_id, c.post_id))
    volunteer_ids = sorted({c.volunteer_id for c in chosen})
    await conn.execute(
        text(
            "SELECT 1 FROM volunteers WHERE user_id = ANY(CAST(:ids AS bigint[])) "
            "ORDER BY user_id FOR NO KEY UPDATE"
        ),
        {"ids": volunteer_ids},
    )
    await conn.execute(
        text(
            """
            INSERT INTO matches (post_id, volunteer_id, offer_id, batch, sensitive, score,
                                 score_breakdown, distance_m, proposed_at, deadline_at)
            SELECT u.post_id, u.volunteer_id, CAST(:offer_id AS bigint),
                   CAST(:batch AS smallint), u.sensitive, u.score,
                   CAST(u.breakdown AS jsonb), u.distance_m, CAST(:now AS timestamptz),
                   CAST(:deadline AS timestamptz)
            FROM unnest(CAST(:posts AS bigint[]), CAST(:volunteers AS bigint[]),
                        CAST(:sensitive AS boolean[]), CAST(:scores AS real[]),
                        CAST(:breakdowns AS text[]), CAST(:distances AS integer[]))
                 AS u(post_id, volunteer_id, sensitive, score, breakdown, distance_m)
            """
        ),
        {
            "offer_id": offer_id,
            "batch": batch,
            "now": now,
            "deadline": deadline,
            "posts": [c.post_id for c in chosen],
            "volunteers": [c.volunteer_id for c in chosen],
            "sensitive": [c.sensitive for c in chosen],
            "scores": [c.score.total for c in chosen],
            "breakdowns": [msgspec.json.encode(c.score.components).decode() for c in chosen],
            "distances": [round(c.features.distance_m) for c in chosen],
        },
    )
    await conn.execute(
        text("UPDATE volunteers SET last_proposed_at = :now WHERE user_id = ANY(:ids)"),
        {"now": now, "ids": volunteer_ids},
    )


async def to_followup(conn: AsyncConnection, post_id: int, now: datetime) -> None:
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
    # The author (or the social workers acting for them) is told too, not left waiting.
    await emit(conn, "post.unanswered", post_id=post_id)


def next_step(batch: int, base_m: int, settings: Settings) -> tuple[int, int] | None:
    """(batch number, radius) of the next batch, or None when the search is exhausted:
    ``match_max_batches`` batches at the request's radius, then one at a radius widened
    by ``match_widen_factor`` (at most 20 km)."""
    if batch < settings.match_max_batches:
        return batch + 1, base_m
    # Whole kilometres, like every radius the matcher compares (candidates.py).
    wider = min(MAX_RADIUS_M, math.ceil(base_m * settings.match_widen_factor / 1000) * 1000)
    if batch == settings.match_max_batches and wider > base_m:
        return batch + 1, wider
    return None


async def match_request(
    conn: AsyncConnection,
    post_id: int,
    settings: Settings,
    *,
    now: datetime,
    reopened: bool = False,
) -> MatchOutcome:
    """Propose the next batch for a published request: search, score, write.

    The first call proposes at the request's own radius. Each later call (after a
    deadline, a refusal or a cancellation) proposes the next best at the same radius
    until ``match_max_batches`` batches went out, then once more at a radius widened by
    ``match_widen_factor`` (at most 20 km); when even that finds nobody, the request
    goes to its centre's follow-up list.

    ``reopened``: a place opened again (a cancellation, a rejected match) on a request
    that had its answer. Nobody new nearby right now is then no reason to file it as
    unanswered: the first batch waits for its deadline like any other, and the
    escalation goes on from there (cooldowns end, new volunteers join).
    """
    row = (await conn.execute(text(LOAD_REQUEST), {"id": post_id})).first()
    if row is None or row.kind != "request" or row.status != "published":
        return MatchOutcome(post_id, 0, 0, [])
    if row.match_exhausted_at is not None:
        return MatchOutcome(post_id, row.match_batch, row.match_radius_m or 0, [], followup=True)
    remaining = row.volunteers_needed - row.held
    if remaining <= 0:
        return MatchOutcome(post_id, row.match_batch, row.match_radius_m or 0, [])
    request = request_of(row)
    base = row.reach_m
    batch = row.match_batch
    size = settings.match_batch_per_needed * remaining
    deadline = now + timedelta(seconds=settings.match_deadline_s)
    while True:
        step = next_step(batch, base, settings)
        if step is None:
            await to_followup(conn, post_id, now)
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
        if reopened:
            await _schedule_batch(conn, post_id, batch, radius, deadline)
            return MatchOutcome(post_id, batch, radius, [])
        if radius == base:
            # Nobody new at this radius: later batches here would find nobody either.
            batch = max(batch, settings.match_max_batches)
    by_id = {f.volunteer_id: f for f in found}
    best = ranked(post_id, {vid: total(f, settings, now) for vid, f in by_id.items()})[:size]
    await insert_proposals(
        conn,
        [
            Chosen(post_id, vid, row.sensitive, by_id[vid], score(by_id[vid], settings, now))
            for vid in best
        ],
        batch=batch,
        deadline=deadline,
        now=now,
    )
    await _schedule_batch(conn, post_id, batch, radius, deadline)
    await emit(conn, "match.proposed", post_id=post_id, batch=batch)
    return MatchOutcome(post_id, batch, radius, sorted(best))


async def _schedule_batch(
    conn: AsyncConnection, post_id: int, batch: int, radius: int, deadline: datetime
) -> None:
    """Record the batch just run; the escalation takes the request up at its deadline."""
    await conn.execute(
        text(
            "UPDATE posts SET match_batch = :batch, match_radius_m = :radius, "
            "match_deadline_at = :deadline WHERE id = :id"
        ),
        {"batch": batch, "radius": radius, "deadline": deadline, "id": post_id},
    )


async def match_offer(
    conn: AsyncConnection, offer_id: int, settings: Settings, *, now: datetime
) -> MatchOutcome:
    """A published offer looks for open requests nearby in its category: each one
    becomes a proposition to the offer's author, and each request's author hears
    that someone nearby offers this kind of help."""
    row = (await conn.execute(text(LOAD_REQUEST), {"id": offer_id})).first()
    if row is None or row.kind != "offer" or row.status != "published":
        return MatchOutcome(offer_id, 0, 0, [])
    offer = request_of(row)
    vetted = bool(
        (
            await conn.execute(
                text(
                    "SELECT id_checked_at IS NOT NULL AND record_extract_date >= :since "
                    "FROM volunteers WHERE user_id = :id"
                ),
                {"id": row.author_id, "since": (now - RECORD_VALIDITY).date()},
            )
        ).scalar()
    )
    window = settings.match_batch_per_needed
    found = await find_open_requests(
        conn, offer, radius_m=row.reach_m, window=window, vetted=vetted, now=now
    )
    scores = {}
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
        scores[request.post_id] = (request, features, score(features, settings, now))
    best = ranked(offer_id, {pid: s.total for pid, (_, _, s) in scores.items()})[:window]
    if not best:
        return MatchOutcome(offer_id, 1, row.reach_m, [])
    deadline = now + timedelta(seconds=settings.match_deadline_s)
    chosen = [
        Chosen(pid, row.author_id, scores[pid][0].sensitive, scores[pid][1], scores[pid][2])
        for pid in best
    ]
    await insert_proposals(conn, chosen, batch=1, deadline=deadline, now=now, offer_id=offer_id)
    await emit(conn, "match.offer_proposed", post_id=offer_id)
    for pid in sorted(best):
        await emit(conn, "post.offer_nearby", post_id=pid, offer_id=offer_id)
    return MatchOutcome(offer_id, 1, row.reach_m, sorted(best))


async def match_post(
    conn: AsyncConnection, post_id: int, settings: Settings, *, now: datetime
) -> MatchOutcome:
    """Run the matcher for a just-published post, whichever its kind. Many publications
    at one spot ask the same volunteers at once: a crossing the lock order did not
    foresee is run once more rather than failing the publication."""
    kind = (
        await conn.execute(text("SELECT kind FROM posts WHERE id = :id"), {"id": post_id})
    ).scalar()
    if kind == "offer":
        return await once_more_if_crossed(
            conn, lambda: match_offer(conn, post_id, settings, now=now)
        )
    return await once_more_if_crossed(conn, lambda: match_request(conn, post_id, settings, now=now))


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
