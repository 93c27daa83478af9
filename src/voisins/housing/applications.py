"""Housing applications: a host's or a young person's, made by the person or by a social
worker for an assisted resident, and the steps that vet them (interview, home visit,
references).

Who reads an application: its person, and the social workers who are members of its
centre — not a partner centre's (housing/access.py). Everyone else gets the same 404 as
for an id that does not exist. Its steps are recorded and read by housing/steps.py.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins import audit
from voisins.accounts.access import Viewer
from voisins.accounts.assisted import can_act_for
from voisins.errors import Conflict, Forbidden, Invalid, NotFound
from voisins.geo.geocoder import Geocoder
from voisins.geo.sql import point_4326
from voisins.housing import rules
from voisins.housing.access import as_member, listing_scope, reads_as_centre
from voisins.housing.schemas import (
    Application,
    ApplicationIn,
    ApplicationStatus,
    ApplicationStepIn,
    ApplicationSummary,
    Habits,
    Person,
    Room,
)
from voisins.housing.steps import add_step, steps_of, vetted
from voisins.locations import resolve

APPLICATION_COLUMNS = """
a.id, a.side, a.status, a.person_id, a.centre_id, a.recorded_by, a.birth_date,
a.available_from, a.available_until, a.formulas, a.monthly_eur, a.services, a.languages,
a.has_pets, a.accepts_pets, a.smokes, a.accepts_smoker, a.rhythm, a.room_m2, a.floor,
a.lift, a.private_bathroom, a.furnished, a.occupation, a.occupation_detail, a.address,
a.cell_key, a.about, a.created_at, u.display_name, c.name AS centre_name,
EXISTS (SELECT 1 FROM housing_pairs p
        WHERE a.id IN (p.host_application_id, p.young_application_id)
          AND p.status <> 'ended' AND p.introduced_on IS NOT NULL) AS introduced
"""
APPLICATION_FROM = """
FROM housing_applications a
JOIN users u ON u.id = a.person_id
JOIN centres c ON c.id = a.centre_id
"""


STEP_SIDES = {"interview": ("host", "young"), "home_visit": ("host",), "references": ("young",)}


def shown_status(row: Any, *, as_centre: bool) -> ApplicationStatus:
    """A pairing the centre only proposed is not told to its people: until the meeting
    introduces them, their application reads as open."""
    if row.status == "paired" and not as_centre and not row.introduced:
        return "open"
    status: ApplicationStatus = row.status
    return status


async def application_row(
    conn: AsyncConnection, viewer: Viewer, application_id: int, *, for_update: bool = False
) -> Any:
    """The row, if the viewer is its person or one of its centre's social workers."""
    lock = " FOR UPDATE OF a" if for_update else ""
    row = (
        await conn.execute(
            text(f"SELECT {APPLICATION_COLUMNS} {APPLICATION_FROM} WHERE a.id = :id{lock}"),
            {"id": application_id},
        )
    ).first()
    if row is None or not (row.person_id == viewer.id or reads_as_centre(viewer, row.centre_id)):
        raise NotFound("no such housing application")
    return row


async def _visible_pair(conn: AsyncConnection, row: Any, *, as_centre: bool) -> int | None:
    """The pairing in progress of this application that the reader may see: the centre
    sees a proposal; the person only once they have been introduced."""
    column = "host_application_id" if row.side == "host" else "young_application_id"
    introduced = "" if as_centre else " AND introduced_on IS NOT NULL"
    return (
        await conn.execute(
            text(
                f"SELECT id FROM housing_pairs WHERE {column} = :id AND status <> 'ended'"
                f"{introduced}"
            ),
            {"id": row.id},
        )
    ).scalar()


async def read(conn: AsyncConnection, viewer: Viewer, row: Any, today: date) -> Application:
    as_centre = reads_as_centre(viewer, row.centre_id)
    room = None
    if row.side == "host":
        room = Room(
            size_m2=row.room_m2,
            floor=row.floor,
            lift=row.lift,
            private_bathroom=row.private_bathroom,
            furnished=bool(row.furnished),
        )
    return Application(
        id=row.id,
        side=row.side,
        status=shown_status(row, as_centre=as_centre),
        centre_id=row.centre_id,
        centre_name=row.centre_name,
        person=Person(id=row.person_id, display_name=row.display_name),
        recorded_by_centre=row.recorded_by is not None,
        birth_date=row.birth_date,
        age=rules.age_on(row.birth_date, today),
        **rules.terms_of(row),
        habits=Habits(**rules.habits_of(row)),
        room=room,
        occupation=row.occupation,
        occupation_detail=row.occupation_detail,
        address=row.address,
        about=row.about,
        steps=await steps_of(conn, as_centre=as_centre, application_id=row.id),
        pair_id=await _visible_pair(conn, row, as_centre=as_centre),
        created_at=row.created_at,
    )


