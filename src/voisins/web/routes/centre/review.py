"""The review queue of the centre's workspace: the matches and posts that wait for a
social worker (moderation/review.py), and the decision on each, always with an internal
note (kept, never sent) and, if the worker writes one, a message to the person."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins import clock
from voisins.accounts.access import Viewer
from voisins.api.deps import SettingsDep, Tx
from voisins.errors import BadRequest, Invalid, NotFound
from voisins.moderation import review
from voisins.moderation.review import QueueItem, ReviewDecisionIn
from voisins.web.forms import N_, FormError, convert, form_text
from voisins.web.pages import Me, page
from voisins.web.problems import is_htmx
from voisins.web.routes.centre.common import (
    ALREADY_DONE,
    PER_PAGE,
    decide_first,
    first_of,
    workspace_page,
    workspace_router,
)
from voisins.web.signed_in import Person
from voisins.web.url_state import list_page
from voisins.web.wording import REPORT_REASONS

REPORT_ABOUT = {
    "post": N_("Sur l'annonce"),
    "author": N_("Sur la personne qui demande"),
    "volunteer": N_("Sur le bénévole"),
}
NOTE_NEEDED = N_(
    "Écrivez la raison de votre décision (3 caractères au moins) : elle est gardée dans "
    "l'historique, jamais envoyée."
)
MESSAGE_TOO_LONG = N_("Le message fait 500 caractères au plus.")


def _key(kind: str, item_id: int) -> str:
    return f"{kind}-{item_id}"


async def _queue(
    request: Request[Any, Any, Any],
    tx: Tx,
    viewer: Viewer,
    me: Me,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Template:
    number = list_page(request.query_params.get("page"))
    found = await review.review_queue(tx, viewer, page=number, per_page=PER_PAGE)
    return workspace_page(
        request, "centre/queue.html", me, status_code=status_code, items=found.items,
        errors=errors or {}, page_number=number, has_more=found.has_more,
        report_reasons=REPORT_REASONS, report_about=REPORT_ABOUT,
    )  # fmt: skip


@get("/", name="centre_queue", operation_id="pageCentreQueue", include_in_schema=False)
async def queue_page(request: Request[Any, Any, Any], tx: Tx, worker: Person) -> Template:
    me, viewer = worker
    return await _queue(request, tx, viewer, me)


@post(
    "/validation/{kind:str}/{item_id:int}",
    name="centre_review",
    operation_id="pageCentreReview",
    include_in_schema=False,
)
async def review_decision(
    request: Request[Any, Any, Any],
    tx: Tx,
    worker: Person,
    settings: SettingsDep,
    kind: FromPath[str],
    item_id: FromPath[int],
) -> Response[Any]:
    """Approve or reject a match or a post of the queue, always with an internal note
    (kept, never sent) and, if the worker writes one, a message to the person."""
    me, viewer = worker
    if kind not in ("match", "post"):
        raise NotFound("no such kind of item")
    form = await request.form()
    decision = form_text(form, "decision")
    if decision not in ("approve", "reject"):
        raise BadRequest("approve or reject")
    number = list_page(form.get("page"))
    waiting = await review.review_queue(tx, viewer, page=number, per_page=PER_PAGE)
    item = first_of(waiting.items, lambda i: i.type == kind and i.id == item_id)
    try:
        said = convert(
            {"note": form_text(form, "note"), "message": form_text(form, "message") or None},
            ReviewDecisionIn,
        )
        note, message = said.internal(), said.outward()
    except (FormError, Invalid) as exc:
        failed = exc.fields if isinstance(exc, FormError) else {"note": ""}
        errors = {"message": MESSAGE_TOO_LONG} if "message" in failed else {"note": NOTE_NEEDED}
        if is_htmx(request) and item is not None:
            return _queue_card(request, me, item, errors=errors, page_number=number)
        return await _queue(
            request, tx, viewer, me, errors={_key(kind, item_id): errors}, status_code=422
        )
    approve = decision == "approve"

    async def take_decision() -> str:
        if kind == "match":
            return await review.decide_match(
                tx, viewer, item_id, approve=approve, reason=note, message=message,
                settings=settings, now=clock.now(),
            )  # fmt: skip
        if approve:
            return await review.approve_post(
                tx, viewer, item_id, note, settings=settings, now=clock.now(), message=message
            )
        return await review.reject_post(tx, viewer, item_id, note, now=clock.now(), message=message)

    outcome = await decide_first(take_decision, request, tx)
    if not is_htmx(request):
        return Redirect(f"/centre?fait={'approuve' if approve else 'refuse'}", status_code=303)
    return page(
        request, "centre/_decided.html", me, item=item, kind=kind, item_id=item_id,
        approve=approve, note=note, message=message, done=outcome is not None,
        already=ALREADY_DONE,
    )  # fmt: skip


def _queue_card(
    request: Request[Any, Any, Any],
    me: Me,
    item: QueueItem,
    *,
    errors: dict[str, str],
    page_number: int,
) -> Template:
    return workspace_page(
        request, "centre/_queue_item.html", me, item=item, item_errors=errors,
        page_number=page_number, report_reasons=REPORT_REASONS, report_about=REPORT_ABOUT,
    )  # fmt: skip


ROUTES = [workspace_router(queue_page, review_decision)]
