"""Assisted residents in the centre workspace: the list and registration (with
consent), one resident's page following their posts, and posting on their behalf.
Page plumbing and wording come from centre.py."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins.accounts import assisted
from voisins.accounts.access import Viewer
from voisins.accounts.assisted import AssistedIn
from voisins.api.deps import GeocoderDep, OptionalViewer, QuotasDep, SettingsDep, Tx
from voisins.errors import DomainError
from voisins.matching import views
from voisins.matching.publication import create_and_match
from voisins.posts.schemas import PostIn
from voisins.web.formats import PARIS, Formats, formats_for, paris_moment
from voisins.web.forms import N_, FormError, convert, domain_fields
from voisins.web.pages import Me
from voisins.web.problems import PAGE_ERROR_HANDLERS
from voisins.web.routes.centre import (
    CONSENT_METHODS,
    FIELD_MESSAGES,
    PER_PAGE,
    _day,
    _explained,
    _int,
    _my_centres,
    _render,
    _text,
    _worker,
)
from voisins.web.wording import MATCH_STATES, post_state

# ---------------------------------------------------------------------------------------
# Assisted residents and posting on their behalf
# ---------------------------------------------------------------------------------------


async def _residents(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, me: Me, *,
    errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:  # fmt: skip
    number = _int(request.query_params.get("page"), 1)
    found = await assisted.list_assisted(tx, viewer, number, PER_PAGE)
    return _render(
        request, "centre/residents.html", me, status_code=status_code, items=found.items,
        page_number=number, has_more=found.has_more, errors=errors or {},
        values=values or {"vulnerability": [], "locale": "fr", "consent_method": "in_person"},
        centres=await _my_centres(tx, viewer), consent_methods=CONSENT_METHODS,
        today=datetime.now(PARIS).date(),
    )  # fmt: skip


@get("/habitants", name="centre_residents", operation_id="pageCentreResidents",
     include_in_schema=False)  # fmt: skip
async def residents_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Template:
    me, viewer = await _worker(request, tx, optional_viewer)
    return await _residents(request, tx, viewer, me)


@post("/habitants", name="centre_resident_create", operation_id="pageCentreCreateResident",
      include_in_schema=False)  # fmt: skip
async def resident_create(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Response[Any]:
    me, viewer = await _worker(request, tx, optional_viewer)
    form = await request.form()
    values: dict[str, Any] = {
        key: _text(form, key)
        for key in ("display_name", "phone", "email", "locale", "consent_method",
                    "consent_on", "consent_centre", "consent_note")
    }  # fmt: skip
    values["vulnerability"] = form.getall("vulnerability", [])
    try:
        obtained = _day(values["consent_on"], "consent") if values["consent_on"] else None
        body = {
            "display_name": values["display_name"],
            "phone": values["phone"] or None,
            "email": values["email"] or None,
            "locale": values["locale"] or "fr",
            "vulnerability": values["vulnerability"],
            "consent": {
                "method": values["consent_method"],
                "obtained_at": paris_moment(obtained).isoformat() if obtained else None,
                "centre_id": values["consent_centre"] or None,
                "note": values["consent_note"] or None,
            },
        }
        data = convert(body, AssistedIn)
        async with tx.begin_nested():
            await assisted.create_assisted(tx, viewer, data)
    except FormError as exc:
        errors = _explained(exc.fields)
    except DomainError as exc:
        if exc.status_code not in (403, 422) or not exc.fields:
            raise
        errors = _explained(domain_fields(exc))
    else:
        return Redirect("/centre/habitants?fait=habitant", status_code=303)
    return await _residents(request, tx, viewer, me, errors=errors, values=values, status_code=422)


@get("/habitants/{resident_id:int}", name="centre_resident", operation_id="pageCentreResident",
     include_in_schema=False)  # fmt: skip
async def resident_page(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    resident_id: FromPath[int],
) -> Template:
    """One assisted resident and their posts, newest first: each post's state, its
    answers and, once confirmed, the volunteer's contact (the resident post page shows a
    social worker the post but not its answers). Another centre's worker is refused."""
    me, viewer = await _worker(request, tx, optional_viewer)
    number = _int(request.query_params.get("page"), 1)
    found = await views.assisted_posts(tx, viewer, resident_id, number, PER_PAGE)
    return _render(
        request, "centre/resident.html", me, resident=await assisted.get_assisted(
            tx, viewer, resident_id
        ), items=found.items, page_number=number, has_more=found.has_more,
        consent_methods=CONSENT_METHODS, post_state=post_state, match_states=MATCH_STATES,
    )  # fmt: skip


