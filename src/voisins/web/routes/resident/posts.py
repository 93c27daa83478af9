"""My posts, and one post: what anyone may read of it, and for its author (or a social
worker acting for them) the answers, the contact once confirmed, withdrawing and
publishing again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins.accounts.access import Viewer
from voisins.api.deps import OptionalViewer, QuotasDep, SettingsDep, Tx
from voisins.errors import Conflict
from voisins.matching import checkins, lifecycle, on_behalf, reads
from voisins.matching.publication import publish_and_match
from voisins.posts import editing as post_editing
from voisins.posts import reads as post_reads
from voisins.posts import status as post_status
from voisins.posts.schemas import PostPrivate
from voisins.web.formats import formats_for
from voisins.web.forms import N_
from voisins.web.pages import Me, me_of, page
from voisins.web.problems import ME_STATE_KEY, PAGE_ERROR_HANDLERS
from voisins.web.routes.centre import residents as centre_residents
from voisins.web.signed_in import Person, SignedIn
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
    "modifiee": N_("Vos changements sont enregistrés."),
    "modifiee_relue": N_(
        "Vos changements sont enregistrés. Le centre social relit l'annonce avant qu'elle "
        "revienne en ligne."
    ),
    "visite": N_("C'est noté : la visite d'aujourd'hui a eu lieu."),
    "arretee": N_("L'accompagnement est arrêté. Merci pour ces visites."),
}

CANCELLABLE = lifecycle.HOLDING

CONFLICT = "conflict"
Changed = TypeVar("Changed")


@get("/mes-annonces", name="my_posts", operation_id="pageMyPosts", include_in_schema=False)
async def my_posts(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Template:
    me, viewer = person
    number = page_number(request)
    mine = await post_reads.list_mine(tx, viewer, number, PER_PAGE)
    return page(
        request, "resident/my_posts.html", me, posts=mine.items, page_number=number,
        has_more=mine.has_more, post_state=post_state, fmt=formats_for(request, me),
    )  # fmt: skip


async def post_page_of(
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
    confirm_stop: int | None = None,
) -> Template:
    shown = await post_reads.get_post(tx, viewer, post_id)  # NotFound: the 404 page
    mine = isinstance(shown, PostPrivate) and shown.is_mine
    # The author, or a social worker acting for them, may change it.
    manages = await post_reads.may_manage(tx, viewer, shown)
    answers, given, visits = None, {}, {}
    if mine and viewer is not None:
        answers = await reads.post_matches(tx, viewer, post_id)
        given = await reads.my_feedback(tx, viewer, post_id)
        visits = await checkins.visits_of(tx, [a.id for a in answers.answers])
    return page(
        request, "resident/post.html", me, status_code=status_code, post=shown, mine=mine,
        answers=answers.answers if answers else [],
        waiting=answers.waiting if answers else 0,
        said_no=answers.said_no if answers else 0,
        given=given, errors=errors or {}, values=values or {},
        notice=notice(request, NOTICES) if mine or manages else None,
        state=post_state(shown.kind, shown.status), match_states=MATCH_STATES,
        cancellable=CANCELLABLE, fmt=formats_for(request, me),
        confirm_withdraw=confirm_withdraw and mine, visits=visits,
        may_edit=manages and shown.status in post_editing.EDITABLE, confirm_stop=confirm_stop,
        # Public cells only, a little rounded: a square of the fixed grid.
        cell={"lon": round(shown.cell.lon, 5), "lat": round(shown.cell.lat, 5)},
    )  # fmt: skip


@get("/annonces/{post_id:int}", name="post_page", operation_id="pagePost",
     include_in_schema=False)  # fmt: skip
async def post_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer, post_id: FromPath[int]
) -> Template:
    """Anyone may read an open post (its public cell only); its author sees everything,
    and so does a social worker acting for an assisted author (the centre's view)."""
    me = await me_of(tx, optional_viewer)
    request.state[ME_STATE_KEY] = me
    if optional_viewer is not None and me is not None:
        resident_id = await on_behalf.resident_for(tx, optional_viewer, post_id)
        if resident_id is not None:
            return await centre_residents.followed_post_page(
                request, tx, optional_viewer, me, resident_id, post_id
            )
    return await post_page_of(request, tx, optional_viewer, me, post_id)


@get("/annonces/{post_id:int}/retirer", name="withdraw_post_confirm",
     operation_id="pageWithdrawPostConfirm", include_in_schema=False)  # fmt: skip
async def withdraw_post_confirm(
    request: Request[Any, Any, Any], tx: Tx, person: Person, post_id: FromPath[int]
) -> Template:
    """The post's «Retirer» is a link to this step: one tap asks, it never withdraws.
    The question and its form are on the post page itself, for its author only."""
    me, viewer = person
    return await post_page_of(request, tx, viewer, me, post_id, confirm_withdraw=True)


async def _changed(
    request: Request[Any, Any, Any], tx: Tx, person: SignedIn, post_id: int,
    change: Callable[[], Awaitable[Changed]], refused: str,
) -> Changed | Template:  # fmt: skip
    """``change`` called in a savepoint; when the post moved on meanwhile
    (409), the post page saying ``refused`` instead."""
    try:
        async with tx.begin_nested():
            return await change()
    except Conflict:
        return await post_page_of(request, tx, person.viewer, person.me, post_id,
                                  errors={CONFLICT: refused}, status_code=409)  # fmt: skip


@post("/annonces/{post_id:int}/retirer", name="withdraw_post", operation_id="pageWithdrawPost",
      include_in_schema=False)  # fmt: skip
async def withdraw_post(
    request: Request[Any, Any, Any], tx: Tx, person: Person, settings: SettingsDep,
    quotas: QuotasDep, post_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    withdrawn = partial(
        post_status.withdraw, tx, person.viewer, post_id, settings=settings, quotas=quotas
    )
    refused = N_("Cette annonce ne peut plus être retirée.")
    if isinstance(
        shown := await _changed(request, tx, person, post_id, withdrawn, refused), Template
    ):
        return shown
    return Redirect(f"/annonces/{post_id}?fait=retiree", status_code=303)


@post("/annonces/{post_id:int}/publier", name="republish_post",
      operation_id="pageRepublishPost", include_in_schema=False)  # fmt: skip
async def republish_post(
    request: Request[Any, Any, Any], tx: Tx, person: Person, settings: SettingsDep,
    quotas: QuotasDep, post_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    """A draft, an expired post or a refused one (once edited) goes out again; matching
    runs at once, unless the centre reviews every post first."""
    published = partial(
        publish_and_match, tx, person.viewer, post_id, settings=settings, quotas=quotas
    )
    refused = N_("Cette annonce ne peut pas être publiée de nouveau.")
    if isinstance(
        shown := await _changed(request, tx, person, post_id, published, refused), Template
    ):
        return shown
    done = "republiee" if shown.status == "published" else "a_relire"
    return Redirect(f"/annonces/{post_id}?fait={done}", status_code=303)


ROUTES: list[Any] = [
    Router(
        path="/",
        route_handlers=[my_posts, post_page, withdraw_post_confirm, withdraw_post, republish_post],
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]
