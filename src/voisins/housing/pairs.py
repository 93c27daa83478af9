"""Pairs: a host and a young person the centre's social worker puts together, and the
steps that follow — meeting, trial period, signed agreement, follow-up visits, end.

The status moves only forward, each step under a row lock, and the database checks
what each status requires (sql/0021). Neither person sees the pair before the meeting
that introduces them; afterwards each sees the other's name, the steps (without the
centre's notes) and the documents, and the young person the host's address.

The steps themselves and the vetting they add up to are housing/steps.py's; overdue
steps on the follow-up list, housing/overdue.py's. One concept at a touch over 400
lines: the pair's reading and its life cycle share the row and its lock.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import audit
from voisins.accounts.access import Viewer
from voisins.errors import Conflict, Forbidden, Invalid, NotFound
from voisins.housing import rules
from voisins.housing.access import as_member, listing_scope, reads_as_centre
from voisins.housing.applications import application_row
from voisins.housing.overdue import close_overdue
from voisins.housing.schemas import (
    DocumentInfo,
    Pair,
    PairEndIn,
    PairIn,
    PairSide,
    PairStepIn,
    Person,
)
from voisins.housing.steps import add_step, require_interviews, require_vetted_for_trial, steps_of
from voisins.settings import Settings

_PAIR = """
SELECT p.*, c.name AS centre_name,
       ha.person_id AS host_person_id, hu.display_name AS host_name, ha.address AS host_address,
       ya.person_id AS young_person_id, yu.display_name AS young_name,
       ya.birth_date AS young_birth_date
FROM housing_pairs p
JOIN centres c ON c.id = p.centre_id
LEFT JOIN housing_applications ha ON ha.id = p.host_application_id
LEFT JOIN users hu ON hu.id = ha.person_id
LEFT JOIN housing_applications ya ON ya.id = p.young_application_id
LEFT JOIN users yu ON yu.id = ya.person_id
"""

# What a step needs the pair to be in, and what it moves it to.
_STEP_FROM = {
    "meeting": ("proposed",),
    "trial": ("introduced",),
    "agreement": ("trial",),
    "followup_visit": ("trial", "confirmed"),
}


def _side_of(viewer: Viewer, row: Any) -> str | None:
    if row.host_person_id == viewer.id:
        return "host"
    if row.young_person_id == viewer.id:
        return "young"
    return None


def may_read_pair(viewer: Viewer, row: Any) -> bool:
    if reads_as_centre(viewer, row.centre_id):
        return True
    return _side_of(viewer, row) is not None and row.introduced_on is not None


def shows_documents(viewer: Viewer, row: Any) -> bool:
    """The charter and the agreement carry the host's address and both birth dates: the
    two people read them while the pair lasts, as its page shows the address; the
    centre keeps them."""
    return reads_as_centre(viewer, row.centre_id) or row.status != "ended"


async def pair_row(
    conn: AsyncConnection, viewer: Viewer, pair_id: int, *, for_update: bool = False
) -> Any:
    lock = " FOR UPDATE OF p" if for_update else ""
    row = (await conn.execute(text(f"{_PAIR} WHERE p.id = :id{lock}"), {"id": pair_id})).first()
    if row is None or not may_read_pair(viewer, row):
        raise NotFound("no such housing pair")
    return row


async def _locked_pair(conn: AsyncConnection, viewer: Viewer, pair_id: int) -> Any:
    """The pair under lock, its two applications locked first (in id order), as a
    withdrawal locks an application then its pair: an interview recorded meanwhile
    waits for a meeting's check of the interviews, and the two never deadlock."""
    row = await pair_row(conn, viewer, pair_id)
    await conn.execute(
        text("SELECT id FROM housing_applications WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"),
        {"ids": [i for i in (row.host_application_id, row.young_application_id) if i]},
    )
    return await pair_row(conn, viewer, pair_id, for_update=True)


