"""The volunteer's propositions near me (distance bands; nobody's identity or place
before confirmation) with accept and decline, and my matches: complete, cancel,
feedback, and for a weekly arrangement a visit or its end."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import suppress
from functools import partial
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins import clock
from voisins.api.deps import SettingsDep, Tx
from voisins.errors import Conflict, NotFound
from voisins.matching import checkins, lifecycle, reads
from voisins.matching.schemas import FeedbackIn, Proposition, ReasonIn
from voisins.web.formats import formats_for
from voisins.web.forms import N_, FormError, convert
from voisins.web.pages import Me, page
from voisins.web.problems import PAGE_ERROR_HANDLERS, is_htmx
from voisins.web.routes.volunteer.profile import residents_only
from voisins.web.signed_in import Person, SignedIn
from voisins.web.url_state import notice, page_number

HOLDING = ("accepted", "pending_review", "approved", "confirmed")


STATUS_LABELS = {
    "proposed": N_("À vous de répondre"),
    "accepted": N_("Acceptée"),
    "pending_review": N_("En attente de validation par le centre social"),
    "approved": N_("Validée par le centre social"),
    "confirmed": N_("Confirmée"),
    "completed": N_("Terminée"),
    "declined": N_("Refusée par vous"),
    "expired": N_("Expirée : pas de réponse à temps"),
    "withdrawn": N_("Retirée : la demande est pourvue ou close"),
    "rejected": N_("Non validée par le centre social"),
    "cancelled": N_("Annulée"),
}


NO_LONGER_OPEN = N_(
    "Cette proposition n'est plus ouverte : quelqu'un a peut-être déjà répondu, "
    "ou le délai est passé."
)


NO_LONGER_POSSIBLE = N_("Ce n'est plus possible : la mise en relation a changé entre-temps.")


MATCH_NOTICES = {
    "visite": N_("C'est noté : la visite d'aujourd'hui a eu lieu."),
    "arrete": N_("L'accompagnement est arrêté. Merci pour ces visites."),
}


# At most this many cards answered in one page view are kept on the live list.
KEPT_MAX = 50


def _card(
    request: Request[Any, Any, Any],
    me: Me,
    proposition: Proposition,
    *,
    level: int,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    keep: bool = False,
) -> Template:
    """One card alone: what htmx puts in place of the card that was answered (its
    heading at the ``level`` of the page it sits on). With ``keep``, the card carries
    its id for the live refresh of /propositions, which then keeps it in place."""
    return page(
        request, "volunteer/_proposition.html", me, p=proposition, fmt=formats_for(request, me),
        status_labels=STATUS_LABELS, card_errors=errors or {}, message=message, alone=True,
        level=level, kept={proposition.id} if keep else set(),
    )  # fmt: skip


def _kept_ids(request: Request[Any, Any, Any]) -> set[int]:
    """The cards answered in this page view (``?gardees=1&gardees=2``, sent by the live
    refresh): ids only, anything else ignored; whose they are is checked by the query."""
    kept: set[int] = set()
    for value in request.query_params.getall("gardees", []):
        if value.isascii() and value.isdigit() and len(value) <= 18 and len(kept) < KEPT_MAX:
            kept.add(int(value))
    return kept


@get("/propositions", name="propositions", operation_id="pagePropositions",
     include_in_schema=False)  # fmt: skip
async def propositions_page(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Template:
    me, viewer = person
    residents_only(viewer)
    found = await reads.list_propositions(tx, viewer, active_only=True, page=1, per_page=100)
    holding = sum(1 for p in found.items if p.status in HOLDING)
    # A card answered in this page view stays, in its new state and in its place (the
    # list's order), until the person leaves: otherwise the live refresh its own
    # notification starts drops it, and the next card's buttons slide under the finger.
    kept = _kept_ids(request)
    shown = [p for p in found.items if p.status == "proposed" or p.id in kept]
    for match_id in sorted(kept - {p.id for p in found.items}):
        with suppress(NotFound):  # someone else's, or gone: nothing to keep
            shown.append(await reads.get_proposition(tx, viewer, match_id))
    shown.sort(key=lambda p: (p.proposed_at, p.id), reverse=True)
    return page(
        request, "volunteer/propositions.html", me, fmt=formats_for(request, me),
        propositions=shown, holding=holding, status_labels=STATUS_LABELS, errors={}, kept=kept,
    )  # fmt: skip


async def _act(
    request: Request[Any, Any, Any],
    tx: Tx,
    person: SignedIn,
    match_id: int,
    action: Callable[[], Awaitable[Any]],
    *,
    then: str,
    refused: str,
    level: int,
    keep: bool = False,
) -> Response[Any]:
    """Do one step of the life cycle (``action``, called inside the savepoint). htmx gets the card
    in its new state (a race lost is said on the card); a plain form goes on to the
    page ``then``."""
    message = None
    try:
        async with tx.begin_nested():
            await action()
    except Conflict:
        if not is_htmx(request):
            raise
        message = refused
    if not is_htmx(request):
        return Redirect(then, status_code=303)
    proposition = await reads.get_proposition(tx, person.viewer, match_id)
    return _card(request, person.me, proposition, level=level, message=message, keep=keep)


@post("/propositions/{match_id:int}/accepter", name="proposition_accept",
      operation_id="pageAcceptProposition", include_in_schema=False)  # fmt: skip
async def accept(
    request: Request[Any, Any, Any], tx: Tx, person: Person, match_id: FromPath[int]
) -> Response[Any]:
    step = partial(lifecycle.accept, tx, person.viewer, match_id, now=clock.now())
    return await _act(request, tx, person, match_id, step, then="/mes-aides",
                      refused=NO_LONGER_OPEN, level=2, keep=True)  # fmt: skip


@post("/propositions/{match_id:int}/refuser", name="proposition_decline",
      operation_id="pageDeclineProposition", include_in_schema=False)  # fmt: skip
async def decline(
    request: Request[Any, Any, Any], tx: Tx, person: Person, settings: SettingsDep,
    match_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    step = partial(lifecycle.decline, tx, person.viewer, match_id, settings, now=clock.now())
    return await _act(request, tx, person, match_id, step, then="/propositions",
                      refused=NO_LONGER_OPEN, level=2, keep=True)  # fmt: skip


async def _matches_page(
    request: Request[Any, Any, Any],
    tx: Tx,
    person: SignedIn,
    *,
    errors: dict[int, dict[str, str]] | None = None,
    status_code: int = 200,
    confirm_stop: int | None = None,
) -> Template:
    me, viewer = person
    number = page_number(request)
    found = await reads.list_propositions(tx, viewer, active_only=False, page=number, per_page=50)
    current = [p for p in found.items if p.status in HOLDING]
    past = [p for p in found.items if p.status not in HOLDING and p.status != "proposed"]
    waiting = sum(1 for p in found.items if p.status == "proposed")
    feedback = await reads.feedback_given(tx, viewer, [p.id for p in past])
    weekly = [p.id for p in current + past if p.post.schedule.type == "weekly"]
    return page(
        request, "volunteer/matches.html", me, status_code=status_code,
        fmt=formats_for(request, me), current=current, past=past, waiting=waiting,
        status_labels=STATUS_LABELS, errors=errors or {}, page_number=number, feedback=feedback,
        has_more=found.has_more, visits=await checkins.visits_of(tx, weekly),
        confirm_stop=confirm_stop, notice=notice(request, MATCH_NOTICES),
    )  # fmt: skip


async def _refused_form(
    request: Request[Any, Any, Any], tx: Tx, person: SignedIn, match_id: int,
    errors: dict[str, str],
) -> Template:  # fmt: skip
    """My matches again, the message on that match's card (a form that did not pass)."""
    return await _matches_page(request, tx, person, errors={match_id: errors}, status_code=422)


