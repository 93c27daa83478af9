"""Pages of the volunteer: the profile (home pin and radius on a map, kinds of help,
skills, languages, a weekly grid of free time), the propositions near me (distance
bands; nobody's identity or place before confirmation) with accept and decline, and my
matches. They call the services the API calls (accounts.volunteer, matching.reads,
matching.lifecycle)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins import clock
from voisins.accounts import volunteer
from voisins.accounts.access import Viewer
from voisins.accounts.volunteer import SlotOut, VolunteerIn, VolunteerProfile
from voisins.api.deps import GeocoderDep, OptionalViewer, QuotasDep, SettingsDep, Tx
from voisins.errors import Conflict, DomainError, Forbidden, NotFound
from voisins.matching import checkins, lifecycle, reads
from voisins.matching.schemas import FeedbackIn, Proposition, ReasonIn
from voisins.web.formats import formats_for
from voisins.web.forms import N_, FormError, convert, domain_fields
from voisins.web.pages import Me, page
from voisins.web.problems import PAGE_ERROR_HANDLERS, is_htmx, signed_in
from voisins.web.routes.public import home_area
from voisins.web.url_state import notice

# The weekly grid: a day is cut into three blocks; a block is ticked when the saved
# availability covers all of it.
BLOCKS: tuple[tuple[str, str, str, str], ...] = (
    ("matin", N_("Matin"), "08:00", "12:00"),
    ("apres-midi", N_("Après-midi"), "12:00", "18:00"),
    ("soir", N_("Soir"), "18:00", "22:00"),
)
# Languages most spoken in the neighbourhoods of the centres (ISO 639 codes; their
# names come from Babel in the reader's language).
LANGUAGES = (
    "fr", "ar", "kab", "en", "es", "pt", "it", "de", "ro", "pl", "uk", "ru", "tr", "fa",
    "ps", "ta", "zh", "vi", "wo", "bm", "ff", "sw", "ln",
)  # fmt: skip
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
# What to say next to a field the service refused.
FIELD_MESSAGES = {
    "location": N_("Placez l'épingle sur la carte, ou entrez votre adresse."),
    "radius_km": N_("Choisissez une distance entre 0,5 et 20 km."),
    "categories": N_("Cochez au moins une sorte d'aide."),
    "availability": N_("Vérifiez vos disponibilités."),
    "skill_tags": N_("Des mots de 2 à 40 lettres, séparés par des virgules."),
    "languages": N_("Cochez au moins une langue."),
    "max_active_matches": N_("Un nombre entre 1 et 20."),
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


def _residents_only(viewer: Viewer) -> None:
    if viewer.role != "resident":
        raise Forbidden("volunteer pages are for residents' accounts")


# ---------------------------------------------------------------------------------------
# Profile
# ---------------------------------------------------------------------------------------


def _blocks_covered(slots: list[SlotOut]) -> set[str]:
    ticked = set()
    for slot in slots:
        for key, _label, start, end in BLOCKS:
            if slot.start <= start and end <= slot.end:
                ticked.add(f"{slot.day}-{key}")
    return ticked


def _values_of(profile: VolunteerProfile | None) -> dict[str, Any]:
    """What the form shows: the saved profile, or the starting values."""
    if profile is None:
        return {
            "lon": "", "lat": "", "address": "", "address_located": "", "radius_km": 2,
            "categories": set(),
            "slots": set(), "skills": "", "languages": {"fr"}, "max_active_matches": 3,
            "paused": False,
        }  # fmt: skip
    return {
        "lon": f"{profile.location.lon:.6f}",
        "lat": f"{profile.location.lat:.6f}",
        "address": profile.location.address or "",
        "address_located": profile.location.address or "",
        "radius_km": f"{profile.radius_km:g}",
        "categories": set(profile.categories),
        "slots": _blocks_covered(profile.availability),
        "skills": ", ".join(profile.skill_tags),
        "languages": set(profile.languages),
        "max_active_matches": profile.max_active_matches,
        "paused": profile.paused,
    }


def _values_from(form: FormMultiDict) -> dict[str, Any]:
    def one(key: str) -> str:
        return str(form.get(key) or "").strip()

    return {
        "lon": one("lon"),
        "lat": one("lat"),
        "address": one("address"),
        "address_located": one("address_located"),
        "radius_km": one("radius_km"),
        "categories": set(form.getall("categories", [])),
        "slots": set(form.getall("slots", [])),
        "skills": one("skills"),
        "languages": set(form.getall("languages", [])),
        "max_active_matches": one("max_active_matches"),
        "paused": one("paused") == "1",
    }


def _input_of(values: dict[str, Any]) -> VolunteerIn:
    """The form's values as the API's body (refusals name the API's fields)."""
    location: dict[str, Any] = {}
    located = values.get("address_located", "")
    if located and not values["address"].startswith(located):
        # Another address was typed after the pin was placed: the address search finds it.
        values["lon"] = values["lat"] = values["address_located"] = ""
    if values["lon"] or values["lat"]:
        location = {"lon": values["lon"] or None, "lat": values["lat"] or None}
    if values["address"]:
        location["address"] = values["address"]
    blocks = {key: (start, end) for key, _label, start, end in BLOCKS}
    availability = []
    for slot in sorted(values["slots"]):
        day, _, block = slot.partition("-")
        if not day.isdecimal() or block not in blocks:
            raise FormError({"availability": FIELD_MESSAGES["availability"]})
        start, end = blocks[block]
        availability.append({"day": int(day), "start": start, "end": end})
    body = {
        "location": location,
        "radius_km": values["radius_km"].replace(",", ".") if values["radius_km"] else None,
        "categories": sorted(values["categories"]),
        "availability": availability,
        "skill_tags": [t.strip() for t in values["skills"].split(",") if t.strip()],
        "languages": sorted(values["languages"]),
        "max_active_matches": values["max_active_matches"] or 3,
        "paused": values["paused"],
    }
    return convert(body, VolunteerIn)


def _zoom(radius_km: Any) -> int:
    """A map zoom at which the radius circle fits on a phone's screen."""
    try:
        radius = float(str(radius_km).replace(",", "."))
    except ValueError:
        return 14
    # About 150 px of radius on a map 18 rem high, at the latitude of France.
    for zoom, up_to_km in ((15, 0.45), (14, 0.9), (13, 1.8), (12, 3.7), (11, 7.5), (10, 15)):
        if radius <= up_to_km:
            return zoom
    return 9


def _explained(fields: dict[str, str]) -> dict[str, str]:
    return {name: FIELD_MESSAGES.get(name, message) for name, message in fields.items()}


def _profile_page(
    request: Request[Any, Any, Any],
    me: Me,
    profile: VolunteerProfile | None,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    status_code: int = 200,
    saved: bool = False,
) -> Template:
    fmt = formats_for(request, me)
    offered = list(LANGUAGES) + sorted(set(values["languages"]) - set(LANGUAGES))
    return page(
        request, "volunteer/profile.html", me, status_code=status_code, fmt=fmt,
        profile=profile, values=values, errors=errors, saved=saved, blocks=BLOCKS,
        weekdays=fmt.weekdays(), languages=[(code, fmt.language(code)) for code in offered],
        start=home_area(request.app.state.settings)._asdict(),
        zoom=_zoom(values["radius_km"]),
    )  # fmt: skip


@get("/benevole", name="volunteer_profile", operation_id="pageVolunteerProfile",
     include_in_schema=False)  # fmt: skip
async def profile_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Template:
    me, viewer = await signed_in(request, tx, optional_viewer)
    _residents_only(viewer)
    try:
        profile: VolunteerProfile | None = await volunteer.get_profile(tx, viewer)
    except NotFound:
        profile = None
    saved = request.query_params.get("enregistre") == "1"
    return _profile_page(request, me, profile, _values_of(profile), {}, saved=saved)


@post("/benevole", name="volunteer_profile_save", operation_id="pageSaveVolunteerProfile",
      include_in_schema=False)  # fmt: skip
async def profile_save(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    settings: SettingsDep,
    geocoder: GeocoderDep,
    quotas: QuotasDep,
) -> Response[Any]:
    me, viewer = await signed_in(request, tx, optional_viewer)
    _residents_only(viewer)
    values = _values_from(await request.form())
    try:
        data = _input_of(values)
        async with tx.begin_nested():
            await volunteer.put_profile(
                tx, viewer, data, geocoder=geocoder, cell_size_m=settings.grid_cell_m, quotas=quotas
            )
    except FormError as exc:
        errors = _explained(exc.fields)
    except DomainError as exc:
        if exc.status_code not in (422, 503):
            raise
        errors = _explained(domain_fields(exc) if exc.status_code == 422 else {})
        if exc.status_code == 503:
            errors["location"] = N_(
                "La recherche d'adresse ne répond pas : placez l'épingle sur la carte."
            )
    else:
        return Redirect("/benevole?enregistre=1", status_code=303)
    try:
        profile: VolunteerProfile | None = await volunteer.get_profile(tx, viewer)
    except NotFound:
        profile = None
    return _profile_page(request, me, profile, values, errors, status_code=422)


# ---------------------------------------------------------------------------------------
# Propositions and my matches
# ---------------------------------------------------------------------------------------


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
async def propositions_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Template:
    me, viewer = await signed_in(request, tx, optional_viewer)
    _residents_only(viewer)
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
    viewer: Viewer,
    me: Me,
    match_id: int,
    action: Callable[[], Awaitable[Any]],
    *,
    then: str,
    refused: str,
    level: int,
    keep: bool = False,
) -> Response[Any]:
    """Do one step of the life cycle. htmx gets the card in its new state (a race lost
    is said on the card); a plain form goes on to the page ``then``."""
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
    proposition = await reads.get_proposition(tx, viewer, match_id)
    return _card(request, me, proposition, level=level, message=message, keep=keep)


