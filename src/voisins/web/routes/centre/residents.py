"""Assisted residents in the centre workspace: the list and registration (with
consent), one resident's page following their posts — «c'est fait», cancelling and
feedback done for them (matching/on_behalf.py) — and their requests' own page as the
worker reads it. Posting on their behalf: post_for.py."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins import clock
from voisins.accounts import assisted
from voisins.accounts.access import Viewer
from voisins.accounts.assisted import AssistedIn
from voisins.api.deps import SettingsDep, Tx
from voisins.errors import Conflict, DomainError, NotFound
from voisins.matching import lifecycle, on_behalf, reads
from voisins.matching.schemas import FeedbackIn, ReasonIn
from voisins.posts import editing as post_editing
from voisins.posts import reads as post_reads
from voisins.posts.schemas import PostPrivate
from voisins.settings import Settings
from voisins.web.formats import paris_moment
from voisins.web.forms import N_, FormError, convert, domain_fields, explained, form_text
from voisins.web.pages import Me
from voisins.web.routes.centre.common import (
    FIELD_MESSAGES,
    PER_PAGE,
    form_day,
    my_centres,
    workspace_page,
    workspace_router,
)
from voisins.web.signed_in import Person
from voisins.web.url_state import list_page
from voisins.web.wording import MATCH_STATES, post_state

CONSENT_METHODS = {
    "in_person": N_("En personne"),
    "phone": N_("Par téléphone"),
    "written": N_("Par écrit"),
}

# What the pages following a resident's requests need to word them.
FOLLOW_WORDS = {
    "post_state": post_state,
    "match_states": MATCH_STATES,
    "cancellable": lifecycle.HOLDING,
}
ANSWER_MESSAGES = {
    "cancel": N_("Écrivez la raison en quelques mots (2 caractères au moins)."),
    "feedback": N_("Choisissez une réponse. Le commentaire fait 1 000 caractères au plus."),
}
ALREADY_MOVED = N_(
    "Ce n'est plus possible pour cette mise en relation : elle a changé, ou un collègue "
    "s'en est occupé."
)


async def _residents(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, me: Me, *,
    errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:  # fmt: skip
    number = list_page(request.query_params.get("page"))
    found = await assisted.list_assisted(tx, viewer, number, PER_PAGE)
    return workspace_page(
        request, "centre/residents.html", me, status_code=status_code, items=found.items,
        page_number=number, has_more=found.has_more, errors=errors or {},
        values=values or {"vulnerability": [], "locale": "fr", "consent_method": "in_person"},
        centres=await my_centres(tx, viewer), consent_methods=CONSENT_METHODS,
        today=clock.today(),
    )  # fmt: skip


@get(
    "/habitants",
    name="centre_residents",
    operation_id="pageCentreResidents",
    include_in_schema=False,
)
async def residents_page(request: Request[Any, Any, Any], tx: Tx, worker: Person) -> Template:
    me, viewer = worker
    return await _residents(request, tx, viewer, me)


@post(
    "/habitants",
    name="centre_resident_create",
    operation_id="pageCentreCreateResident",
    include_in_schema=False,
)
async def resident_create(request: Request[Any, Any, Any], tx: Tx, worker: Person) -> Response[Any]:
    me, viewer = worker
    form = await request.form()
    values: dict[str, Any] = {
        key: form_text(form, key)
        for key in ("display_name", "phone", "email", "locale", "consent_method",
                    "consent_on", "consent_centre", "consent_note")
    }  # fmt: skip
    values["vulnerability"] = form.getall("vulnerability", [])
    try:
        obtained = form_day(values["consent_on"], "consent") if values["consent_on"] else None
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
        errors = explained(exc.fields, FIELD_MESSAGES)
    except DomainError as exc:
        if exc.status_code not in (403, 422) or not exc.fields:
            raise
        errors = explained(domain_fields(exc), FIELD_MESSAGES)
    else:
        return Redirect("/centre/habitants?fait=habitant", status_code=303)
    return await _residents(request, tx, viewer, me, errors=errors, values=values, status_code=422)


async def _resident(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, me: Me, resident_id: int, *,
    errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:  # fmt: skip
    number = list_page(request.query_params.get("page"))
    found = await reads.assisted_posts(tx, viewer, resident_id, number, PER_PAGE)
    answers = [a.id for item in found.items for a in item.answers.answers]
    return workspace_page(
        request, "centre/resident.html", me, status_code=status_code,
        resident=await assisted.get_assisted(tx, viewer, resident_id), items=found.items,
        page_number=number, has_more=found.has_more, consent_methods=CONSENT_METHODS,
        given=await on_behalf.feedback_given(tx, answers), errors=errors or {},
        values=values or {}, **FOLLOW_WORDS,
    )  # fmt: skip


@get(
    "/habitants/{resident_id:int}",
    name="centre_resident",
    operation_id="pageCentreResident",
    include_in_schema=False,
)
async def resident_page(
    request: Request[Any, Any, Any],
    tx: Tx,
    worker: Person,
    resident_id: FromPath[int],
) -> Template:
    """One assisted resident and their posts, newest first: each post's state, its
    answers and, once confirmed, the volunteer's contact, with what the resident would
    do from their own page (done, cancel, feedback) done for them. Another centre's
    worker is refused."""
    me, viewer = worker
    return await _resident(request, tx, viewer, me, resident_id)


async def followed_post_page(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, me: Me, resident_id: int,
    post_id: int, *, errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None, status_code: int = 200,
) -> Template:  # fmt: skip
    """A request of an assisted resident as a social worker acting for them reads it on
    its own page (/annonces/{id}, web/routes/resident/): its state, the answers, the
    confirmed volunteer's contact and the same actions as on the resident's page."""
    shown = await post_reads.get_post(tx, viewer, post_id)  # the private view, audited
    if not isinstance(shown, PostPrivate):
        raise NotFound("no such post")
    item = reads.FollowedPost(post=shown, answers=await reads.post_matches(tx, viewer, post_id))
    return workspace_page(
        request, "centre/followed_post.html", me, status_code=status_code, item=item,
        editable=post_editing.EDITABLE,
        resident=await assisted.get_assisted(tx, viewer, resident_id),
        given=await on_behalf.feedback_given(tx, [a.id for a in item.answers.answers]),
        errors=errors or {}, values=values or {}, **FOLLOW_WORDS,
    )  # fmt: skip


async def _act_for(
    request: Request[Any, Any, Any],
    tx: Tx,
    worker: Person,
    resident_id: int,
    match_id: int,
    action: str,
    settings: Settings | None = None,
) -> Response[Any]:
    """«C'est fait», cancel or feedback for an assisted resident, through the services
    the resident's own pages call; a refusal shows the page the form came from again,
    with the message next to that answer's form."""
    me, viewer = worker
    form = await request.form()
    values = {key: form_text(form, key) for key in ("reason", "kind", "comment")}
    on_post_page = form_text(form, "retour") == "annonce"
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


