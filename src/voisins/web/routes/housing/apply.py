"""The application form of intergenerational housing: a host of 60 or more offers a
room at home, a young person under 30 looks for one. The form checks what it can in
plain words; the service (voisins.housing) checks the rest, and its refusal is said
next to the field it names. An address is turned into a point that the person checks
on the map before sending."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from voisins import clock
from voisins.api.deps import GeocoderDep, SettingsDep, Tx
from voisins.centres.service import list_centres
from voisins.errors import Conflict, Invalid, NotFound
from voisins.geo.geocoder import DisabledGeocoder, Geocoder
from voisins.housing import applications, rules
from voisins.housing.schemas import ApplicationIn
from voisins.web import wizard
from voisins.web.formats import formats_for
from voisins.web.forms import N_, FormError, convert, form_values
from voisins.web.pages import Me, page
from voisins.web.routes.housing.readers import residents_only
from voisins.web.routes.housing.words import (
    ALREADY_APPLIED,
    BIRTH_DATE_MISSING,
    BIRTH_IN_FUTURE,
    BIRTH_YEAR_SLIP,
    CONFLICT,
    DATE_TOO_FAR,
    FIELD_MESSAGES,
    FORMULAS,
    FREE_MEANS_ZERO,
    HOST_TOO_YOUNG,
    LABELS,
    OCCUPATIONS,
    ONE_FORMULA,
    PLACE_MISSING,
    RHYTHMS,
    SERVICES,
    SIDE_WORDS,
    SIDES,
    YOUNG_NOT_ADULT,
    YOUNG_TOO_OLD,
)
from voisins.web.routes.public import home_area
from voisins.web.signed_in import Person

CENTRES_SHOWN = 200
ROOM_NUMBERS = {"room_size_m2": (5, 100), "room_floor": (-1, 60)}
HABITS = ("has_pets", "accepts_pets", "smokes", "accepts_smoker")
WHOLE = re.compile(r"-?[0-9]{1,5}")


def _side_of(request: Request[Any, Any, Any], values: dict[str, Any] | None = None) -> str:
    word = wizard.text_of(values or {}, "cote") or request.query_params.get("cote", "")
    side = SIDES.get(word)
    if side is None:
        raise NotFound("no such side of an application")
    return side


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
            errors[name] = _birth_date_message(side, _date(values, name), clock.today())
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
    return page(
        request, "housing/apply.html", me, status_code=status_code, side=side, values=values,
        errors=errors, placed=placed, text_of=wizard.text_of, many=_many,
        centres=[(c.id, c.name) for c in centres.items],
        languages=fmt.language_choices(chosen),
        geocoder_on=not isinstance(geocoder, DisabledGeocoder),
        home=home_area(request.app.state.settings)._asdict(), place_key=wizard.PLACE,
        **LABELS,
    )  # fmt: skip


@get("/logement/candidature", name="housing_apply", operation_id="pageHousingApply",
     include_in_schema=False)  # fmt: skip
async def apply_form(
    request: Request[Any, Any, Any], tx: Tx, person: Person, geocoder: GeocoderDep
) -> Response[Any]:
    me, viewer = person
    side = _side_of(request)
    if viewer.is_staff:  # a social worker records an assisted resident's application
        return Redirect(
            f"/centre/logement/candidatures/nouvelle?cote={SIDE_WORDS[side]}", status_code=303
        )
    residents_only(viewer)
    return await _form_page(request, tx, me, geocoder, side, _blank(side), {})


@post("/logement/candidature", name="housing_apply_send", operation_id="pageHousingApplySend",
      include_in_schema=False)  # fmt: skip
async def apply_send(
    request: Request[Any, Any, Any], tx: Tx, person: Person, settings: SettingsDep,
    geocoder: GeocoderDep,
) -> Response[Any]:  # fmt: skip
    me, viewer = person
    residents_only(viewer)
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
                tx, viewer, data, geocoder, cell_size_m=settings.grid_cell_m, today=clock.today()
            )
    except FormError as exc:
        return await again({name: FIELD_MESSAGES.get(name, m) for name, m in exc.fields.items()})
    except Invalid as exc:
        return await again(_refusal(side, values, exc), 422)
    except Conflict:
        return await again({CONFLICT: ALREADY_APPLIED}, 409)
    return Redirect(f"/logement/candidatures/{created.id}?fait=envoyee", status_code=303)


HANDLERS = [apply_form, apply_send]