@post("/propositions/{match_id:int}/accepter", name="proposition_accept",
      operation_id="pageAcceptProposition", include_in_schema=False)  # fmt: skip
async def accept(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    match_id: FromPath[int],
) -> Response[Any]:
    me, viewer = await signed_in(request, tx, optional_viewer)

    async def accept() -> None:
        await lifecycle.accept(tx, viewer, match_id, now=clock.now())

    return await _act(request, tx, viewer, me, match_id, accept, then="/mes-aides",
                      refused=NO_LONGER_OPEN, level=2, keep=True)  # fmt: skip


@post("/propositions/{match_id:int}/refuser", name="proposition_decline",
      operation_id="pageDeclineProposition", include_in_schema=False)  # fmt: skip
async def decline(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    settings: SettingsDep,
    match_id: FromPath[int],
) -> Response[Any]:
    me, viewer = await signed_in(request, tx, optional_viewer)

    async def decline() -> None:
        await lifecycle.decline(tx, viewer, match_id, settings, now=clock.now())

    return await _act(request, tx, viewer, me, match_id, decline, then="/propositions",
                      refused=NO_LONGER_OPEN, level=2, keep=True)  # fmt: skip


async def _matches_page(
    request: Request[Any, Any, Any],
    tx: Tx,
    viewer: Viewer,
    me: Me,
    *,
    errors: dict[int, dict[str, str]] | None = None,
    status_code: int = 200,
    confirm_stop: int | None = None,
) -> Template:
    try:
        number = max(1, min(int(request.query_params.get("page", "1")), 10_000))
    except ValueError:
        number = 1
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


