"""Pages of the two people of intergenerational housing (issue 16): the scheme in a few
words with my applications and pairings, the application form (a host of 60 or more,
or a young person under 30), my application with its steps, and my pairing once the
centre social has introduced us, with its documents.

The pages call the services the API calls (voisins.housing): who reads what is decided
there — an application by its person, a pairing by its two people only once they were
introduced, the centre's notes never. Anything else is the same 404 page as an id that
does not exist."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.types import ExceptionHandlersMap

from voisins import clock
from voisins.accounts.access import Viewer
from voisins.api.deps import GeocoderDep, OptionalViewer, SettingsDep, Tx
from voisins.centres.service import get_centre, list_centres
from voisins.errors import Conflict, Forbidden, Invalid, NotFound
from voisins.geo.geocoder import DisabledGeocoder, Geocoder
from voisins.housing import applications, documents, pairs, rules
from voisins.housing.schemas import Application, ApplicationIn, Pair, Step
from voisins.web import wizard
from voisins.web.formats import formats_for
from voisins.web.forms import N_, FormError, convert, form_values
from voisins.web.pages import Me, page
from voisins.web.problems import PAGE_ERROR_HANDLERS, signed_in
from voisins.web.routes.public import home_area
from voisins.web.routes.volunteer import LANGUAGES
from voisins.web.url_state import notice

# The address says which side: French words, as the rest of the site's addresses.
SIDES = {"hote": "host", "jeune": "young"}
SIDE_WORDS = {"host": "hote", "young": "jeune"}
CENTRES_SHOWN = 200

FORMULAS = {
    "free_presence": N_("Chambre gratuite, contre une présence le soir"),
    "solidarity": N_("Une petite participation aux charges, chaque mois"),
    "modest_rent": N_("Un loyer modeste"),
}
SERVICES = {
    "evening_presence": N_("Être là le soir"),
    "shopping": N_("Courses"),
    "meals": N_("Repas partagés"),
    "company": N_("Compagnie, conversation"),
    "digital_help": N_("Aide avec l'ordinateur ou le téléphone"),
    "small_repairs": N_("Petits travaux"),
    "gardening": N_("Jardinage"),
    "pet_care": N_("S'occuper d'un animal"),
    "paperwork": N_("Aide pour les papiers"),
}
RHYTHMS = {
    "early": N_("Plutôt couché tôt et levé tôt"),
    "late": N_("Plutôt couché tard"),
    "flexible": N_("Ça dépend, je m'adapte"),
}
OCCUPATIONS = {
    "student": N_("Études"),
    "apprentice": N_("Apprentissage"),
    "worker": N_("Travail"),
    "other": N_("Autre"),
}
STEP_KINDS = {
    "interview": N_("Premier entretien au centre social"),
    "home_visit": N_("Visite du logement"),
    "references": N_("Références vérifiées"),
    "proposed": N_("Binôme proposé par le centre social"),
    "meeting": N_("Rencontre avec le centre social"),
    "trial": N_("Emménagement : début de la période d'essai"),
    "agreement": N_("Convention signée"),
    "followup_visit": N_("Visite de suivi"),
    "ended": N_("Fin du binôme"),
}
OUTCOMES = {
    "favourable": N_("favorable"),
    "unfavourable": N_("pas favorable"),
    "noted": N_("noté"),
}
# What a person reads of their application (the service shows a pairing only proposed
# as "open": nothing is said of it before the meeting that introduces them).
APPLICATION_STATES = {
    "open": N_("En cours : le centre social étudie votre candidature"),
    "paired": N_("En binôme"),
    "withdrawn": N_("Retirée"),
    "closed": N_("Terminée"),
}
PAIR_STATES = {
    "introduced": N_("Présentés l'un à l'autre"),
    "trial": N_("Période d'essai"),
    "confirmed": N_("Convention signée"),
    "ended": N_("Terminé"),
}
END_REASONS = {
    "not_compatible": N_("l'entente n'a pas fonctionné"),
    "term_reached": N_("la date prévue est arrivée"),
    "host_request": N_("à la demande de l'hôte"),
    "young_request": N_("à la demande du jeune"),
    "health": N_("pour raison de santé"),
    "moved": N_("déménagement"),
    "conflict": N_("une mésentente"),
    "other": N_("autre raison"),
}
DOCUMENT_KINDS = {
    "charter": N_("La charte de la cohabitation"),
    "agreement": N_("La convention de cohabitation"),
}
NOTICES = {
    "envoyee": N_(
        "Votre candidature est envoyée. Le centre social va vous appeler pour un premier entretien."
    ),
    "retiree": N_("Votre candidature est retirée."),
}

# Messages next to the fields the service refuses.
FIELD_MESSAGES = {
    "centre_id": N_("Choisissez un centre social."),
    "available_from": N_("Écrivez la date, par exemple 01/09/2026."),
    "available_until": N_("La date de fin doit être après la date d'arrivée."),
    "formulas": N_("Choisissez une formule."),
    "monthly_eur": N_("Écrivez un montant entre 0 et 1 000 euros."),
    "services": N_("Vérifiez ce champ."),
    "languages": N_("Cochez au moins une langue."),
    "room": N_("Décrivez la chambre."),
    "room_size_m2": N_("Écrivez la surface en m², entre 5 et 100."),
    "room_floor": N_("Écrivez l'étage : 0 pour le rez-de-chaussée."),
    "occupation": N_("Dites ce que vous faites : études, apprentissage, travail."),
    "occupation_detail": N_("200 caractères au plus."),
    "about": N_("2 000 caractères au plus."),
}
FREE_MEANS_ZERO = N_("Une chambre contre une présence est gratuite : écrivez 0.")
ONE_FORMULA = N_("Choisissez une seule formule.")
BIRTH_DATE_MISSING = N_("Écrivez votre date de naissance, par exemple 14/03/1950.")
BIRTH_IN_FUTURE = N_("Cette date de naissance est dans le futur.")
BIRTH_YEAR_SLIP = N_("Vérifiez l'année de naissance.")
# The dates a service finds too far (housing/rules.py check_availability).
DATE_TOO_FAR = {
    "available_from": N_("Une date dans les trois ans à venir : vérifiez l'année."),
    "available_until": N_("Au plus dix ans après la date d'arrivée : vérifiez l'année."),
}
HOST_TOO_YOUNG = N_(
    "Pour accueillir un jeune, il faut avoir 60 ans ou plus : c'est la loi sur la "
    "cohabitation intergénérationnelle solidaire."
)
YOUNG_TOO_OLD = N_(
    "Pour être logé chez un senior, il faut avoir moins de 30 ans : c'est la loi sur la "
    "cohabitation intergénérationnelle solidaire."
)
YOUNG_NOT_ADULT = N_("Il faut avoir 18 ans ou plus pour signer la convention.")
PLACE_MISSING = {
    "host": N_("Écrivez l'adresse de votre logement."),
    "young": N_("Écrivez l'adresse de votre lieu d'études ou de travail."),
}
ALREADY_APPLIED = N_(
    "Vous avez déjà une candidature en cours de ce côté. Vous la trouverez sur la page "
    "« Logement intergénérationnel »."
)
NOT_WITHDRAWN = N_(
    "Votre candidature ne peut pas être retirée en ligne en ce moment. Appelez le centre "
    "social : il vous dira comment faire."
)
CONFLICT = "conflict"

ROOM_NUMBERS = {"room_size_m2": (5, 100), "room_floor": (-1, 60)}
HABITS = ("has_pets", "accepts_pets", "smokes", "accepts_smoker")
WHOLE = re.compile(r"-?[0-9]{1,5}")


def _today() -> date:
    return clock.today()


def _to_centre(request: Request[Any, Any, Any], viewer: Viewer) -> Redirect | None:
    """Staff read applications and pairs in the centre's workspace, at the same path
    under /centre (which decides what they may see there)."""
    if viewer.is_staff:
        return Redirect(f"/centre{request.url.path}", status_code=303)
    return None


def _residents_only(viewer: Viewer) -> None:
    # Social workers record applications for assisted residents in the centre's pages.
    if viewer.role != "resident":
        raise Forbidden("the housing pages are for residents' accounts")


def _side_of(request: Request[Any, Any, Any], values: dict[str, Any] | None = None) -> str:
    word = wizard.text_of(values or {}, "cote") or request.query_params.get("cote", "")
    side = SIDES.get(word)
    if side is None:
        raise NotFound("no such side of an application")
    return side


def latest_favourable(steps: list[Step]) -> set[str]:
    """The kinds whose latest record is favourable (as the service counts vetting)."""
    latest: dict[str, str] = {}
    for s in steps:  # in the order they happened
        latest[s.kind] = s.outcome
    return {kind for kind, outcome in latest.items() if outcome == "favourable"}


def next_step(application: Application) -> str:
    """What comes next, in plain words."""
    status = application.status
    if status == "withdrawn":
        return N_("Vous avez retiré cette candidature. Vous pouvez en faire une nouvelle.")
    if status == "closed":
        return N_("Cette candidature est terminée. Vous pouvez en faire une nouvelle.")
    if application.pair_id is not None:
        return N_(
            "Le centre social vous a présenté votre binôme. Vous trouverez les étapes "
            "suivantes sur la page du binôme."
        )
    done = latest_favourable(application.steps)
    if "interview" not in done:
        return N_(
            "Le centre social va vous appeler pour un premier entretien, au centre ou chez vous."
        )
    if application.side == "host" and "home_visit" not in done:
        return N_("Une personne du centre social va venir voir votre logement et la chambre.")
    if application.side == "young" and "references" not in done:
        return N_(
            "Le centre social va vérifier vos références : par exemple un ancien "
            "propriétaire, un professeur ou un employeur."
        )
    if application.side == "host":
        return N_(
            "Votre dossier est complet. Le centre social cherche un jeune qui vous "
            "convienne, puis vous le présentera lors d'une rencontre à trois."
        )
    return N_(
        "Votre dossier est complet. Le centre social cherche un senior qui vous convienne, "
        "puis vous le présentera lors d'une rencontre à trois."
    )


def _labels() -> dict[str, Any]:
    return {
        "formulas": FORMULAS, "services": SERVICES, "rhythms": RHYTHMS,
        "occupations": OCCUPATIONS, "step_kinds": STEP_KINDS, "outcomes": OUTCOMES,
        "application_states": APPLICATION_STATES, "pair_states": PAIR_STATES,
        "end_reasons": END_REASONS, "document_kinds": DOCUMENT_KINDS,
        "side_words": SIDE_WORDS,
    }  # fmt: skip


# --- The scheme, my applications and my pairings --------------------------------------


@get("/logement", name="housing_home", operation_id="pageHousing", include_in_schema=False)
async def housing_home(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Response[Any]:
    me, viewer = await signed_in(request, tx, optional_viewer)
    if elsewhere := _to_centre(request, viewer):
        return elsewhere
    _residents_only(viewer)
    mine = await applications.list_applications(tx, viewer)
    paired = await pairs.list_pairs(tx, viewer, today=_today())
    # One application in progress per side: no button to apply again on that side.
    in_progress = {a.side for a in mine if a.status in ("open", "paired")}
    return page(
        request, "housing/home.html", me, applications=mine, pairs=paired,
        may_apply={s: s not in in_progress for s in ("host", "young")},
        fmt=formats_for(request, me), notice=notice(request, NOTICES),
        my_side={p.id: _my_side(viewer, p) for p in paired}, **_labels(),
    )  # fmt: skip


# --- The application form -------------------------------------------------------------


def _blank(side: str) -> dict[str, Any]:
    return {
        "cote": SIDE_WORDS[side], "centre_id": "", "birth_date": "", "available_from": "",
        "available_until": "", "address": "", "address_located": "", "lon": "", "lat": "",
        "formulas": [], "monthly_eur": "0", "services": [], "languages": ["fr"],
        "has_pets": "", "accepts_pets": "1", "smokes": "", "accepts_smoker": "",
        "rhythm": "flexible", "room_size_m2": "", "room_floor": "", "room_lift": "",
        "room_bathroom": "", "room_furnished": "1", "occupation": "", "occupation_detail": "",
        "about": "",
    }  # fmt: skip


def _many(values: dict[str, Any], name: str) -> list[str]:
    value = values.get(name, [])
    return [str(v) for v in (value if isinstance(value, list) else [value]) if str(v) != ""]


def _ticked(values: dict[str, Any], name: str) -> bool:
    return wizard.text_of(values, name) == "1"


def _date(values: dict[str, Any], name: str) -> date | None:
    try:
        return date.fromisoformat(wizard.text_of(values, name))
    except ValueError:
        return None


def _whole(values: dict[str, Any], name: str) -> int | None:
    """A small whole number typed in a field (ASCII digits: ``int`` takes others too)."""
    text = wizard.text_of(values, name).replace(" ", "")
    return int(text) if WHOLE.fullmatch(text) else None


def _check_form(side: str, values: dict[str, Any]) -> dict[str, str]:
    """The form's own checks, with plain messages; the service checks the rest."""
    errors: dict[str, str] = {}
    if _whole(values, "centre_id") is None:
        errors["centre_id"] = FIELD_MESSAGES["centre_id"]
    if _date(values, "birth_date") is None:
        errors["birth_date"] = BIRTH_DATE_MISSING
    if _date(values, "available_from") is None:
        errors["available_from"] = FIELD_MESSAGES["available_from"]
    if wizard.text_of(values, "available_until") and _date(values, "available_until") is None:
        errors["available_until"] = FIELD_MESSAGES["available_from"]
    formulas = _many(values, "formulas")
    if not formulas or any(f not in FORMULAS for f in formulas):
        errors["formulas"] = FIELD_MESSAGES["formulas"]
    elif side == "host" and len(formulas) != 1:
        errors["formulas"] = ONE_FORMULA
    amount = _whole(values, "monthly_eur") if wizard.text_of(values, "monthly_eur") else 0
    if amount is None or not 0 <= amount <= 1000:
        errors["monthly_eur"] = FIELD_MESSAGES["monthly_eur"]
    if any(s not in SERVICES for s in _many(values, "services")):
        errors["services"] = FIELD_MESSAGES["services"]
    if not _many(values, "languages"):
        errors["languages"] = FIELD_MESSAGES["languages"]
    if wizard.text_of(values, "rhythm") not in RHYTHMS:
        values["rhythm"] = "flexible"
    if side == "host":
        for name, (low, high) in ROOM_NUMBERS.items():
            number = _whole(values, name)
            if number is None or not low <= number <= high:
                errors[name] = FIELD_MESSAGES[name]
    elif wizard.text_of(values, "occupation") not in OCCUPATIONS:
        errors["occupation"] = FIELD_MESSAGES["occupation"]
    return errors


