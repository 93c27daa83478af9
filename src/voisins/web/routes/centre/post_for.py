"""Posting on behalf of an assisted resident, from the centre's workspace: the same
post as a resident writes (one form here, not the resident's three steps), published
through matching/publication.create_and_match under the worker's own quota. A text
that would make the resident's name public is shown to the worker first."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins.accounts import assisted
from voisins.accounts.access import Viewer
from voisins.api.deps import GeocoderDep, QuotasDep, SettingsDep, Tx
from voisins.clock import PARIS
from voisins.errors import DomainError
from voisins.matching.publication import create_and_match
from voisins.posts import screening
from voisins.posts.schemas import PostIn
from voisins.web.formats import Formats, formats_for
from voisins.web.forms import N_, FormError, convert, domain_fields, explained, form_text
from voisins.web.pages import Me
from voisins.web.routes.centre.common import (
    FIELD_MESSAGES,
    form_day,
    workspace_page,
    workspace_router,
)
from voisins.web.signed_in import Person


def _schedule(values: dict[str, Any]) -> dict[str, Any]:
    def clock(value: str) -> time:
        try:
            return time.fromisoformat(value)
        except ValueError:
            raise FormError({"schedule": FIELD_MESSAGES["schedule"]}) from None

    if values["schedule_type"] == "weekly":
        return {
            "type": "weekly",
            "days": [int(d) for d in values["days"] if d.isdecimal()],
            "start": values["start"],
            "end": values["end"],
        }
    day = form_day(values["date"], "schedule")
    if day is None:
        raise FormError({"schedule": FIELD_MESSAGES["schedule"]})
    start = datetime.combine(day, clock(values["start"]), PARIS)
    end = datetime.combine(day, clock(values["end"]), PARIS)
    return {"type": "once", "starts_at": start.isoformat(), "ends_at": end.isoformat()}


def _post_values(form: FormMultiDict) -> dict[str, Any]:
    values: dict[str, Any] = {
        key: form_text(form, key)
        for key in ("kind", "category", "title", "description", "address", "lon", "lat",
                    "schedule_type", "date", "start", "end", "volunteers_needed")
    }  # fmt: skip
    values["days"] = form.getall("days", [])
    values["beneficiary"] = form.getall("beneficiary", [])
    values["urgent"] = form_text(form, "urgent") == "1"
    # The names a warning showed, sent back by the form: publishing as is, knowingly.
    values["names_checked"] = form_text(form, "names_checked")
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
    warnings: list[screening.TextWarning] | None = None,
) -> Template:  # fmt: skip
    resident = await assisted.get_assisted(tx, viewer, resident_id)
    fmt: Formats = formats_for(request, me)
    return workspace_page(
        request, "centre/post_for.html", me, status_code=status_code, resident=resident,
        errors=errors, values=values, weekdays=fmt.weekdays(), start={"lon": 2.354, "lat": 48.886},
        warnings=warnings or [], names_warning=screening.NAMES_PERSON,
        names_checked=screening.names_found(warnings or []),
    )  # fmt: skip


@get(
    "/habitants/{resident_id:int}/annonce",
    name="centre_post_for",
    operation_id="pageCentrePostFor",
    include_in_schema=False,
)
async def post_for_page(
    request: Request[Any, Any, Any],
    tx: Tx,
    worker: Person,
    resident_id: FromPath[int],
) -> Template:
    me, viewer = worker
    values = {
        "kind": "request", "category": "", "title": "", "description": "", "address": "",
        "lon": "", "lat": "", "schedule_type": "once", "date": "", "start": "", "end": "",
        "volunteers_needed": "1", "days": [], "beneficiary": [], "urgent": False,
    }  # fmt: skip
    return await _post_form(request, tx, viewer, me, resident_id, errors={}, values=values)


@post(
    "/habitants/{resident_id:int}/annonce",
    name="centre_post_for_submit",
    operation_id="pageCentrePostForSubmit",
    include_in_schema=False,
)
async def post_for_submit(
    request: Request[Any, Any, Any],
    tx: Tx,
    worker: Person,
    settings: SettingsDep,
    geocoder: GeocoderDep,
    quotas: QuotasDep,
    resident_id: FromPath[int],
) -> Response[Any]:
    me, viewer = worker
    values = _post_values(await request.form())
    try:
        data = _post_input(values, resident_id)
        texts = screening.PublicTexts(title=data.title, description=data.description)
        warnings = screening.check(texts)
        if warnings and screening.names_found(warnings) != values["names_checked"]:
            # The resident's name would be public: the worker sees it before anyone else,
            # and publishes as is by sending the form again.
            return await _post_form(
                request, tx, viewer, me, resident_id, errors={}, values=values, warnings=warnings
            )
        async with tx.begin_nested():
            # The worker's own quota: acting for many residents gives no more room.
            created = await create_and_match(
                tx, viewer, data, geocoder=geocoder, settings=settings, quotas=quotas
            )
    except screening.ScreeningRefused as exc:
        errors = dict(exc.fields)  # why, in the screening's own words
    except FormError as exc:
        errors = explained(exc.fields, FIELD_MESSAGES)
    except DomainError as exc:
        if exc.status_code not in (422, 503):
            raise
        errors = explained(domain_fields(exc), FIELD_MESSAGES) if exc.status_code == 422 else {}
        if exc.status_code == 503:
            errors["location"] = N_("La recherche d'adresse ne répond pas : placez l'épingle.")
    else:
        done = "publiee" if created.status == "published" else "relecture"
        return Redirect(f"/centre/habitants?fait={done}", status_code=303)
    return await _post_form(
        request, tx, viewer, me, resident_id, errors=errors, values=values, status_code=422
    )


ROUTES = [workspace_router(post_for_page, post_for_submit)]