@get("/mes-aides", name="my_matches", operation_id="pageMyMatches", include_in_schema=False)
async def matches_page(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Template:
    viewer = person.viewer
    residents_only(viewer)
    return await _matches_page(request, tx, person)


@post("/mes-aides/{match_id:int}/terminer", name="my_match_complete",
      operation_id="pageCompleteMatch", include_in_schema=False)  # fmt: skip
async def complete(
    request: Request[Any, Any, Any], tx: Tx, person: Person, match_id: FromPath[int]
) -> Response[Any]:
    step = partial(lifecycle.complete, tx, person.viewer, match_id, now=clock.now())
    return await _act(request, tx, person, match_id, step, then="/mes-aides",
                      refused=NO_LONGER_POSSIBLE, level=3)  # fmt: skip


@post("/mes-aides/{match_id:int}/annuler", name="my_match_cancel",
      operation_id="pageCancelMatch", include_in_schema=False)  # fmt: skip
async def cancel(
    request: Request[Any, Any, Any], tx: Tx, person: Person, settings: SettingsDep,
    match_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    me, viewer = person
    form = await request.form()
    try:
        data = convert({"reason": str(form.get("reason") or "").strip()}, ReasonIn)
    except FormError:
        errors = {"reason": N_("Dites en quelques mots pourquoi vous annulez.")}
        if is_htmx(request):
            proposition = await reads.get_proposition(tx, viewer, match_id)
            return _card(request, me, proposition, level=3, errors=errors)
        return await _refused_form(request, tx, person, match_id, errors)
    step = partial(lifecycle.cancel, tx, viewer, match_id, data.reason, settings, now=clock.now())
    return await _act(request, tx, person, match_id, step, then="/mes-aides",
                      refused=NO_LONGER_POSSIBLE, level=3)  # fmt: skip


@post("/mes-aides/{match_id:int}/avis", name="my_match_feedback",
      operation_id="pageMatchFeedback", include_in_schema=False)  # fmt: skip
async def feedback(
    request: Request[Any, Any, Any], tx: Tx, person: Person,
    match_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    """After the help: thanks, or the person was not there (their centre sees it in the
    history the review queue shows)."""
    viewer = person.viewer
    form = await request.form()
    try:
        data = convert({"kind": str(form.get("kind") or "")}, FeedbackIn)
    except FormError:
        errors = {"feedback": N_("Choisissez une réponse.")}
        return await _refused_form(request, tx, person, match_id, errors)
    step = partial(lifecycle.give_feedback, tx, viewer, match_id, data)
    return await _act(request, tx, person, match_id, step, then="/mes-aides",
                      refused=NO_LONGER_POSSIBLE, level=3)  # fmt: skip


@post("/mes-aides/{match_id:int}/visite", name="my_match_visit",
      operation_id="pageMyMatchVisit", include_in_schema=False)  # fmt: skip
async def visit(
    request: Request[Any, Any, Any], tx: Tx, person: Person,
    match_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    """«La visite d'aujourd'hui a eu lieu»: recorded with the day and an optional note;
    the arrangement stays confirmed."""
    viewer = person.viewer
    form = await request.form()
    try:
        data = convert({"note": str(form.get("note") or "").strip() or None}, checkins.VisitIn)
        async with tx.begin_nested():
            await checkins.record_visit(tx, viewer, match_id, data, now=clock.now())
    except FormError:
        errors = {"note": N_("Le mot fait 280 caractères au plus.")}
        return await _refused_form(request, tx, person, match_id, errors)
    return Redirect(f"/mes-aides?fait=visite#proposition-{match_id}", status_code=303)


@get("/mes-aides/{match_id:int}/arreter", name="my_match_stop_confirm",
     operation_id="pageMyMatchStopConfirm", include_in_schema=False)  # fmt: skip
async def stop_confirm(
    request: Request[Any, Any, Any], tx: Tx, person: Person,
    match_id: FromPath[int],
) -> Template:  # fmt: skip
    """«Arrêter l'accompagnement» asks first, on the card, saying it ends for good."""
    viewer = person.viewer
    residents_only(viewer)
    return await _matches_page(request, tx, person, confirm_stop=match_id)


@post("/mes-aides/{match_id:int}/arreter", name="my_match_stop",
      operation_id="pageMyMatchStop", include_in_schema=False)  # fmt: skip
async def stop(
    request: Request[Any, Any, Any], tx: Tx, person: Person,
    match_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    viewer = person.viewer
    form = await request.form()
    try:
        reason = str(form.get("reason") or "").strip() or None
        data = convert({"reason": reason}, checkins.StopIn)
    except FormError:
        errors = {"stop": N_("La raison fait 500 caractères au plus.")}
        return await _refused_form(request, tx, person, match_id, errors)
    step = partial(lifecycle.stop_arrangement, tx, viewer, match_id, data.reason, now=clock.now())
    return await _act(request, tx, person, match_id, step, then="/mes-aides?fait=arrete",
                      refused=NO_LONGER_POSSIBLE, level=3)  # fmt: skip


ROUTES: list[Any] = [
    Router(
        path="/",
        route_handlers=[
            propositions_page,
            accept,
            decline,
            matches_page,
            complete,
            cancel,
            feedback,
            visit,
            stop_confirm,
            stop,
        ],
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]
