"""The steps of intergenerational housing — an application's interview, home visit and
references; a pair's proposal, meeting, trial, agreement, follow-up visits and end —
recorded by the centre's social workers: recording one, reading them (the centre's
notes for the centre only), and the vetting they add up to."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import audit
from voisins.accounts.access import Viewer
from voisins.errors import Conflict
from voisins.housing.schemas import Step

# Favourable vetting steps per application: the latest record of each kind counts.
_VETTED = """
SELECT DISTINCT ON (application_id, kind) application_id, kind, outcome
FROM housing_steps WHERE application_id = ANY(:ids)
ORDER BY application_id, kind, done_on DESC, id DESC
"""


async def add_step(
    conn: AsyncConnection,
    viewer: Viewer,
    *,
    kind: str,
    done_on: date,
    outcome: str,
    note: str | None,
    application_id: int | None = None,
    pair_id: int | None = None,
) -> int:
    """Record one step of an application or of a pair (exactly one of the two), audited."""
    step_id: int = (
        await conn.execute(
            text(
                "INSERT INTO housing_steps (application_id, pair_id, kind, done_on, outcome, "
                "note, recorded_by) VALUES (:a, :p, :k, :d, :o, :n, :by) RETURNING id"
            ),
            {
                "a": application_id,
                "p": pair_id,
                "k": kind,
                "d": done_on,
                "o": outcome,
                "n": (note or "").strip() or None,
                "by": viewer.id,
            },
        )
    ).scalar_one()
    await audit.record(conn, viewer, "housing_step.record", "housing_step", step_id)
    return step_id


async def steps_of(
    conn: AsyncConnection,
    *,
    as_centre: bool,
    application_id: int | None = None,
    pair_id: int | None = None,
) -> list[Step]:
    column, value = ("application_id", application_id) if application_id else ("pair_id", pair_id)
    rows = await conn.execute(
        text(
            "SELECT s.id, s.kind, s.done_on, s.outcome, s.note, s.recorded_at, "
            "u.display_name AS recorder FROM housing_steps s "
            f"LEFT JOIN users u ON u.id = s.recorded_by WHERE s.{column} = :id "
            "ORDER BY s.done_on, s.id"
        ),
        {"id": value},
    )
    return [
        Step(
            id=r.id,
            kind=r.kind,
            done_on=r.done_on,
            outcome=r.outcome,
            note=r.note if as_centre else None,
            recorded_by=r.recorder if as_centre else None,
            recorded_at=r.recorded_at,
        )
        for r in rows
    ]


async def vetted(conn: AsyncConnection, application_ids: list[int]) -> dict[int, set[str]]:
    """For each application, the vetting steps whose latest record is favourable."""
    done: dict[int, set[str]] = {i: set() for i in application_ids}
    for row in await conn.execute(text(_VETTED), {"ids": application_ids}):
        if row.outcome == "favourable":
            done[row.application_id].add(row.kind)
    return done


async def require_interviews(
    conn: AsyncConnection, host_id: int | None, young_id: int | None
) -> None:
    """No introduction without both first interviews, favourable: checked when the pair
    is proposed and again at the meeting (an interview recorded since may say no)."""
    ids = {"host_application_id": host_id, "young_application_id": young_id}
    done = await vetted(conn, [i for i in ids.values() if i])
    missing = {
        field: "no favourable first interview"
        for field, app_id in ids.items()
        if app_id is None or "interview" not in done.get(app_id, set())
    }
    if missing:
        raise Conflict("no introduction without both first interviews", missing)


async def require_vetted_for_trial(conn: AsyncConnection, row: Any) -> None:
    """The young person moves in only after the home visit and the references."""
    done = await vetted(conn, [i for i in (row.host_application_id, row.young_application_id) if i])
    missing = {}
    if "home_visit" not in done.get(row.host_application_id, set()):
        missing["host_application_id"] = "no favourable home visit yet"
    if "references" not in done.get(row.young_application_id, set()):
        missing["young_application_id"] = "no favourable references yet"
    if missing:
        raise Conflict("the trial starts after the home visit and the references", missing)
