"""From the volunteer's side: a new or changed profile is offered the open requests
nearby that fit (issue 12). The job runs in the worker, from the outbox row the profile
change wrote (sql/0015); every rule is the request side's own (matching/engine.py loads
and writes the same way, candidates.py holds the filters)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.geo import sql as geosql
from voisins.matching.candidates import (
    DISTANCE,
    FILTERS,
    MEASURES,
    Q_CELL,
    Q_RADIUS,
    Q_SRID,
    features_of,
    index_predicate,
    query_params,
)
from voisins.matching.engine import LOAD_REQUEST, Chosen, insert_proposals, request_of
from voisins.matching.scoring import Features, ranked, score, total
from voisins.outbox import emit
from voisins.settings import Settings

PROFILE_CHANGED = "volunteer.profile_changed"
# Open requests looked at per profile change (nearest cells first, whole rings).
VOLUNTEER_SCAN = 50

_VOLUNTEER = f"""
SELECT v.user_id, v.categories, v.reach_m, v.paused, v.active_matches, v.max_active_matches,
       v.cell_srid, {geosql.x_y("v.cell_xy", "cell_")}, u.status
FROM volunteers v JOIN users u ON u.id = v.user_id
WHERE v.user_id = :id
"""

# The open requests that still want volunteers, whose radius (the current batch's,
# widened or not) reaches the volunteer's cell and which lie within the volunteer's own
# reach: cell centres and whole kilometres only, as in candidates.py.
_OPEN_NEAR_VOLUNTEER = f"""
SELECT p.id
FROM posts p
WHERE p.status = 'published' AND p.kind = 'request'
  AND p.cell_srid = CAST(:cell_srid AS integer)
  AND {geosql.within_m("p.cell_xy", Q_CELL, "CAST(:reach_m AS double precision)")}
  AND {geosql.within_m("p.cell_xy", Q_CELL, "GREATEST(p.reach_m, COALESCE(p.match_radius_m, 0))")}
  AND p.category = ANY(CAST(:categories AS text[]))
  AND p.expires_at > CAST(:now AS timestamptz)
  AND (SELECT count(*) FROM matches m
       WHERE m.post_id = p.id AND match_holds_place(m.status)) < p.volunteers_needed
ORDER BY {geosql.nearest_first("p.cell_xy", Q_CELL)}
FETCH FIRST CAST(:scan AS integer) ROWS WITH TIES
"""


def volunteer_check_sql(category: str, sensitive: bool) -> str:
    """Whether one volunteer passes a request's search, and their measures: the sweep of
    candidates.py (``sweep_sql``) pinned to one volunteer — the same category index
    predicate (vetted volunteers for a sensitive request), the same radius and reach,
    the same account status and the same filters (quota, cooldown, pause, vetting,
    required language, blocks, never asked twice about the same request)."""
    return f"""-- voisins: engine.volunteer_check
SELECT v.user_id AS volunteer_id, {DISTANCE} AS distance_m, false AS beyond, {MEASURES}
FROM volunteers v JOIN users u ON u.id = v.user_id
WHERE v.user_id = CAST(:volunteer_id AS bigint)
  AND {index_predicate(category, sensitive)}
  AND {geosql.within_m("v.cell_xy", Q_CELL, Q_RADIUS)}
  AND v.cell_srid = {Q_SRID}
  AND {DISTANCE} <= v.reach_m
  AND u.status = 'active'
  AND {FILTERS}
"""


class VolunteerOutcome(msgspec.Struct):
    volunteer_id: int
    proposed: list[int]  # post ids


async def match_volunteer(
    conn: AsyncConnection, volunteer_id: int, settings: Settings, *, now: datetime
) -> VolunteerOutcome:
    """Propose to a volunteer the open requests nearby that fit them, best first, at
    most as many as they have free places (``max_active_matches``).

    Each request is locked (in id order, before the volunteer, as ``match_request``
    does) and searched exactly as its own search would: the volunteer must pass that
    request's query (``volunteer_check_sql``), at that request's current radius. Someone
    already asked about a request — who said no, let it expire, or holds it — is not
    asked again."""
    me = (await conn.execute(text(_VOLUNTEER), {"id": volunteer_id})).first()
    if me is None or me.paused or me.status != "active" or not me.categories:
        return VolunteerOutcome(volunteer_id, [])
    free = me.max_active_matches - me.active_matches
    if free <= 0:
        return VolunteerOutcome(volunteer_id, [])
    near = (
        await conn.execute(
            text(_OPEN_NEAR_VOLUNTEER),
            {
                "cell_srid": me.cell_srid,
                "cell_x": me.cell_x,
                "cell_y": me.cell_y,
                "reach_m": me.reach_m,
                "categories": list(me.categories),
                "now": now,
                "scan": VOLUNTEER_SCAN,
            },
        )
    ).scalars()
    found: dict[int, tuple[Any, Features]] = {}
    for post_id in sorted(near):
        row = (await conn.execute(text(LOAD_REQUEST), {"id": post_id})).first()
        if row is None or row.status != "published" or row.held >= row.volunteers_needed:
            continue  # changed since the scan
        request = request_of(row)
        radius = max(row.reach_m, row.match_radius_m or 0)
        params = query_params(
            request, radius_m=radius, window=1, now=now, cooldown_s=settings.match_cooldown_s
        )
        rows = (
            await conn.execute(
                text(volunteer_check_sql(request.category, request.sensitive)),
                {**params, "volunteer_id": volunteer_id},
            )
        ).all()
        for features in features_of(rows, request):
            found[post_id] = (row, features)
    totals = {pid: total(f, settings, now) for pid, (_, f) in found.items()}
    best = ranked(volunteer_id, totals)[:free]
    if not best:
        return VolunteerOutcome(volunteer_id, [])
    deadline = now + timedelta(seconds=settings.match_deadline_s)
    for pid in sorted(best):
        row, features = found[pid]
        chosen = Chosen(pid, volunteer_id, row.sensitive, features, score(features, settings, now))
        # One row per request: each goes in with its request's current batch.
        await insert_proposals(
            conn, [chosen], batch=max(row.match_batch, 1), deadline=deadline, now=now
        )
    match_ids = (
        await conn.execute(
            text(
                "SELECT id, post_id FROM matches WHERE volunteer_id = :v "
                "AND post_id = ANY(:posts) AND status = 'proposed' ORDER BY id"
            ),
            {"v": volunteer_id, "posts": best},
        )
    ).all()
    for match in match_ids:
        # The match id says whom: the request's other propositions are not told again.
        await emit(conn, "match.proposed", post_id=match.post_id, match_id=match.id)
    return VolunteerOutcome(volunteer_id, sorted(best))


async def run_event(
    conn: AsyncConnection, event_id: int, settings: Settings, *, now: datetime
) -> VolunteerOutcome | None:
    """The matching an outbox event asks for, in the worker, before its fan-out marks
    it processed (same transaction: a second run of the job finds it processed and does
    nothing). Only a volunteer's profile change asks for one."""
    event = (
        await conn.execute(
            text("SELECT topic, payload, processed_at FROM outbox WHERE id = :id FOR UPDATE"),
            {"id": event_id},
        )
    ).first()
    if event is None or event.processed_at is not None or event.topic != PROFILE_CHANGED:
        return None
    volunteer_id = event.payload.get("volunteer_id")
    if not isinstance(volunteer_id, int):
        return None
    return await match_volunteer(conn, volunteer_id, settings, now=now)