@post(
    "/habitants/{resident_id:int}/reponses/{match_id:int}/terminer",
    name="centre_resident_complete",
    operation_id="pageCentreResidentComplete",
    include_in_schema=False,
)
async def resident_complete(
    request: Request[Any, Any, Any],
    tx: Tx,
    worker: Person,
    resident_id: FromPath[int],
    match_id: FromPath[int],
) -> Response[Any]:
    return await _act_for(request, tx, worker, resident_id, match_id, "complete")


@post(
    "/habitants/{resident_id:int}/reponses/{match_id:int}/annuler",
    name="centre_resident_cancel",
    operation_id="pageCentreResidentCancel",
    include_in_schema=False,
)
async def resident_cancel(
    request: Request[Any, Any, Any],
    tx: Tx,
    worker: Person,
    settings: SettingsDep,
    resident_id: FromPath[int],
    match_id: FromPath[int],
) -> Response[Any]:
    return await _act_for(request, tx, worker, resident_id, match_id, "cancel", settings)


@post(
    "/habitants/{resident_id:int}/reponses/{match_id:int}/avis",
    name="centre_resident_feedback",
    operation_id="pageCentreResidentFeedback",
    include_in_schema=False,
)
async def resident_feedback(
    request: Request[Any, Any, Any],
    tx: Tx,
    worker: Person,
    resident_id: FromPath[int],
    match_id: FromPath[int],
) -> Response[Any]:
    return await _act_for(request, tx, worker, resident_id, match_id, "feedback")


ROUTES = [
    workspace_router(
        residents_page,
        resident_create,
        resident_page,
        resident_complete,
        resident_cancel,
        resident_feedback,
    )
]