@get("/mes-aides", name="my_matches", operation_id="pageMyMatches", include_in_schema=False)
async def matches_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Template:
    me, viewer = await signed_in(request, tx, optional_viewer)
    _residents_only(viewer)
    return await _matches_page(request, tx, viewer, me)


@post("/mes-aides/{match_id:int}/terminer", name="my_match_complete",
      operation_id="pageCompleteMatch", include_in_schema=False)  # fmt: skip
async def complete(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    match_id: FromPath[int],
) -> Response[Any]:
    me, viewer = await signed_in(request, tx, optional_viewer)

    async def complete() -> None:
        await lifecycle.complete(tx, viewer, match_id, now=clock.now())

    return await _act(request, tx, viewer, me, match_id, complete, then="/mes-aides",
                      refused=NO_LONGER_POSSIBLE, level=3)  # fmt: skip


@post("/mes-aides/{match_id:int}/annuler", name="my_match_cancel",
      operation_id="pageCancelMatch", include_in_schema=False)  # fmt: skip
async def cancel(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    settings: SettingsDep,
    match_id: FromPath[int],
) -> Response[Any]:
    me, viewer = await signed_in(request, tx, optional_viewer)
    form = await request.form()
    try:
        data = convert({"reason": str(form.get("reason") or "").strip()}, ReasonIn)
    except FormError:
        errors = {"reason": N_("Dites en quelques mots pourquoi vous annulez.")}
        if is_htmx(request):
            proposition = await reads.get_proposition(tx, viewer, match_id)
            return _card(request, me, proposition, level=3, errors=errors)
        return await _matches_page(
            request, tx, viewer, me, errors={match_id: errors}, status_code=422
        )

    async def cancel() -> None:
        await lifecycle.cancel(tx, viewer, match_id, data.reason, settings, now=clock.now())

    return await _act(request, tx, viewer, me, match_id, cancel, then="/mes-aides",
                      refused=NO_LONGER_POSSIBLE, level=3)  # fmt: skip


