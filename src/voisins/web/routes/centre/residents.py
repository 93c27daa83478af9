"""Assisted residents in the centre workspace: the list and registration (with
consent), one resident's page following their posts — «c'est fait», cancelling and
feedback done for them (matching/on_behalf.py) — their requests' own page as the
worker reads it, and posting on their behalf. Page plumbing and wording come from
centre.py."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins import clock
from voisins.accounts import assisted
from voisins.accounts.access import Viewer
from voisins.accounts.assisted import AssistedIn
from voisins.api.deps import GeocoderDep, OptionalViewer, QuotasDep, SettingsDep, Tx
from voisins.clock import PARIS
from voisins.errors import Conflict, DomainError, NotFound
from voisins.matching import lifecycle, on_behalf, reads
from voisins.matching.publication import create_and_match
from voisins.matching.schemas import FeedbackIn, ReasonIn
from voisins.posts import editing as post_editing
from voisins.posts import reads as post_reads
from voisins.posts import screening
from voisins.posts.schemas import PostIn, PostPrivate
from voisins.settings import Settings
from voisins.web.formats import Formats, formats_for, paris_moment
from voisins.web.forms import N_, FormError, convert, domain_fields
from voisins.web.pages import Me
from voisins.web.problems import PAGE_ERROR_HANDLERS
from voisins.web.routes.centre.common import (
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

# What the pages following a resident's requests need to word them.
FOLLOW_WORDS = {
    "post_state": post_state, "match_states": MATCH_STATES, "cancellable": lifecycle.HOLDING,
}  # fmt: skip
ANSWER_MESSAGES = {
    "cancel": N_("Écrivez la raison en quelques mots (2 caractères au moins)."),
    "feedback": N_("Choisissez une réponse. Le commentaire fait 1 000 caractères au plus."),
}
ALREADY_MOVED = N_(
    "Ce n'est plus possible pour cette mise en relation : elle a changé, ou un collègue "
    "s'en est occupé."
)

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
        today=clock.today(),
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


async def _resident(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, me: Me, resident_id: int, *,
    errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:  # fmt: skip
    number = _int(request.query_params.get("page"), 1)
    found = await reads.assisted_posts(tx, viewer, resident_id, number, PER_PAGE)
    answers = [a.id for item in found.items for a in item.answers.answers]
    return _render(
        request, "centre/resident.html", me, status_code=status_code,
        resident=await assisted.get_assisted(tx, viewer, resident_id), items=found.items,
        page_number=number, has_more=found.has_more, consent_methods=CONSENT_METHODS,
        given=await on_behalf.feedback_given(tx, answers), errors=errors or {},
        values=values or {}, **FOLLOW_WORDS,
    )  # fmt: skip


@get("/habitants/{resident_id:int}", name="centre_resident", operation_id="pageCentreResident",
     include_in_schema=False)  # fmt: skip
async def resident_page(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    resident_id: FromPath[int],
) -> Template:
    """One assisted resident and their posts, newest first: each post's state, its
    answers and, once confirmed, the volunteer's contact, with what the resident would
    do from their own page (done, cancel, feedback) done for them. Another centre's
    worker is refused."""
    me, viewer = await _worker(request, tx, optional_viewer)
    return await _resident(request, tx, viewer, me, resident_id)


async def followed_post_page(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, me: Me, resident_id: int,
    post_id: int, *, errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None, status_code: int = 200,
) -> Template:  # fmt: skip
    """A request of an assisted resident as a social worker acting for them reads it on
    its own page (/annonces/{id}, web/routes/resident.py): its state, the answers, the
    confirmed volunteer's contact and the same actions as on the resident's page."""
    shown = await post_reads.get_post(tx, viewer, post_id)  # the private view, audited
    if not isinstance(shown, PostPrivate):
        raise NotFound("no such post")
    item = reads.FollowedPost(post=shown, answers=await reads.post_matches(tx, viewer, post_id))
    return _render(
        request, "centre/followed_post.html", me, status_code=status_code, item=item,
        editable=post_editing.EDITABLE,
        resident=await assisted.get_assisted(tx, viewer, resident_id),
        given=await on_behalf.feedback_given(tx, [a.id for a in item.answers.answers]),
        errors=errors or {}, values=values or {}, **FOLLOW_WORDS,
    )  # fmt: skip


async def _act_for(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: Viewer | None,
    resident_id: int,
    match_id: int,
    action: str,
    settings: Settings | None = None,
) -> Response[Any]:
    """«C'est fait», cancel or feedback for an assisted resident, through the services
    the resident's own pages call; a refusal shows the page the form came from again,
    with the message next to that answer's form."""
    me, viewer = await _worker(request, tx, optional_viewer)
    form = await request.form()
    values = {key: _text(form, key) for key in ("reason", "kind", "comment")}
    on_post_page = _text(form, "retour") == "annonce"
    field = f"{action}_{match_id}"
    now = clock.now()
    try:
        async with tx.begin_nested():
            if action == "complete":
                await on_behalf.complete(tx, viewer, resident_id, match_id, now=now)
                done = "terminee"
            elif action == "cancel" and settings is not None:
                reason = convert({"reason": values["reason"]}, ReasonIn).reason
                await on_behalf.cancel(tx, viewer, resident_id, match_id, reason, settings, now=now)
                done = "annulee"
            else:
                data = convert(
                    {"kind": values["kind"] or None, "comment": values["comment"] or None},
                    FeedbackIn,
                )
                await on_behalf.give_feedback(tx, viewer, resident_id, match_id, data)
                done = "avis"
    except (FormError, Conflict) as exc:
        if isinstance(exc, FormError):
            errors, status_code = {field: ANSWER_MESSAGES[action]}, 400
        else:  # the answer moved on meanwhile, or a colleague acted first
            errors, status_code = {"conflict": ALREADY_MOVED}, 409
        if on_post_page:
            post_id = await on_behalf.post_of_answer(tx, viewer, resident_id, match_id)
            return await followed_post_page(
                request, tx, viewer, me, resident_id, post_id, errors=errors,
                values={field: values}, status_code=status_code,
            )  # fmt: skip
        return await _resident(
            request, tx, viewer, me, resident_id, errors=errors, values={field: values},
            status_code=status_code,
        )  # fmt: skip
    if on_post_page:
        post_id = await on_behalf.post_of_answer(tx, viewer, resident_id, match_id)
        return Redirect(f"/annonces/{post_id}?fait={done}#reponse-{match_id}", status_code=303)
    return Redirect(
        f"/centre/habitants/{resident_id}?fait={done}#reponse-{match_id}", status_code=303
    )