def _application_input(side: str, values: dict[str, Any]) -> ApplicationIn:
    """The checked form as the API's body; the viewer applies for themselves."""
    until = _date(values, "available_until")
    body: dict[str, Any] = {
        "side": side,
        "centre_id": _whole(values, "centre_id"),
        "birth_date": wizard.text_of(values, "birth_date"),
        "available_from": wizard.text_of(values, "available_from"),
        "available_until": until.isoformat() if until else None,
        "location": {
            "lon": float(wizard.text_of(values, "lon").replace(",", ".")),
            "lat": float(wizard.text_of(values, "lat").replace(",", ".")),
            "address": wizard.text_of(values, "address"),
        },
        "formulas": _many(values, "formulas"),
        "monthly_eur": _whole(values, "monthly_eur") or 0,
        "services": _many(values, "services"),
        "languages": _many(values, "languages"),
        "habits": {name: _ticked(values, name) for name in HABITS}
        | {"rhythm": wizard.text_of(values, "rhythm") or "flexible"},
        "about": str(values.get("about", "")).strip(),
    }
    if side == "host":
        body["room"] = {
            "size_m2": _whole(values, "room_size_m2"),
            "floor": _whole(values, "room_floor"),
            "lift": _ticked(values, "room_lift"),
            "private_bathroom": _ticked(values, "room_bathroom"),
            "furnished": _ticked(values, "room_furnished"),
        }
    else:
        body["occupation"] = wizard.text_of(values, "occupation")
        body["occupation_detail"] = wizard.text_of(values, "occupation_detail") or None
    return convert(body, ApplicationIn)


