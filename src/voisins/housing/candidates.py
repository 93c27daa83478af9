"""Candidates for an application, for the social worker only: the open applications of
the other side in the same centre that fit (housing/rules.py ``fit``), best first,
with every reason of the score. Nothing is proposed to anyone automatically.

Ties are broken by the application's id, never by a place, so that the order says
nothing finer than the 1 km band that is shown.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import audit
from voisins.accounts.access import Viewer
from voisins.errors import Forbidden
from voisins.housing import rules
from voisins.housing.access import as_member, reads_as_centre
from voisins.housing.applications import (
    APPLICATION_COLUMNS,
    APPLICATION_FROM,
    application_row,
    summary,
)
from voisins.housing.schemas import Candidate
from voisins.housing.steps import vetted

_OTHER_SIDE = {"host": "young", "young": "host"}


async def candidates_for(
    conn: AsyncConnection, viewer: Viewer, application_id: int, *, max_km: int, limit: int = 20
) -> list[Candidate]:
    viewer = await as_member(conn, viewer)
    row = await application_row(conn, viewer, application_id)
    if not reads_as_centre(viewer, row.centre_id):
        raise Forbidden("only the centre's social workers see candidates")
    others = (
        await conn.execute(
            text(
                f"SELECT {APPLICATION_COLUMNS} {APPLICATION_FROM} "
                "WHERE a.side = :side AND a.status = 'open' AND a.centre_id = :centre "
                "AND a.person_id <> :person ORDER BY a.id"
            ),
            {
                "side": _OTHER_SIDE[row.side],
                "centre": row.centre_id,
                "person": row.person_id,
            },
        )
    ).all()
    this = rules.Offer.of(row)
    fitting = []
    for other in others:
        host, young = (
            (this, rules.Offer.of(other)) if row.side == "host" else (rules.Offer.of(other), this)
        )
        found = rules.fit(host, young, max_km=max_km)
        if found is not None:
            fitting.append((other, found))
    fitting.sort(key=lambda pair: (-pair[1].score, pair[0].id))
    fitting = fitting[:limit]
    done = await vetted(conn, [other.id for other, _ in fitting])
    await audit.record(conn, viewer, "housing_candidates.view", "housing_application", row.id)
    return [Candidate(application=summary(other, done[other.id]), fit=f) for other, f in fitting]
