"""What the author of a request does with one answer: complete it, cancel it, give
feedback, note a weekly visit, stop an arrangement (after a confirmation). A refusal
shows the post again with the message next to that answer's form."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins import clock
from voisins.api.deps import SettingsDep, Tx
from voisins.errors import Conflict
from voisins.matching import checkins, lifecycle
from voisins.matching.schemas import FeedbackIn, ReasonIn
from voisins.settings import Settings
from voisins.web.forms import N_, FormError, convert, form_values
from voisins.web.problems import PAGE_ERROR_HANDLERS
from voisins.web.routes.resident.posts import CONFLICT, post_page_of
from voisins.web.signed_in import Person, SignedIn

FORM_MESSAGES = {
    "cancel": N_("Écrivez la raison en quelques mots (2 caractères au moins)."),
    "feedback": N_("Choisissez une réponse. Le commentaire fait 1 000 caractères au plus."),
    "visit": N_("Le mot fait 280 caractères au plus."),
    "stop": N_("La raison fait 500 caractères au plus."),
}

ANSWER_PATH = "/annonces/{post_id:int}/reponses/{match_id:int}"


async def _answer_action(
    request: Request[Any, Any, Any],
    tx: Tx,
    person: SignedIn,
    post_id: int,
    match_id: int,
    action: str,
    settings: Settings,
) -> Response[Any]:
    """Complete, cancel or give feedback on one answer to my request; a refusal shows
    the post again with the message next to that answer's form."""
    me, viewer = person
    values = await form_values(request)
    field = f"{action}_{match_id}"  # the answer's own form shows the message
    try:
        async with tx.begin_nested():
            if action == "complete":
                await lifecycle.complete(tx, viewer, match_id, now=clock.now())
                done = "terminee"
            elif action == "cancel":
                reason = convert({"reason": str(values.get("reason", "")).strip()}, ReasonIn)
                await lifecycle.cancel(
                    tx, viewer, match_id, reason.reason, settings, now=clock.now()
                )
                done = "annulee"
            elif action == "visit":
                note = str(values.get("note", "")).strip() or None
                visit = convert({"note": note}, checkins.VisitIn)
                await checkins.record_visit(tx, viewer, match_id, visit, now=clock.now())
                done = "visite"
            elif action == "stop":
                stop = convert(
                    {"reason": str(values.get("reason", "")).strip() or None}, checkins.StopIn
                )
                await lifecycle.stop_arrangement(tx, viewer, match_id, stop.reason, now=clock.now())
                done = "arretee"
            else:
                comment = str(values.get("comment", "")).strip() or None
                data = convert({"kind": values.get("kind"), "comment": comment}, FeedbackIn)
                await lifecycle.give_feedback(tx, viewer, match_id, data)
                done = "avis"
    except FormError:
        return await post_page_of(request, tx, viewer, me, post_id, values={field: values},
                                errors={field: FORM_MESSAGES[action]}, status_code=400)  # fmt: skip
    except Conflict:
        # The answer moved on meanwhile (its form may be gone): said above everything.
        errors = {CONFLICT: N_("Ce n'est plus possible pour cette mise en relation.")}
        return await post_page_of(request, tx, viewer, me, post_id, errors=errors, status_code=409)
    return Redirect(f"/annonces/{post_id}?fait={done}#reponse-{match_id}", status_code=303)


def _answer_route(
    action: str, segment: str, *, name: str, operation_id: str, summary: str | None = None
) -> HTTPRouteHandler:
    """The form of one ``action`` on an answer, at ``ANSWER_PATH/segment``: the same
    handler under each action's own address, route name and operation id."""

    async def answer(
        request: Request[Any, Any, Any], tx: Tx, person: Person, settings: SettingsDep,
        post_id: FromPath[int], match_id: FromPath[int],
    ) -> Response[Any]:  # fmt: skip
        return await _answer_action(request, tx, person, post_id, match_id, action, settings)

    answer.__doc__ = summary
    return post(f"{ANSWER_PATH}/{segment}", name=name, operation_id=operation_id,
                include_in_schema=False)(answer)  # fmt: skip


complete_match = _answer_route(
    "complete", "terminer", name="complete_match", operation_id="pageCompleteMatch"
)
cancel_match = _answer_route(
    "cancel", "annuler", name="cancel_match", operation_id="pageCancelMatch"
)
match_feedback = _answer_route(
    "feedback", "avis", name="match_feedback", operation_id="pageMatchFeedback"
)
match_visit = _answer_route(
    "visit", "visite", name="match_visit", operation_id="pageMatchVisit",
    summary="«La visite d'aujourd'hui a eu lieu»: the weekly arrangement goes on.",
)  # fmt: skip
match_stop = _answer_route("stop", "arreter", name="match_stop", operation_id="pageMatchStop")


@get(f"{ANSWER_PATH}/arreter", name="match_stop_confirm",
     operation_id="pageMatchStopConfirm", include_in_schema=False)  # fmt: skip
async def match_stop_confirm(
    request: Request[Any, Any, Any],
    tx: Tx,
    person: Person,
    post_id: FromPath[int],
    match_id: FromPath[int],
) -> Template:
    """«Arrêter l'accompagnement» asks first, saying that it ends the arrangement."""
    me, viewer = person
    return await post_page_of(request, tx, viewer, me, post_id, confirm_stop=match_id)


ROUTES: list[Any] = [
    Router(
        path="/",
        route_handlers=[
            complete_match, cancel_match, match_feedback, match_visit, match_stop_confirm,
            match_stop,
        ],
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]  # fmt: skip