@post("/habitants/{resident_id:int}/reponses/{match_id:int}/terminer",
      name="centre_resident_complete", operation_id="pageCentreResidentComplete",
      include_in_schema=False)  # fmt: skip
async def resident_complete(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    resident_id: FromPath[int],
    match_id: FromPath[int],
) -> Response[Any]:
    return await _act_for(request, tx, optional_viewer, resident_id, match_id, "complete")


@post("/habitants/{resident_id:int}/reponses/{match_id:int}/annuler",
      name="centre_resident_cancel", operation_id="pageCentreResidentCancel",
      include_in_schema=False)  # fmt: skip
async def resident_cancel(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    settings: SettingsDep,
    resident_id: FromPath[int],
    match_id: FromPath[int],
) -> Response[Any]:
    return await _act_for(request, tx, optional_viewer, resident_id, match_id, "cancel", settings)


@post("/habitants/{resident_id:int}/reponses/{match_id:int}/avis",
      name="centre_resident_feedback", operation_id="pageCentreResidentFeedback",
      include_in_schema=False)  # fmt: skip
async def resident_feedback(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    resident_id: FromPath[int],
    match_id: FromPath[int],
) -> Response[Any]:
    return await _act_for(request, tx, optional_viewer, resident_id, match_id, "feedback")


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
    # The names a warning showed, sent back by the form: publishing as is, knowingly.
    values["names_checked"] = _text(form, "names_checked")
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
    return _render(
        request, "centre/post_for.html", me, status_code=status_code, resident=resident,
        errors=errors, values=values, weekdays=fmt.weekdays(), start={"lon": 2.354, "lat": 48.886},
        warnings=warnings or [], names_warning=screening.NAMES_PERSON,
        names_checked=screening.names_found(warnings or []),
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
            residents_page, resident_create, resident_page, resident_complete,
            resident_cancel, resident_feedback, post_for_page, post_for_submit,
        ],
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]  # fmt: skip