async def get_application(
    conn: AsyncConnection, viewer: Viewer, application_id: int, *, today: date
) -> Application:
    viewer = await as_member(conn, viewer)
    row = await application_row(conn, viewer, application_id)
    await audit.record(conn, viewer, "housing_application.view", "housing_application", row.id)
    return await read(conn, viewer, row, today)


def summary(row: Any, done: set[str], *, as_centre: bool = True) -> ApplicationSummary:
    return ApplicationSummary(
        id=row.id,
        side=row.side,
        status=shown_status(row, as_centre=as_centre),
        centre_id=row.centre_id,
        person=Person(id=row.person_id, display_name=row.display_name),
        available_from=row.available_from,
        available_until=row.available_until,
        interview_done="interview" in done,
        home_visit_done="home_visit" in done,
        references_done="references" in done,
        created_at=row.created_at,
    )


async def list_applications(
    conn: AsyncConnection,
    viewer: Viewer,
    *,
    side: str | None = None,
    status: str | None = None,
) -> list[ApplicationSummary]:
    """The centre's applications for its social workers; a resident's own otherwise."""
    viewer = await as_member(conn, viewer)
    where, params = listing_scope(
        viewer, centre_column="a.centre_id", own="a.person_id = :me",
        refused="housing applications are the centres' and their people's",
    )  # fmt: skip
    rows = (
        await conn.execute(
            text(
                f"SELECT {APPLICATION_COLUMNS} {APPLICATION_FROM} WHERE {where} "
                "AND (CAST(:side AS text) IS NULL OR a.side = :side) "
                "ORDER BY a.status <> 'open', a.created_at DESC, a.id DESC LIMIT 500"
            ),
            {**params, "side": side},
        )
    ).all()
    if status is not None:
        rows = [
            r
            for r in rows
            if shown_status(r, as_centre=reads_as_centre(viewer, r.centre_id)) == status
        ]
    done = await vetted(conn, [r.id for r in rows])
    if viewer.is_social_worker:
        for r in rows:
            await audit.record(
                conn, viewer, "housing_application.view", "housing_application", r.id
            )
    return [summary(r, done[r.id], as_centre=reads_as_centre(viewer, r.centre_id)) for r in rows]


async def _applicant(
    conn: AsyncConnection, viewer: Viewer, data: ApplicationIn
) -> tuple[int, int | None]:
    """Whose application this is, and the social worker who records it (if any)."""
    if viewer.is_social_worker:
        if data.person_id is None:
            raise Invalid.field("person_id", "name the assisted resident you record it for")
        if data.centre_id not in viewer.centre_ids:
            raise Invalid.field("centre_id", "not one of your centres")
        if not await can_act_for(conn, viewer, data.person_id):
            raise Invalid.field(
                "person_id", "record their consent first: not an assisted resident of your centres"
            )
        return data.person_id, viewer.id
    if viewer.is_admin:
        raise Forbidden("administrators do not make housing applications")
    if data.person_id is not None and data.person_id != viewer.id:
        raise Invalid.field("person_id", "only a social worker applies for someone else")
    exists = (
        await conn.execute(text("SELECT 1 FROM centres WHERE id = :id"), {"id": data.centre_id})
    ).first()
    if exists is None:
        raise Invalid.field("centre_id", "no such centre")
    return viewer.id, None


def _check_side_fields(data: ApplicationIn) -> None:
    if data.available_until is not None and data.available_until <= data.available_from:
        raise Invalid.field("available_until", "must be after available_from")
    if data.side == "host":
        if data.room is None:
            raise Invalid.field("room", "a host describes the room")
        if len(data.formulas) != 1:
            raise Invalid.field("formulas", "a host offers one formula")
        if data.formulas[0] == "free_presence" and data.monthly_eur:
            raise Invalid.field("monthly_eur", "a room against presence is free: 0")
    else:
        if data.occupation is None:
            raise Invalid.field("occupation", "say what the young person studies or works at")
        if data.room is not None:
            raise Invalid.field("room", "only a host describes a room")
    if len(set(data.formulas)) != len(data.formulas):
        raise Invalid.field("formulas", "each formula once")


