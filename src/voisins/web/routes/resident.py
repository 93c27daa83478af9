"""Pages of the resident: a new post in three steps, my posts, one post (what others
see of it, and for its author: the answers, the contact once confirmed, completing,
cancelling, feedback). The messages (inbox) and account pages are in inbox.py and
account.py; their routes are listed here too, under the same error pages.

Every page calls the service functions the API calls; a refusal becomes the form again
with messages next to the fields, or an error page — never a JSON body."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.types import ExceptionHandlersMap

from voisins.accounts.access import Viewer
from voisins.api.deps import GeocoderDep, OptionalViewer, QuotasDep, SettingsDep, Tx
from voisins.errors import Conflict, Forbidden, Invalid
from voisins.geo.geocoder import DisabledGeocoder, Geocoder
from voisins.matching import lifecycle, views
from voisins.matching.publication import create_and_match, publish_and_match
from voisins.matching.schemas import FeedbackIn, ReasonIn
from voisins.posts import service as posts
from voisins.posts.schemas import PostPrivate
from voisins.settings import Settings
from voisins.web import wizard
from voisins.web.formats import formats_for
from voisins.web.forms import N_, FormError, convert, form_values
from voisins.web.pages import Me, me_of, page
from voisins.web.problems import ME_STATE_KEY, PAGE_ERROR_HANDLERS, signed_in
from voisins.web.routes import account, inbox
from voisins.web.routes.public import HOME_PLACE
from voisins.web.url_state import notice, page_number
from voisins.web.wording import MATCH_STATES, post_state

PER_PAGE = 20
NOTICES = {
    "publiee": N_("Votre annonce est enregistrée."),
    "retiree": N_("Votre annonce est retirée. Personne ne la voit plus."),
    "republiee": N_("Votre annonce est de nouveau en ligne."),
    "a_relire": N_("Votre annonce est envoyée au centre social, qui la relit avant de la publier."),
    "terminee": N_("Merci ! L'aide est notée comme faite."),
    "annulee": N_("La mise en relation est annulée."),
    "avis": N_("Merci pour votre avis."),
}
FORM_MESSAGES = {
    "cancel": N_("Écrivez la raison en quelques mots (2 caractères au moins)."),
    "feedback": N_("Choisissez une réponse. Le commentaire fait 1 000 caractères au plus."),
}
CANCELLABLE = lifecycle.HOLDING
CONFLICT = "conflict"


def _residents_only(viewer: Viewer) -> None:
    # Staff publish for an assisted resident from the centre's pages.
    if viewer.role != "resident":
        raise Forbidden("the new post pages are for residents' accounts")


def _now() -> datetime:
    return datetime.now(UTC)


# --- New post: three steps ----------------------------------------------------------


def _wizard(
    request: Request[Any, Any, Any],
    me: Me,
    geocoder: Geocoder,
    step: int,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    status_code: int = 200,
    placed: bool = False,
) -> Template:
    # The answers of the other steps travel along, so going back loses nothing.
    carried = [name for s in (1, 2, 3) if s != step for name in wizard.STEP_FIELDS[s]]
    return page(
        request, "resident/new_post.html", me, status_code=status_code, step=step,
        values=values, errors=errors, carried=carried, placed=placed,
        chosen_days=wizard.days_of(values), text_of=wizard.text_of,
        weekdays=formats_for(request, me).weekdays(),
        geocoder_on=not isinstance(geocoder, DisabledGeocoder),
        home={"lon": HOME_PLACE.lon, "lat": HOME_PLACE.lat},
    )  # fmt: skip


@get("/annonces/nouvelle", name="new_post", operation_id="pageNewPost", include_in_schema=False)
async def new_post(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer, geocoder: GeocoderDep
) -> Template:
    me, viewer = await signed_in(request, tx, optional_viewer)
    _residents_only(viewer)
    return _wizard(request, me, geocoder, 1, {"schedule_type": "once", "urgency": "normal"}, {})


@post("/annonces/nouvelle", name="new_post_step", operation_id="pageNewPostStep",
      include_in_schema=False)  # fmt: skip
async def new_post_step(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    settings: SettingsDep,
    geocoder: GeocoderDep,
    quotas: QuotasDep,
) -> Response[Any]:
    """One step sent: check it (and the earlier ones), then show the next step; after
    the third, publish — matching runs at once, in the same transaction."""
    me, viewer = await signed_in(request, tx, optional_viewer)
    _residents_only(viewer)
    values = await form_values(request)
    step = {"1": 1, "2": 2, "3": 3}.get(str(values.pop("etape", "1")), 1)
    if values.pop("retour", None):
        return _wizard(request, me, geocoder, max(step - 1, 1), values, {})

    def again(at: int, errors: dict[str, str], status_code: int = 400) -> Template:
        return _wizard(request, me, geocoder, at, values, errors, status_code=status_code)

    if errors := wizard.check_what(values):
        return again(1, errors)
    if step == 1:
        return again(2, {}, 200)
    errors, placed = await wizard.check_where(values, geocoder)
    if errors:
        return again(2, errors)
    if placed:  # the address became a point: the person checks the pin first
        return _wizard(request, me, geocoder, 2, values, {}, placed=True)
    if step == 2:
        return again(3, {}, 200)
    if errors := wizard.check_when(values, _now()):
        return again(3, errors)
    try:
        data = wizard.post_input(values)
        async with tx.begin_nested():  # a refusal leaves nothing written
            created = await create_and_match(
                tx, viewer, data, geocoder=geocoder, settings=settings, quotas=quotas
            )
    except FormError as exc:
        return again(3, exc.fields)
    except (Invalid, Conflict) as exc:
        errors = wizard.service_errors(exc)
        return again(wizard.step_of(errors), errors, 409 if isinstance(exc, Conflict) else 400)
    return Redirect(f"/annonces/{created.id}?fait=publiee", status_code=303)


# --- My posts -----------------------------------------------------------------------


@get("/mes-annonces", name="my_posts", operation_id="pageMyPosts", include_in_schema=False)
async def my_posts(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Template:
    me, viewer = await signed_in(request, tx, optional_viewer)
    number = page_number(request)
    mine = await posts.list_mine(tx, viewer, number, PER_PAGE)
    return page(
        request, "resident/my_posts.html", me, posts=mine.items, page_number=number,
        has_more=mine.has_more, post_state=post_state, fmt=formats_for(request, me),
    )  # fmt: skip


# --- One post -----------------------------------------------------------------------


async def _post_page(
    request: Request[Any, Any, Any],
    tx: Tx,
    viewer: Viewer | None,
    me: Me | None,
    post_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
    confirm_withdraw: bool = False,
) -> Template:
    shown = await posts.get_post(tx, viewer, post_id)  # NotFound: the 404 page
    mine = isinstance(shown, PostPrivate) and shown.is_mine
    answers, given = None, {}
    if mine and viewer is not None:
        answers = await views.post_matches(tx, viewer, post_id)
        given = await views.my_feedback(tx, viewer, post_id)
    return page(
        request, "resident/post.html", me, status_code=status_code, post=shown, mine=mine,
        answers=answers.answers if answers else [],
        waiting=answers.waiting if answers else 0,
        said_no=answers.said_no if answers else 0,
        given=given, errors=errors or {}, values=values or {},
        notice=notice(request, NOTICES) if mine else None,
        state=post_state(shown.kind, shown.status), match_states=MATCH_STATES,
        cancellable=CANCELLABLE, fmt=formats_for(request, me),
        confirm_withdraw=confirm_withdraw and mine,
        # Public cells only, a little rounded: a square of the fixed grid.
        cell={"lon": round(shown.cell.lon, 5), "lat": round(shown.cell.lat, 5)},
    )  # fmt: skip


@get("/annonces/{post_id:int}", name="post_page", operation_id="pagePost",
     include_in_schema=False)  # fmt: skip
async def post_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer, post_id: FromPath[int]
) -> Template:
    """Anyone may read an open post (its public cell only); its author sees everything."""
    me = await me_of(tx, optional_viewer)
    request.state[ME_STATE_KEY] = me
    return await _post_page(request, tx, optional_viewer, me, post_id)


@get("/annonces/{post_id:int}/retirer", name="withdraw_post_confirm",
     operation_id="pageWithdrawPostConfirm", include_in_schema=False)  # fmt: skip
async def withdraw_post_confirm(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer, post_id: FromPath[int]
) -> Template:
    """The post's «Retirer» is a link to this step: one tap asks, it never withdraws.
    The question and its form are on the post page itself, for its author only."""
    me, viewer = await signed_in(request, tx, optional_viewer)
    return await _post_page(request, tx, viewer, me, post_id, confirm_withdraw=True)


@post("/annonces/{post_id:int}/retirer", name="withdraw_post", operation_id="pageWithdrawPost",
      include_in_schema=False)  # fmt: skip
async def withdraw_post(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    settings: SettingsDep,
    quotas: QuotasDep,
    post_id: FromPath[int],
) -> Response[Any]:
    me, viewer = await signed_in(request, tx, optional_viewer)
    try:
        async with tx.begin_nested():
            await posts.withdraw(tx, viewer, post_id, settings=settings, quotas=quotas)
    except Conflict:
        errors = {CONFLICT: N_("Cette annonce ne peut plus être retirée.")}
        return await _post_page(request, tx, viewer, me, post_id, errors=errors, status_code=409)
    return Redirect(f"/annonces/{post_id}?fait=retiree", status_code=303)


@post("/annonces/{post_id:int}/publier", name="republish_post",
      operation_id="pageRepublishPost", include_in_schema=False)  # fmt: skip
async def republish_post(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    settings: SettingsDep,
    quotas: QuotasDep,
    post_id: FromPath[int],
) -> Response[Any]:
    """A draft, an expired post or a refused one (once edited) goes out again; matching
    runs at once, unless the centre reviews every post first."""
    me, viewer = await signed_in(request, tx, optional_viewer)
    try:
        async with tx.begin_nested():
            published = await publish_and_match(
                tx, viewer, post_id, settings=settings, quotas=quotas
            )
    except Conflict:
        errors = {CONFLICT: N_("Cette annonce ne peut pas être publiée de nouveau.")}
        return await _post_page(request, tx, viewer, me, post_id, errors=errors, status_code=409)
    done = "republiee" if published.status == "published" else "a_relire"
    return Redirect(f"/annonces/{post_id}?fait={done}", status_code=303)


async def _answer_action(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: Viewer | None,
    post_id: FromPath[int],
    match_id: FromPath[int],
    action: str,
    settings: Settings | None = None,
) -> Response[Any]:
    """Complete, cancel or give feedback on one answer to my request; a refusal shows
    the post again with the message next to that answer's form."""
    me, viewer = await signed_in(request, tx, optional_viewer)
    values = await form_values(request)
    field = f"{action}_{match_id}"  # the answer's own form shows the message
    try:
        async with tx.begin_nested():
            if action == "complete":
                await lifecycle.complete(tx, viewer, match_id, now=_now())
                done = "terminee"
            elif action == "cancel" and settings is not None:
                reason = convert({"reason": str(values.get("reason", "")).strip()}, ReasonIn)
                await lifecycle.cancel(tx, viewer, match_id, reason.reason, settings, now=_now())
                done = "annulee"
            else:
                comment = str(values.get("comment", "")).strip() or None
                data = convert({"kind": values.get("kind"), "comment": comment}, FeedbackIn)
                await lifecycle.give_feedback(tx, viewer, match_id, data)
                done = "avis"
    except FormError:
        return await _post_page(request, tx, viewer, me, post_id, values={field: values},
                                errors={field: FORM_MESSAGES[action]}, status_code=400)  # fmt: skip
    except Conflict:
        # The answer moved on meanwhile (its form may be gone): said above everything.
        errors = {CONFLICT: N_("Ce n'est plus possible pour cette mise en relation.")}
        return await _post_page(request, tx, viewer, me, post_id, errors=errors, status_code=409)
    return Redirect(f"/annonces/{post_id}?fait={done}#reponse-{match_id}", status_code=303)