@post("/mes-aides/{match_id:int}/avis", name="my_match_feedback",
      operation_id="pageMatchFeedback", include_in_schema=False)  # fmt: skip
async def feedback(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    match_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    """After the help: thanks, or the person was not there (their centre sees it in the
    history the review queue shows)."""
    me, viewer = await signed_in(request, tx, optional_viewer)
    form = await request.form()
    try:
        data = convert({"kind": str(form.get("kind") or "")}, FeedbackIn)
    except FormError:
        errors = {"feedback": N_("Choisissez une réponse.")}
        return await _matches_page(
            request, tx, viewer, me, errors={match_id: errors}, status_code=422
        )

    async def give() -> None:
        await lifecycle.give_feedback(tx, viewer, match_id, data)

    return await _act(request, tx, viewer, me, match_id, give, then="/mes-aides",
                      refused=NO_LONGER_POSSIBLE, level=3)  # fmt: skip


# --- Weekly arrangements: a visit, or the end ---------------------------------------


@post("/mes-aides/{match_id:int}/visite", name="my_match_visit",
      operation_id="pageMyMatchVisit", include_in_schema=False)  # fmt: skip
async def visit(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    match_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    """«La visite d'aujourd'hui a eu lieu»: recorded with the day and an optional note;
    the arrangement stays confirmed."""
    me, viewer = await signed_in(request, tx, optional_viewer)
    form = await request.form()
    try:
        data = convert({"note": str(form.get("note") or "").strip() or None}, checkins.VisitIn)
        async with tx.begin_nested():
            await checkins.record_visit(tx, viewer, match_id, data, now=clock.now())
    except FormError:
        errors = {"note": N_("Le mot fait 280 caractères au plus.")}
        return await _matches_page(
            request, tx, viewer, me, errors={match_id: errors}, status_code=422
        )
    return Redirect(f"/mes-aides?fait=visite#proposition-{match_id}", status_code=303)


@get("/mes-aides/{match_id:int}/arreter", name="my_match_stop_confirm",
     operation_id="pageMyMatchStopConfirm", include_in_schema=False)  # fmt: skip
async def stop_confirm(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    match_id: FromPath[int],
) -> Template:  # fmt: skip
    """«Arrêter l'accompagnement» asks first, on the card, saying it ends for good."""
    me, viewer = await signed_in(request, tx, optional_viewer)
    _residents_only(viewer)
    return await _matches_page(request, tx, viewer, me, confirm_stop=match_id)


@post("/mes-aides/{match_id:int}/arreter", name="my_match_stop",
      operation_id="pageMyMatchStop", include_in_schema=False)  # fmt: skip
async def stop(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer,
    match_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    me, viewer = await signed_in(request, tx, optional_viewer)
    form = await request.form()
    try:
        reason = str(form.get("reason") or "").strip() or None
        data = convert({"reason": reason}, checkins.StopIn)
    except FormError:
        errors = {"stop": N_("La raison fait 500 caractères au plus.")}
        return await _matches_page(
            request, tx, viewer, me, errors={match_id: errors}, status_code=422
        )

    async def stop() -> None:
        await lifecycle.stop_arrangement(tx, viewer, match_id, data.reason, now=clock.now())

    return await _act(request, tx, viewer, me, match_id, stop, then="/mes-aides?fait=arrete",
                      refused=NO_LONGER_POSSIBLE, level=3)  # fmt: skip


ROUTES: list[Any] = [
    Router(
        path="/",
        route_handlers=[
            profile_page, profile_save, propositions_page, accept, decline, matches_page,
            complete, cancel, feedback, visit, stop_confirm, stop,
        ],
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]  # fmt: skip