async def _last_step_on(conn: AsyncConnection, pair_id: int, *kinds: str) -> date | None:
    """The day of the pair's latest step of these kinds (all but the proposal, which is
    dated the day it was recorded, when a centre enters a past history)."""
    latest: date | None = (
        await conn.execute(
            text(
                "SELECT max(done_on) FROM housing_steps WHERE pair_id = :p AND kind = ANY(:kinds)"
            ),
            {"p": pair_id, "kinds": list(kinds)},
        )
    ).scalar()
    return latest


def _require_centre(viewer: Viewer, row: Any) -> None:
    if not reads_as_centre(viewer, row.centre_id):
        raise Forbidden("only the centre's social workers record the pair's steps")


async def documents_of(conn: AsyncConnection, pair_id: int) -> list[DocumentInfo]:
    rows = await conn.execute(
        text(
            "SELECT id, kind, generated_at, sha256 FROM housing_documents WHERE pair_id = :p "
            "ORDER BY generated_at, id"
        ),
        {"p": pair_id},
    )
    return [DocumentInfo(**dict(r._mapping)) for r in rows]


async def read_pair(conn: AsyncConnection, viewer: Viewer, row: Any, today: date) -> Pair:
    as_centre = reads_as_centre(viewer, row.centre_id)
    side = None if as_centre else _side_of(viewer, row)

    def person(person_id: int | None, name: str | None) -> Person | None:
        if person_id is None or name is None:
            return None
        return Person(id=person_id, display_name=name)

    live = row.status in ("trial", "confirmed")
    return Pair(
        id=row.id,
        status=row.status,
        centre_id=row.centre_id,
        centre_name=row.centre_name,
        host=PairSide(
            application_id=row.host_application_id if side != "young" else None,
            person=person(row.host_person_id, row.host_name),
        ),
        young=PairSide(
            application_id=row.young_application_id if side != "host" else None,
            person=person(row.young_person_id, row.young_name),
        ),
        proposed_at=row.proposed_at,
        introduced_on=row.introduced_on,
        trial_started_on=row.trial_started_on,
        trial_ends_on=row.trial_ends_on,
        agreement_signed_on=row.agreement_signed_on,
        next_visit_due=row.next_visit_due if live else None,
        visit_overdue=live and row.next_visit_due is not None and row.next_visit_due < today,
        trial_over=row.status == "trial" and row.trial_ends_on < today,
        ended_on=row.ended_on,
        end_reason=row.end_reason,
        host_address=row.host_address if row.status != "ended" else None,
        host_feedback=row.host_feedback if as_centre else None,
        young_feedback=row.young_feedback if as_centre else None,
        steps=await steps_of(conn, as_centre=as_centre, pair_id=row.id),
        documents=await documents_of(conn, row.id) if shows_documents(viewer, row) else [],
    )


async def get_pair(conn: AsyncConnection, viewer: Viewer, pair_id: int, *, today: date) -> Pair:
    viewer = await as_member(conn, viewer)
    row = await pair_row(conn, viewer, pair_id)
    await audit.record(conn, viewer, "housing_pair.view", "housing_pair", row.id)
    return await read_pair(conn, viewer, row, today)


async def list_pairs(
    conn: AsyncConnection, viewer: Viewer, *, today: date, live_only: bool = False
) -> list[Pair]:
    """The centre's pairs for its social workers; for a resident, the pairs they were
    introduced in."""
    viewer = await as_member(conn, viewer)
    where, params = listing_scope(
        viewer, centre_column="p.centre_id",
        own="(ha.person_id = :me OR ya.person_id = :me) AND p.introduced_on IS NOT NULL",
        refused="housing pairs are the centres' and their people's",
    )  # fmt: skip
    live = " AND p.status <> 'ended'" if live_only else ""
    rows = (
        await conn.execute(
            text(
                f"{_PAIR} WHERE {where}{live} "
                "ORDER BY p.status = 'ended', p.proposed_at DESC, p.id DESC LIMIT 500"
            ),
            params,
        )
    ).all()
    pairs = [await read_pair(conn, viewer, r, today) for r in rows]
    for pair in pairs:
        await audit.record(conn, viewer, "housing_pair.view", "housing_pair", pair.id)
    return pairs