def _schedule(values: dict[str, Any]) -> dict[str, Any]:
    def clock(value: str) -> time:
        try:
            return time.fromisoformat(value)
        except ValueError:
            raise FormError({"schedule": FIELD_MESSAGES["schedule"]}) from None

    if values["schedule_type"] == "weekly":
        return {
            "type": "weekly",
            "days": [int(d) for d in values["days"] if d.isdigit()],
            "start": values["start"],
            "end": values["end"],
        }
    day = _day(values["date"], "schedule")
    if day is None:
        raise FormError({"schedule": FIELD_MESSAGES["schedule"]})
    start = datetime.combine(day, clock(values["start"]), PARIS)
    end = datetime.combine(day, clock(values["end"]), PARIS)
    return {"type": "once", "starts_at": start.isoformat(), "ends_at": end.isoformat()}


def _post_values(form: FormMultiDict) -> dict[str, Any]:
    values: dict[str, Any] = {
        key: _text(form, key)
        for key in ("kind", "category", "title", "description", "address", "lon", "lat",
                    "schedule_type", "date", "start", "end", "volunteers_needed")
    }  # fmt: skip
    values["days"] = form.getall("days", [])
    values["beneficiary"] = form.getall("beneficiary", [])
    values["urgent"] = _text(form, "urgent") == "1"
    return values


def _post_input(values: dict[str, Any], resident_id: int) -> PostIn:
    location: dict[str, Any] = {}
    if values["lon"] or values["lat"]:
        location = {"lon": values["lon"] or None, "lat": values["lat"] or None}
    if values["address"]:
        location["address"] = values["address"]
    body = {
        "kind": values["kind"],
        "category": values["category"],
        "title": values["title"],
        "description": values["description"],
        "location": location,
        "schedule": _schedule(values),
        "volunteers_needed": values["volunteers_needed"] or 1,
        "urgency": "urgent" if values["urgent"] else "normal",
        "beneficiary": values["beneficiary"],
        "on_behalf_of": resident_id,
    }
    return convert(body, PostIn)


async def _post_form(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, me: Me, resident_id: int, *,
    errors: dict[str, str], values: dict[str, Any], status_code: int = 200,
) -> Template:  # fmt: skip
    resident = await assisted.get_assisted(tx, viewer, resident_id)
    fmt: Formats = formats_for(request, me)
    return _render(
        request, "centre/post_for.html", me, status_code=status_code, resident=resident,
        errors=errors, values=values, weekdays=fmt.weekdays(), start={"lon": 2.354, "lat": 48.886},
    )  # fmt: skip


@get("/habitants/{resident_id:int}/annonce", name="centre_post_for",
     operation_id="pageCentrePostFor", include_in_schema=False)  # fmt: skip
async def post_for_page(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    resident_id: FromPath[int],
) -> Template:
    me, viewer = await _worker(request, tx, optional_viewer)
    values = {
        "kind": "request", "category": "", "title": "", "description": "", "address": "",
        "lon": "", "lat": "", "schedule_type": "once", "date": "", "start": "", "end": "",
        "volunteers_needed": "1", "days": [], "beneficiary": [], "urgent": False,
    }  # fmt: skip
    return await _post_form(request, tx, viewer, me, resident_id, errors={}, values=values)


@post("/habitants/{resident_id:int}/annonce", name="centre_post_for_submit",
      operation_id="pageCentrePostForSubmit", include_in_schema=False)  # fmt: skip
async def post_for_submit(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    settings: SettingsDep,
    geocoder: GeocoderDep,
    quotas: QuotasDep,
    resident_id: FromPath[int],
) -> Response[Any]:
    me, viewer = await _worker(request, tx, optional_viewer)
    values = _post_values(await request.form())
    try:
        data = _post_input(values, resident_id)
        async with tx.begin_nested():
            # The worker's own quota: acting for many residents gives no more room.
            created = await create_and_match(
                tx, viewer, data, geocoder=geocoder, settings=settings, quotas=quotas
            )
    except FormError as exc:
        errors = _explained(exc.fields)
    except DomainError as exc:
        if exc.status_code not in (422, 503):
            raise
        errors = _explained(domain_fields(exc)) if exc.status_code == 422 else {}
        if exc.status_code == 503:
            errors["location"] = N_("La recherche d'adresse ne répond pas : placez l'épingle.")
    else:
        done = "publiee" if created.status == "published" else "relecture"
        return Redirect(f"/centre/habitants?fait={done}", status_code=303)
    return await _post_form(
        request, tx, viewer, me, resident_id, errors=errors, values=values, status_code=422
    )


ROUTES: list[Any] = [
    Router(
        path="/centre",
        route_handlers=[
            residents_page, resident_create, resident_page, post_for_page, post_for_submit,
        ],
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]  # fmt: skip
