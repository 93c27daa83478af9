"""Pages of the resident: a new post in three steps, my posts, one post (what others
see of it, and for its author: the answers, the contact once confirmed, completing,
cancelling, feedback). The messages (inbox) and account pages are in inbox.py and
account.py; their routes are listed here too, under the same error pages.

Every page calls the service functions the API calls; a refusal becomes the form again
with messages next to the fields, or an error page — never a JSON body."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.types import ExceptionHandlersMap

from voisins import clock
from voisins.accounts.access import Viewer
from voisins.api.deps import GeocoderDep, OptionalViewer, QuotasDep, SettingsDep, Tx
from voisins.errors import Conflict, Forbidden, Invalid
from voisins.geo.geocoder import DisabledGeocoder, Geocoder
from voisins.matching import checkins, lifecycle, on_behalf, reads
from voisins.matching.publication import create_and_match, publish_and_match
from voisins.matching.schemas import FeedbackIn, ReasonIn
from voisins.posts import editing as post_editing
from voisins.posts import reads as post_reads
from voisins.posts import screening
from voisins.posts import status as post_status
from voisins.posts.schemas import Description, PostPrivate, PostUpdate, Title
from voisins.schedule import PARIS
from voisins.settings import Settings
from voisins.web import wizard
from voisins.web.formats import formats_for
from voisins.web.forms import N_, FormError, convert, form_values
from voisins.web.pages import Me, me_of, page
from voisins.web.problems import ME_STATE_KEY, PAGE_ERROR_HANDLERS, signed_in
from voisins.web.routes import account, inbox
from voisins.web.routes.centre import residents as centre_residents
from voisins.web.routes.public import home_area
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
FORM_MESSAGES = {
    "cancel": N_("Écrivez la raison en quelques mots (2 caractères au moins)."),
    "feedback": N_("Choisissez une réponse. Le commentaire fait 1 000 caractères au plus."),
    "visit": N_("Le mot fait 280 caractères au plus."),
    "stop": N_("La raison fait 500 caractères au plus."),
}
NOT_EDITABLE = N_("Cette annonce est close ou retirée : elle ne peut plus être modifiée.")
EDITED_MEANWHILE = N_(
    "Cette annonce a été modifiée entre-temps, peut-être par quelqu'un qui vous aide. "
    "Voici la version actuelle : refaites votre changement."
)
CANCELLABLE = lifecycle.HOLDING
CONFLICT = "conflict"


def _residents_only(viewer: Viewer) -> None:
    # Staff publish for an assisted resident from the centre's pages.
    if viewer.role != "resident":
        raise Forbidden("the new post pages are for residents' accounts")


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
        home=home_area(request.app.state.settings)._asdict(),
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
    public = screening.PublicTexts(
        title=wizard.text_of(values, "title"), description=wizard.text_of(values, "description")
    )
    if refused := screening.refusals(public):  # said at the step where they were written
        return again(1, refused, 422)
    if step == 1:
        return again(2, {}, 200)
    errors, placed = await wizard.check_where(values, geocoder)
    if errors:
        return again(2, errors)
    if placed:  # the address became a point: the person checks the pin first
        return _wizard(request, me, geocoder, 2, values, {}, placed=True)
    if step == 2:
        return again(3, {}, 200)
    if errors := wizard.check_when(values, clock.now()):
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
    mine = await post_reads.list_mine(tx, viewer, number, PER_PAGE)
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
            await post_status.withdraw(tx, viewer, post_id, settings=settings, quotas=quotas)
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


# --- Editing a post -----------------------------------------------------------------


def _schedule_values(post: PostPrivate) -> dict[str, Any]:
    """The schedule as the form shows it (Paris time), the way the wizard asked it."""
    schedule = post.schedule
    if schedule.type == "once" and schedule.starts_at and schedule.ends_at:
        start, end = schedule.starts_at.astimezone(PARIS), schedule.ends_at.astimezone(PARIS)
        return {"schedule_type": "once", "date": start.date().isoformat(),
                "start": f"{start:%H:%M}", "end": f"{end:%H:%M}", "days": []}  # fmt: skip
    return {"schedule_type": "weekly", "date": "", "start": schedule.start or "",
            "end": schedule.end or "", "days": [str(d) for d in schedule.days or []]}  # fmt: skip


def _edit_values(post: PostPrivate) -> dict[str, Any]:
    return {"title": post.title, "description": post.description, **_schedule_values(post)}


def _same_schedule(values: dict[str, Any], current: dict[str, Any]) -> bool:
    kind = wizard.text_of(values, "schedule_type")
    if kind != current["schedule_type"]:
        return False
    fields = ("date", "start", "end") if kind == "once" else ("start", "end")
    if any(wizard.text_of(values, f)[: 5 if f != "date" else None] != current[f] for f in fields):
        return False
    return kind == "once" or sorted(wizard.days_of(values)) == sorted(current["days"])


def _schedule_body(values: dict[str, Any]) -> dict[str, Any]:
    """The checked form's schedule (``wizard.check_when``) as the API's."""
    start, end = wizard.text_of(values, "start")[:5], wizard.text_of(values, "end")[:5]
    if wizard.text_of(values, "schedule_type") == "weekly":
        days = sorted({int(d) for d in wizard.days_of(values)})
        return {"type": "weekly", "days": days, "start": start, "end": end}
    day = date.fromisoformat(wizard.text_of(values, "date"))

    def at(clock: str) -> str:
        hours, minutes = (int(part) for part in clock.split(":"))
        return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=PARIS).isoformat()

    return {"type": "once", "starts_at": at(start), "ends_at": at(end)}


def _fits(value: str, kind: Any) -> bool:
    try:
        msgspec.convert(value, kind)
    except msgspec.ValidationError:
        return False
    return True


def _edit_input(values: dict[str, Any], post: PostPrivate, now: datetime) -> PostUpdate:
    """The form as the API's PATCH body: the text, the schedule only when it changed (a
    past one-off date stays as it was), and the version the form showed."""
    errors: dict[str, str] = {}
    title, description = wizard.text_of(values, "title"), wizard.text_of(values, "description")
    if not _fits(title, Title):
        errors["title"] = N_("Écrivez un titre de 3 à 120 caractères.")
    if not _fits(description, Description):
        errors["description"] = N_("Le texte est trop long. 4 000 caractères au plus.")
    body: dict[str, Any] = {"title": title, "description": description}
    version = wizard.text_of(values, "version")
    if version.isascii() and version.isdigit() and len(version) < 10:
        body["version"] = int(version)
    if not _same_schedule(values, _schedule_values(post)):
        errors |= wizard.check_when(values, now)
        if not errors:
            body["schedule"] = _schedule_body(values)
    if errors:
        raise FormError(errors)
    return convert(body, PostUpdate)


async def _edit_page(
    request: Request[Any, Any, Any],
    tx: Tx,
    viewer: Viewer,
    me: Me,
    post: PostPrivate,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    status_code: int = 200,
    warnings: list[screening.TextWarning] | None = None,
) -> Template:
    held, reviewed = await post_editing.edit_outlook(tx, viewer, post)
    return page(
        request, "resident/post_edit.html", me, status_code=status_code, post=post,
        values=values, errors=errors, version=post.version, text_of=wizard.text_of,
        chosen_days=wizard.days_of(values), weekdays=formats_for(request, me).weekdays(),
        holders=held, reviewed=reviewed, warnings=warnings or [],
        names_warning=screening.NAMES_PERSON, names_checked=screening.names_found(warnings or []),
    )  # fmt: skip


async def _editable(tx: Tx, viewer: Viewer, post_id: int) -> PostPrivate | None:
    """The post if this viewer may change it (else 403/404); None when it is over."""
    post = await post_reads.get_post(tx, viewer, post_id)
    if not isinstance(post, PostPrivate) or not await post_reads.may_manage(tx, viewer, post):
        raise Forbidden("only the author (or a social worker acting for them) may change a post")
    return post if post.status in post_editing.EDITABLE else None


@get("/annonces/{post_id:int}/modifier", name="edit_post", operation_id="pageEditPost",
     include_in_schema=False)  # fmt: skip
async def edit_post(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer, post_id: FromPath[int]
) -> Template:
    """The text and the schedule of a post, to change after publication."""
    me, viewer = await signed_in(request, tx, optional_viewer)
    post = await _editable(tx, viewer, post_id)
    if post is None:
        return await _post_page(request, tx, viewer, me, post_id,
                                errors={CONFLICT: NOT_EDITABLE}, status_code=409)  # fmt: skip
    return await _edit_page(request, tx, viewer, me, post, _edit_values(post), {})


@post("/annonces/{post_id:int}/modifier", name="edit_post_save",
      operation_id="pageEditPostSave", include_in_schema=False)  # fmt: skip
async def edit_post_save(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer, post_id: FromPath[int]
) -> Response[Any]:
    """The same service as PATCH /api/v1/posts/{id}: an edit made from a version that is
    not the latest shows the latest, with a message, instead of overwriting it."""
    me, viewer = await signed_in(request, tx, optional_viewer)
    post = await _editable(tx, viewer, post_id)
    if post is None:
        return await _post_page(request, tx, viewer, me, post_id,
                                errors={CONFLICT: NOT_EDITABLE}, status_code=409)  # fmt: skip
    values = await form_values(request)
    try:
        data = _edit_input(values, post, clock.now())
        if viewer.is_staff:  # a social worker writing for a resident: as on the centre's form
            warnings = screening.check(
                screening.PublicTexts(
                    title=wizard.text_of(values, "title"),
                    description=wizard.text_of(values, "description"),
                )
            )
            if warnings and screening.names_found(warnings) != wizard.text_of(
                values, "names_checked"
            ):
                return await _edit_page(
                    request, tx, viewer, me, post, values, {}, warnings=warnings
                )
        async with tx.begin_nested():  # a refusal leaves nothing written
            updated = await post_editing.update_post(tx, viewer, post_id, data)
    except FormError as exc:
        return await _edit_page(request, tx, viewer, me, post, values, exc.fields, status_code=400)
    except screening.ScreeningRefused as exc:  # why, in the screening's own words
        return await _edit_page(request, tx, viewer, me, post, values, exc.fields, status_code=422)
    except Invalid as exc:
        errors = wizard.service_errors(exc)
        if "title" in exc.fields:
            errors.pop("form", None)
            errors["title"] = N_("Écrivez un titre de 3 à 120 caractères.")
        return await _edit_page(request, tx, viewer, me, post, values, errors, status_code=400)
    except Conflict as exc:
        latest = await _editable(tx, viewer, post_id)
        if "version" in exc.fields and latest is not None:
            return await _edit_page(request, tx, viewer, me, latest, _edit_values(latest),
                                    {CONFLICT: EDITED_MEANWHILE}, status_code=409)  # fmt: skip
        return await _post_page(request, tx, viewer, me, post_id,
                                errors={CONFLICT: NOT_EDITABLE}, status_code=409)  # fmt: skip
    back_in_review = updated.status == "in_review" and post.status != "in_review"
    done = "modifiee_relue" if back_in_review else "modifiee"
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
                await lifecycle.complete(tx, viewer, match_id, now=clock.now())
                done = "terminee"
            elif action == "cancel" and settings is not None:
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


@post("/annonces/{post_id:int}/reponses/{match_id:int}/visite", name="match_visit",
      operation_id="pageMatchVisit", include_in_schema=False)  # fmt: skip
async def match_visit(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    post_id: FromPath[int],
    match_id: FromPath[int],
) -> Response[Any]:
    """«La visite d'aujourd'hui a eu lieu»: the weekly arrangement goes on."""
    return await _answer_action(request, tx, optional_viewer, post_id, match_id, "visit")


@get("/annonces/{post_id:int}/reponses/{match_id:int}/arreter", name="match_stop_confirm",
     operation_id="pageMatchStopConfirm", include_in_schema=False)  # fmt: skip
async def match_stop_confirm(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    post_id: FromPath[int],
    match_id: FromPath[int],
) -> Template:
    """«Arrêter l'accompagnement» asks first, saying that it ends the arrangement."""
    me, viewer = await signed_in(request, tx, optional_viewer)
    return await _post_page(request, tx, viewer, me, post_id, confirm_stop=match_id)


@post("/annonces/{post_id:int}/reponses/{match_id:int}/arreter", name="match_stop",
      operation_id="pageMatchStop", include_in_schema=False)  # fmt: skip
async def match_stop(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    post_id: FromPath[int],
    match_id: FromPath[int],
) -> Response[Any]:
    return await _answer_action(request, tx, optional_viewer, post_id, match_id, "stop")


ERROR_PAGES: ExceptionHandlersMap = dict(PAGE_ERROR_HANDLERS.items())
ROUTES: list[Any] = [
    Router(
        path="/",
        route_handlers=[
            new_post, new_post_step, my_posts, post_page, withdraw_post_confirm, withdraw_post,
            republish_post,
            complete_match, cancel_match, match_feedback, *inbox.HANDLERS, *account.HANDLERS,
            edit_post, edit_post_save, match_visit, match_stop_confirm, match_stop,
        ],
        exception_handlers=ERROR_PAGES,
    )
]  # fmt: skip