@post("/annonces/{post_id:int}/reponses/{match_id:int}/terminer", name="complete_match",
      operation_id="pageCompleteMatch", include_in_schema=False)  # fmt: skip
async def complete_match(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    post_id: FromPath[int],
    match_id: FromPath[int],
) -> Response[Any]:
    return await _answer_action(request, tx, optional_viewer, post_id, match_id, "complete")


@post("/annonces/{post_id:int}/reponses/{match_id:int}/annuler", name="cancel_match",
      operation_id="pageCancelMatch", include_in_schema=False)  # fmt: skip
async def cancel_match(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    settings: SettingsDep,
    post_id: FromPath[int],
    match_id: FromPath[int],
) -> Response[Any]:
    return await _answer_action(request, tx, optional_viewer, post_id, match_id, "cancel", settings)


@post("/annonces/{post_id:int}/reponses/{match_id:int}/avis", name="match_feedback",
      operation_id="pageMatchFeedback", include_in_schema=False)  # fmt: skip
async def match_feedback(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    post_id: FromPath[int],
    match_id: FromPath[int],
) -> Response[Any]:
    return await _answer_action(request, tx, optional_viewer, post_id, match_id, "feedback")


ERROR_PAGES: ExceptionHandlersMap = dict(PAGE_ERROR_HANDLERS.items())
ROUTES: list[Any] = [
    Router(
        path="/",
        route_handlers=[
            new_post, new_post_step, my_posts, post_page, withdraw_post_confirm, withdraw_post,
            republish_post,
            complete_match, cancel_match, match_feedback, *inbox.HANDLERS, *account.HANDLERS,
        ],
        exception_handlers=ERROR_PAGES,
    )
]  # fmt: skip