def _birth_date_message(side: str, birth_date: date | None, today: date) -> str:
    if birth_date is None:
        return BIRTH_DATE_MISSING
    if birth_date > today:
        return BIRTH_IN_FUTURE
    if rules.age_on(birth_date, today) > rules.OLDEST_AGE:
        return BIRTH_YEAR_SLIP
    if side == "host":
        return HOST_TOO_YOUNG
    if rules.age_on(birth_date, today) >= rules.YOUNG_MAX_AGE:
        return YOUNG_TOO_OLD
    return YOUNG_NOT_ADULT


def _refusal(side: str, values: dict[str, Any], exc: Invalid) -> dict[str, str]:
    """The service's refusal, next to the form's fields."""
    errors: dict[str, str] = {}
    for path in exc.fields:
        name = path.split(".")[0]
        if name == "birth_date":
            errors[name] = _birth_date_message(side, _date(values, name), _today())
        elif name == "location":
            errors[wizard.PLACE] = wizard.PIN_NEEDED
        elif name == "monthly_eur" and "free" in exc.fields[path]:
            errors[name] = FREE_MEANS_ZERO
        elif name == "formulas" and "one formula" in exc.fields[path]:
            errors[name] = ONE_FORMULA
        elif name in ("available_from", "available_until") and "years" in exc.fields[path]:
            errors[name] = DATE_TOO_FAR[name]
        elif name in FIELD_MESSAGES:
            errors[name] = FIELD_MESSAGES[name]
        else:
            errors["form"] = N_("Vérifiez vos réponses.")
    return errors or {"form": N_("Vérifiez vos réponses.")}