async def propose_pair(conn: AsyncConnection, viewer: Viewer, data: PairIn, *, today: date) -> Pair:
    """The social worker proposes a host and a young person to each other. Both must
    be open and have had a favourable first interview; nobody is told yet."""
    viewer = await as_member(conn, viewer)
    if not viewer.is_social_worker:
        raise Forbidden("only the centre's social workers propose pairings")
    ids = {
        "host_application_id": data.host_application_id,
        "young_application_id": data.young_application_id,
    }
    rows = {}
    # Lock in id order, so that two proposals crossing each other wait, not deadlock.
    for field, app_id in sorted(ids.items(), key=lambda item: item[1]):
        try:
            row = await application_row(conn, viewer, app_id, for_update=True)
        except NotFound:
            raise Invalid.field(field, "no such application in your centres") from None
        if not reads_as_centre(viewer, row.centre_id):
            raise Invalid.field(field, "no such application in your centres")
        rows[field] = row
    host, young = rows["host_application_id"], rows["young_application_id"]
    if host.side != "host":
        raise Invalid.field("host_application_id", "not a host's application")
    if young.side != "young":
        raise Invalid.field("young_application_id", "not a young person's application")
    if young.centre_id != host.centre_id:
        # A pair is one centre's: the other centre's workers would lose sight of theirs.
        raise Invalid.field("young_application_id", "an application of another centre")
    for field, row in rows.items():
        if row.status != "open":
            raise Conflict(f"this application is {row.status}", {field: row.status})
    await require_interviews(conn, host.id, young.id)
    pair_id = (
        await conn.execute(
            text(
                "INSERT INTO housing_pairs (centre_id, host_application_id, "
                "young_application_id, proposed_by) VALUES (:c, :h, :y, :by) RETURNING id"
            ),
            {"c": host.centre_id, "h": host.id, "y": young.id, "by": viewer.id},
        )
    ).scalar_one()
    await conn.execute(
        text(
            # updated_at stays: its people must not read a proposal in their export.
            "UPDATE housing_applications SET status = 'paired' WHERE id IN (:h, :y)"
        ),
        {"h": host.id, "y": young.id},
    )
    await add_step(
        conn,
        viewer,
        pair_id=pair_id,
        kind="proposed",
        done_on=today,
        outcome="noted",
        note=data.note,
    )
    await audit.record(conn, viewer, "housing_pair.propose", "housing_pair", pair_id)
    return await get_pair(conn, viewer, pair_id, today=today)


async def _release(conn: AsyncConnection, row: Any, status: str) -> None:
    await conn.execute(
        text(
            "UPDATE housing_applications SET status = :s, "
            "updated_at = CASE WHEN :s = 'closed' THEN now() ELSE updated_at END "
            "WHERE id IN (:h, :y) AND status = 'paired'"
        ),
        {"s": status, "h": row.host_application_id or 0, "y": row.young_application_id or 0},
    )