async def create_application(
    conn: AsyncConnection,
    viewer: Viewer,
    data: ApplicationIn,
    geocoder: Geocoder,
    *,
    cell_size_m: int,
    today: date,
) -> Application:
    viewer = await as_member(conn, viewer)
    person_id, recorded_by = await _applicant(conn, viewer, data)
    rules.check_age(data.side, data.birth_date, today)
    _check_side_fields(data)
    rules.check_availability(data.available_from, data.available_until, today)
    place = await resolve(data.location, geocoder, cell_size_m=cell_size_m)
    room = data.room
    habits = data.habits
    params: dict[str, Any] = {
        "side": data.side,
        "person": person_id,
        "centre": data.centre_id,
        "by": recorded_by,
        "birth": data.birth_date,
        "from_": data.available_from,
        "until": data.available_until,
        "formulas": list(data.formulas),
        "eur": data.monthly_eur,
        "services": sorted(set(data.services)),
        "languages": list(dict.fromkeys(data.languages)),
        "has_pets": habits.has_pets,
        "accepts_pets": habits.accepts_pets,
        "smokes": habits.smokes,
        "accepts_smoker": habits.accepts_smoker,
        "rhythm": habits.rhythm,
        "m2": room.size_m2 if room else None,
        "floor": room.floor if room else None,
        "lift": room.lift if room else None,
        "bath": room.private_bathroom if room else None,
        "furnished": room.furnished if room else None,
        "occupation": data.occupation,
        "detail": data.occupation_detail,
        "about": data.about.strip(),
        **place.params(),
    }
    inserted = (
        await conn.execute(
            text(
                "INSERT INTO housing_applications (side, person_id, centre_id, recorded_by, "
                "birth_date, available_from, available_until, formulas, monthly_eur, services, "
                "languages, has_pets, accepts_pets, smokes, accepts_smoker, rhythm, room_m2, "
                "floor, lift, private_bathroom, furnished, occupation, occupation_detail, point, "
                "address, cell_key, about) VALUES (:side, :person, :centre, :by, :birth, :from_, "
                ":until, :formulas, :eur, :services, :languages, :has_pets, :accepts_pets, "
                ":smokes, :accepts_smoker, :rhythm, :m2, :floor, :lift, :bath, :furnished, "
                f":occupation, :detail, {point_4326('lon', 'lat')}, :address, :cell_key, :about) "
                "ON CONFLICT DO NOTHING RETURNING id"
            ),
            params,
        )
    ).scalar()
    if inserted is None:
        raise Conflict(
            "this person already has an application on this side in progress",
            {"side": "already applied"},
        )
    await audit.record(conn, viewer, "housing_application.create", "housing_application", inserted)
    return await get_application(conn, viewer, inserted, today=today)


async def record_application_step(
    conn: AsyncConnection,
    viewer: Viewer,
    application_id: int,
    data: ApplicationStepIn,
    *,
    today: date,
) -> Application:
    """Interview (both), home visit (host), references (young): the centre's to record."""
    viewer = await as_member(conn, viewer)
    row = await application_row(conn, viewer, application_id, for_update=True)
    if not reads_as_centre(viewer, row.centre_id):
        raise Forbidden("only the centre's social workers record steps")
    if row.side not in STEP_SIDES[data.kind]:
        raise Invalid.field("kind", f"{data.kind} is not a step of a {row.side} application")
    if row.status in ("withdrawn", "closed"):
        raise Conflict(f"this application is {row.status}")
    rules.check_done_on(data.done_on, today)
    await add_step(
        conn, viewer, application_id=row.id, kind=data.kind, done_on=data.done_on,
        outcome=data.outcome, note=data.note,
    )  # fmt: skip
    return await get_application(conn, viewer, row.id, today=today)


async def withdraw_application(
    conn: AsyncConnection, viewer: Viewer, application_id: int, *, today: date
) -> Application:
    """The person (or the centre) stops an application. A pairing only proposed ends
    with it (its people were never told); one they were introduced in must end first."""
    viewer = await as_member(conn, viewer)
    row = await application_row(conn, viewer, application_id, for_update=True)
    if row.status not in ("open", "paired"):
        raise Conflict(f"this application is already {row.status}")
    pair = (
        await conn.execute(
            text(
                "SELECT id, status, host_application_id, young_application_id "
                "FROM housing_pairs WHERE :a IN (host_application_id, young_application_id) "
                "AND status <> 'ended' FOR UPDATE"
            ),
            {"a": row.id},
        )
    ).first()
    if pair is not None and pair.status != "proposed":
        raise Conflict("end the pairing first", {"status": "paired"})
    if pair is not None:
        await conn.execute(
            text(
                "UPDATE housing_pairs SET status = 'ended', ended_on = :today, end_reason = :r "
                "WHERE id = :id"
            ),
            {"today": today, "r": f"{row.side}_request", "id": pair.id},
        )
        await conn.execute(
            text(
                "INSERT INTO housing_steps (pair_id, kind, done_on, outcome, recorded_by) "
                "VALUES (:p, 'ended', :today, 'noted', :by)"
            ),
            {"p": pair.id, "today": today, "by": viewer.id},
        )
        other = pair.young_application_id if row.side == "host" else pair.host_application_id
        await conn.execute(
            text("UPDATE housing_applications SET status = 'open' WHERE id = :id"), {"id": other}
        )
    await conn.execute(
        text(
            "UPDATE housing_applications SET status = 'withdrawn', updated_at = now() "
            "WHERE id = :id"
        ),
        {"id": row.id},
    )
    await audit.record(conn, viewer, "housing_application.withdraw", "housing_application", row.id)
    return await get_application(conn, viewer, row.id, today=today)