async def _form_page(
    request: Request[Any, Any, Any],
    tx: Tx,
    me: Me,
    geocoder: Geocoder,
    side: str,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    status_code: int = 200,
    placed: bool = False,
) -> Template:
    centres = await list_centres(tx, 1, CENTRES_SHOWN)
    fmt = formats_for(request, me)
    chosen = _many(values, "languages")
    offered = list(LANGUAGES) + sorted(set(chosen) - set(LANGUAGES))
    return page(
        request, "housing/apply.html", me, status_code=status_code, side=side, values=values,
        errors=errors, placed=placed, text_of=wizard.text_of, many=_many,
        centres=[(c.id, c.name) for c in centres.items],
        languages=[(code, fmt.language(code)) for code in offered],
        geocoder_on=not isinstance(geocoder, DisabledGeocoder),
        home=home_area(request.app.state.settings)._asdict(), place_key=wizard.PLACE,
        **_labels(),
    )  # fmt: skip


@get("/logement/candidature", name="housing_apply", operation_id="pageHousingApply",
     include_in_schema=False)  # fmt: skip
async def apply_form(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer, geocoder: GeocoderDep
) -> Response[Any]:
    me, viewer = await signed_in(request, tx, optional_viewer)
    side = _side_of(request)
    if viewer.is_staff:  # a social worker records an assisted resident's application
        return Redirect(
            f"/centre/logement/candidatures/nouvelle?cote={SIDE_WORDS[side]}", status_code=303
        )
    _residents_only(viewer)
    return await _form_page(request, tx, me, geocoder, side, _blank(side), {})