async def record_pair_step(
    conn: AsyncConnection,
    viewer: Viewer,
    pair_id: int,
    data: PairStepIn,
    settings: Settings,
    *,
    today: date,
) -> Pair:
    viewer = await as_member(conn, viewer)
    row = await _locked_pair(conn, viewer, pair_id)
    _require_centre(viewer, row)
    rules.check_done_on(data.done_on, today)
    allowed = _STEP_FROM[data.kind]
    if row.status not in allowed:
        if data.kind == "agreement" and row.status == "confirmed":
            raise Conflict("the agreement is already signed", {"kind": row.status})
        if data.kind == "agreement":
            raise Conflict("no agreement before a trial period", {"kind": row.status})
        raise Conflict(f"a {data.kind} does not follow a pair {row.status}", {"kind": row.status})
    values: dict[str, Any] = {}
    if data.kind in ("trial", "agreement") and row.young_birth_date is not None:
        age = rules.age_on(row.young_birth_date, data.done_on)
        if age >= rules.YOUNG_MAX_AGE:
            raise Invalid.field(
                "done_on",
                f"the young person is {rules.YOUNG_MAX_AGE} by then (CASF art. L.118-1)",
            )
        if age < rules.YOUNG_MIN_AGE:
            raise Invalid.field(
                "done_on", f"the young person is not {rules.YOUNG_MIN_AGE} yet on that day"
            )
    if data.kind == "meeting":
        await require_interviews(conn, row.host_application_id, row.young_application_id)
        if data.outcome == "unfavourable":
            values = {"status": "ended", "ended_on": data.done_on, "end_reason": "not_compatible"}
        else:
            values = {"status": "introduced", "introduced_on": data.done_on}
    elif data.kind == "trial":
        await require_vetted_for_trial(conn, row)
        if data.done_on < row.introduced_on:
            raise Invalid.field("done_on", "the trial starts after the meeting")
        values = {
            "status": "trial",
            "trial_started_on": data.done_on,
            "trial_ends_on": rules.add_months(data.done_on, settings.housing_trial_months),
            "next_visit_due": rules.add_months(data.done_on, settings.housing_first_visit_months),
        }
    elif data.kind == "agreement":
        if data.done_on < row.trial_started_on:
            raise Invalid.field("done_on", "the agreement is signed after the trial started")
        values = {"status": "confirmed", "agreement_signed_on": data.done_on}
    else:  # followup_visit
        if data.done_on < row.trial_started_on:
            raise Invalid.field("done_on", "a follow-up visit comes after the move")
        last_visit = await _last_step_on(conn, row.id, "followup_visit")
        if last_visit is not None and data.done_on < last_visit:
            # The next visit is counted from the latest one: an older visit entered late
            # would move it back (and the overdue item of that day is raised once only).
            raise Invalid.field("done_on", "before the last follow-up visit recorded")
        values = {
            "next_visit_due": rules.add_months(data.done_on, settings.housing_visit_every_months)
        }
    await add_step(
        conn,
        viewer,
        pair_id=row.id,
        kind=data.kind,
        done_on=data.done_on,
        outcome=data.outcome,
        note=data.note,
    )
    await _update(conn, row.id, values)
    if values.get("status") == "ended":
        await _release(conn, row, "open")
    if data.kind == "followup_visit":
        await close_overdue(conn, viewer, row.id, "housing_visit_due")
    if data.kind == "agreement":
        await close_overdue(conn, viewer, row.id, "housing_trial_over")
    return await get_pair(conn, viewer, row.id, today=today)


async def _update(conn: AsyncConnection, pair_id: int, values: dict[str, Any]) -> None:
    if not values:
        return
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    await conn.execute(
        text(f"UPDATE housing_pairs SET {assignments} WHERE id = :id"), {**values, "id": pair_id}
    )


async def end_pair(
    conn: AsyncConnection, viewer: Viewer, pair_id: int, data: PairEndIn, *, today: date
) -> Pair:
    """The end of a pairing, with the reason and both sides' feedback. Applications of
    a pair that never started are open again; those of a cohabitation are closed."""
    viewer = await as_member(conn, viewer)
    row = await _locked_pair(conn, viewer, pair_id)
    _require_centre(viewer, row)
    if row.status == "ended":
        raise Conflict("this pairing has already ended")
    rules.check_done_on(data.ended_on, today, field="ended_on")
    last = await _last_step_on(conn, row.id, "meeting", "trial", "agreement", "followup_visit")
    if last is not None and data.ended_on < last:
        raise Invalid.field("ended_on", "before the pair's last step recorded")
    await add_step(
        conn,
        viewer,
        pair_id=row.id,
        kind="ended",
        done_on=data.ended_on,
        outcome="noted",
        note=data.note,
    )
    await _update(
        conn,
        row.id,
        {
            "status": "ended",
            "ended_on": data.ended_on,
            "end_reason": data.reason,
            "host_feedback": (data.host_feedback or "").strip() or None,
            "young_feedback": (data.young_feedback or "").strip() or None,
        },
    )
    await _release(conn, row, "closed" if row.trial_started_on else "open")
    for reason in ("housing_visit_due", "housing_trial_over"):
        await close_overdue(conn, viewer, row.id, reason)
    return await get_pair(conn, viewer, row.id, today=today)