@post("/logement/candidature", name="housing_apply_send", operation_id="pageHousingApplySend",
      include_in_schema=False)  # fmt: skip
async def apply_send(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    settings: SettingsDep,
    geocoder: GeocoderDep,
) -> Response[Any]:
    me, viewer = await signed_in(request, tx, optional_viewer)
    _residents_only(viewer)
    values = await form_values(request)
    side = _side_of(request, values)
    values["cote"] = SIDE_WORDS[side]

    def again(errors: dict[str, str], status_code: int = 400, placed: bool = False) -> Any:
        return _form_page(request, tx, me, geocoder, side, values, errors,
                          status_code=status_code, placed=placed)  # fmt: skip

    errors = _check_form(side, values)
    place_errors, placed = await wizard.check_where(values, geocoder)
    if place_errors.get("address") == N_("Écrivez votre adresse."):
        place_errors["address"] = PLACE_MISSING[side]
    errors |= place_errors
    if errors:
        return await again(errors)
    if placed:  # the address became a point: the person checks the pin, then sends again
        return await again({}, 200, placed=True)
    try:
        data = _application_input(side, values)
        async with tx.begin_nested():  # a refusal leaves nothing written
            created = await applications.create_application(
                tx, viewer, data, geocoder, cell_size_m=settings.grid_cell_m, today=_today()
            )
    except FormError as exc:
        return await again({name: FIELD_MESSAGES.get(name, m) for name, m in exc.fields.items()})
    except Invalid as exc:
        return await again(_refusal(side, values, exc), 422)
    except Conflict:
        return await again({CONFLICT: ALREADY_APPLIED}, 409)
    return Redirect(f"/logement/candidatures/{created.id}?fait=envoyee", status_code=303)


# --- My application -------------------------------------------------------------------


async def _mine(tx: Tx, viewer: Viewer, application_id: int) -> Application:
    """My own application: a social worker's reading is the centre's pages'."""
    application = await applications.get_application(tx, viewer, application_id, today=_today())
    if application.person.id != viewer.id:
        raise NotFound("no such housing application")
    return application


async def _application_page(
    request: Request[Any, Any, Any],
    tx: Tx,
    me: Me,
    viewer: Viewer,
    application_id: int,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    confirm_withdraw: bool = False,
) -> Template:
    application = await _mine(tx, viewer, application_id)
    status = application.status
    return page(
        request, "housing/application.html", me, status_code=status_code,
        application=application, status=status, next_step=next_step(application),
        errors=errors or {}, notice=notice(request, NOTICES), fmt=formats_for(request, me),
        may_withdraw=status == "open", confirm_withdraw=confirm_withdraw, **_labels(),
    )  # fmt: skip


@get("/logement/candidatures/{application_id:int}", name="housing_application",
     operation_id="pageHousingApplication", include_in_schema=False)  # fmt: skip
async def application_page(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    application_id: FromPath[int],
) -> Response[Any]:
    me, viewer = await signed_in(request, tx, optional_viewer)
    if elsewhere := _to_centre(request, viewer):
        return elsewhere
    return await _application_page(request, tx, me, viewer, application_id)


@get("/logement/candidatures/{application_id:int}/retirer", name="housing_withdraw_confirm",
     operation_id="pageHousingWithdrawConfirm", include_in_schema=False)  # fmt: skip
async def withdraw_confirm(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    application_id: FromPath[int],
) -> Template:
    """«Retirer» is a link to this question: one tap asks, it never withdraws."""
    me, viewer = await signed_in(request, tx, optional_viewer)
    return await _application_page(request, tx, me, viewer, application_id, confirm_withdraw=True)


@post("/logement/candidatures/{application_id:int}/retirer", name="housing_withdraw",
      operation_id="pageHousingWithdraw", include_in_schema=False)  # fmt: skip
async def withdraw(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    application_id: FromPath[int],
) -> Response[Any]:
    me, viewer = await signed_in(request, tx, optional_viewer)
    await _mine(tx, viewer, application_id)
    try:
        async with tx.begin_nested():
            await applications.withdraw_application(tx, viewer, application_id, today=_today())
    except Conflict as refused:
        if "already withdrawn" in refused.detail:  # a second tap: it is done already
            return Redirect(
                f"/logement/candidatures/{application_id}?fait=retiree", status_code=303
            )
        return await _application_page(
            request, tx, me, viewer, application_id, errors={CONFLICT: NOT_WITHDRAWN},
            status_code=409,
        )  # fmt: skip
    return Redirect(f"/logement/candidatures/{application_id}?fait=retiree", status_code=303)


# --- My pairing -----------------------------------------------------------------------


def _my_side(viewer: Viewer, pair: Pair) -> str | None:
    if pair.host.person is not None and pair.host.person.id == viewer.id:
        return "host"
    if pair.young.person is not None and pair.young.person.id == viewer.id:
        return "young"
    return None


async def _my_pair(tx: Tx, viewer: Viewer, pair_id: int) -> tuple[Pair, str]:
    """A pairing I am one of the two people of (the service shows it only once we were
    introduced); the centre's own reading is on its pages."""
    pair = await pairs.get_pair(tx, viewer, pair_id, today=_today())
    side = _my_side(viewer, pair)
    if side is None:
        raise NotFound("no such housing pair")
    return pair, side


@get("/logement/binomes/{pair_id:int}", name="housing_pair", operation_id="pageHousingPair",
     include_in_schema=False)  # fmt: skip
async def pair_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer, pair_id: FromPath[int]
) -> Response[Any]:
    me, viewer = await signed_in(request, tx, optional_viewer)
    if elsewhere := _to_centre(request, viewer):
        return elsewhere
    pair, side = await _my_pair(tx, viewer, pair_id)
    other = pair.young if side == "host" else pair.host
    centre = await get_centre(tx, pair.centre_id)
    return page(
        request, "housing/pair.html", me, pair=pair, side=side, other=other, centre=centre,
        fmt=formats_for(request, me), **_labels(),
    )  # fmt: skip


def _attachment(filename: str) -> str:
    """A download's name, plain ASCII for old browsers and UTF-8 for the others."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
                    for c in filename)  # fmt: skip
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename)}"


@get("/logement/binomes/{pair_id:int}/documents/{document_id:int}", name="housing_document",
     operation_id="pageHousingDocument", include_in_schema=False)  # fmt: skip
async def document_download(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    pair_id: FromPath[int],
    document_id: FromPath[int],
) -> Response[Any]:
    """The charter or the agreement, as the PDF the centre generated."""
    _me, viewer = await signed_in(request, tx, optional_viewer)
    if elsewhere := _to_centre(request, viewer):
        return elsewhere
    await _my_pair(tx, viewer, pair_id)
    filename, content = await documents.read_document(tx, viewer, pair_id, document_id)
    return Response(
        content=content,
        media_type="application/pdf",
        headers={"Content-Disposition": _attachment(filename), "Cache-Control": "no-store"},
    )


ERROR_PAGES: ExceptionHandlersMap = dict(PAGE_ERROR_HANDLERS.items())
ROUTES: list[Any] = [
    Router(
        path="/",
        route_handlers=[
            housing_home, apply_form, apply_send, application_page, withdraw_confirm, withdraw,
            pair_page,
            document_download,
        ],
        exception_handlers=ERROR_PAGES,
    )
]  # fmt: skip
