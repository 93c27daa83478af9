"""The three steps of a new post — what, where, when — checked one at a time.

The wizard keeps nothing on the server between steps: each step's form carries the
earlier answers in hidden fields, and every submit checks every step up to its own
(hidden fields can be changed by hand). The rules are the API's own (the same msgspec
types); the messages are the pages' (plain French, translated by the templates)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import msgspec

from voisins.categories import LABELS
from voisins.errors import DomainError, Invalid
from voisins.geo.coordinates import validate_point
from voisins.geo.geocoder import DisabledGeocoder, Geocoder
from voisins.locations import Address
from voisins.posts.schemas import Description, PostIn, Title
from voisins.schedule import END_OF_DAY, PARIS, ClockTime
from voisins.web.forms import N_, FormError, fits

WHAT = ("kind", "category", "title", "description")
# address_located: the address the coordinates were found for (addresses/_field.html).
WHERE = ("address", "lon", "lat", "address_located")
WHEN = ("schedule_type", "date", "start", "end", "days", "volunteers_needed", "urgency")
STEP_FIELDS = {1: WHAT, 2: WHERE, 3: WHEN}
# A message about the place goes next to the map and the two coordinates.
PLACE = "place"
STEP_OF = {**dict.fromkeys(WHAT, 1), **dict.fromkeys((*WHERE, PLACE), 2)}

PIN_NEEDED = N_("Placez le repère sur la carte, à l'endroit de votre adresse.")
NOT_FOUND = N_(
    "Nous n'avons pas trouvé cette adresse. Vérifiez le numéro et le nom de la rue, "
    "ou placez le repère sur la carte."
)


def text_of(values: dict[str, Any], name: str) -> str:
    value = values.get(name, "")
    return (value[0] if value else "") if isinstance(value, list) else str(value).strip()


def days_of(values: dict[str, Any]) -> list[str]:
    value = values.get("days", [])
    return [str(v) for v in (value if isinstance(value, list) else [value]) if v != ""]


def check_what(values: dict[str, Any]) -> dict[str, str]:
    errors = {}
    if text_of(values, "kind") not in ("request", "offer"):
        errors["kind"] = N_("Choisissez : demander de l'aide ou proposer votre aide.")
    if text_of(values, "category") not in LABELS:
        errors["category"] = N_("Choisissez un type d'aide.")
    if not fits(text_of(values, "title"), Title):
        errors["title"] = N_("Écrivez un titre de 3 à 120 caractères.")
    if not fits(text_of(values, "description"), Description):
        errors["description"] = N_("Le texte est trop long. 4 000 caractères au plus.")
    return errors


async def check_where(values: dict[str, Any], geocoder: Geocoder) -> tuple[dict[str, str], bool]:
    """Errors, and whether the point was just found from the address (the person then
    checks the pin before going on). ``values`` gets the found point."""
    errors: dict[str, str] = {}
    address = text_of(values, "address")
    if not fits(address, Address):
        errors["address"] = N_("Écrivez votre adresse.")
    lon, lat = text_of(values, "lon"), text_of(values, "lat")
    located = text_of(values, "address_located")
    if (lon or lat) and located and not address.startswith(located):
        # Another address was typed after these coordinates were found: look it up.
        values["lon"] = values["lat"] = values["address_located"] = lon = lat = ""
    if not lon and not lat:
        if errors or isinstance(geocoder, DisabledGeocoder):
            return errors | {PLACE: PIN_NEEDED}, False
        return await _geocode(values, address, geocoder)
    try:
        validate_point(float(lon.replace(",", ".")), float(lat.replace(",", ".")))
    except (ValueError, Invalid):
        errors[PLACE] = N_("Ce point n'est pas en France. Placez le repère sur votre adresse.")
    return errors, False


async def _geocode(
    values: dict[str, Any], address: str, geocoder: Geocoder
) -> tuple[dict[str, str], bool]:
    try:
        found = await geocoder.geocode(address)
    except Invalid:
        found = None
    except DomainError:  # the address search is down
        return {
            PLACE: N_(
                "La recherche d'adresse ne marche pas en ce moment. Placez le repère sur la carte."
            )
        }, False
    if found is None:
        return {"address": NOT_FOUND}, False
    values["lon"], values["lat"] = f"{found.lon:.6f}", f"{found.lat:.6f}"
    # What the person typed stays (floor, door code); the label shows what was found.
    values["address_located"], values["address_found"] = address, found.label
    return {}, True


def _number(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _moment(day: date, clock: str) -> datetime:
    if clock == END_OF_DAY:  # "until 24:00" ends at the next day's midnight
        day += timedelta(days=1)
        clock = "00:00"
    hours, minutes = (int(part) for part in clock.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=PARIS)


def check_when(values: dict[str, Any], now: datetime) -> dict[str, str]:
    errors: dict[str, str] = {}
    kind = text_of(values, "schedule_type")
    start, end = text_of(values, "start")[:5], text_of(values, "end")[:5]
    if kind not in ("once", "weekly"):
        errors["schedule_type"] = N_("Choisissez : une seule fois ou chaque semaine.")
    if not fits(start, ClockTime):
        errors["start"] = N_("Écrivez l'heure de début, par exemple 14:00.")
    if not fits(end, ClockTime):
        errors["end"] = N_("Écrivez l'heure de fin, par exemple 16:00.")
    elif "start" not in errors and end <= start:
        errors["end"] = N_("L'heure de fin doit être après l'heure de début.")
    if kind == "once":
        try:
            day = date.fromisoformat(text_of(values, "date"))
        except ValueError:
            errors["date"] = N_("Choisissez une date.")
        else:
            if "start" not in errors and "end" not in errors:
                if _moment(day, end) <= now:
                    errors["date"] = N_("Ce moment est passé. Choisissez une date à venir.")
                elif _moment(day, start) > now + timedelta(days=365):
                    errors["date"] = N_("Choisissez une date dans les 12 prochains mois.")
    if kind == "weekly":
        days = days_of(values)
        if not days or any(_number(d) not in range(1, 8) for d in days):
            errors["days"] = N_("Cochez au moins un jour.")
    needed = _number(text_of(values, "volunteers_needed") or "1")
    if needed is None or not 1 <= needed <= 20:
        errors["volunteers_needed"] = N_("Écrivez un nombre entre 1 et 20.")
    if (text_of(values, "urgency") or "normal") not in ("normal", "urgent"):
        errors["urgency"] = N_("Choisissez : urgent ou pas urgent.")
    return errors


def post_input(values: dict[str, Any]) -> PostIn:
    """The API's input, from the three steps' answers (checked before)."""
    start, end = text_of(values, "start")[:5], text_of(values, "end")[:5]
    schedule: dict[str, Any]
    if text_of(values, "schedule_type") == "once":
        day = date.fromisoformat(text_of(values, "date"))
        schedule = {
            "type": "once",
            "starts_at": _moment(day, start).isoformat(),
            "ends_at": _moment(day, end).isoformat(),
        }
    else:
        days = sorted({int(d) for d in days_of(values)})
        schedule = {"type": "weekly", "days": days, "start": start, "end": end}
    body = {
        "kind": text_of(values, "kind"),
        "category": text_of(values, "category"),
        "title": text_of(values, "title"),
        "description": text_of(values, "description"),
        "location": {
            "lon": float(text_of(values, "lon").replace(",", ".")),
            "lat": float(text_of(values, "lat").replace(",", ".")),
            "address": text_of(values, "address"),
        },
        "schedule": schedule,
        "volunteers_needed": int(text_of(values, "volunteers_needed") or "1"),
        "urgency": text_of(values, "urgency") or "normal",
    }
    try:
        return msgspec.convert(body, PostIn)
    except msgspec.ValidationError:
        raise FormError({"form": N_("Vérifiez vos réponses.")}) from None


# The service names fields by their API paths; the form by its own names.
_SERVICE_FIELDS = {
    "location": PLACE, "schedule.starts_at": "date", "schedule.ends_at": "date",
    "schedule.start": "start", "schedule.end": "end", "schedule.days": "days",
}  # fmt: skip


def service_errors(exc: DomainError) -> dict[str, str]:
    """A refusal of the service, as messages next to the form's fields."""
    errors: dict[str, str] = {}
    for path in exc.fields:
        name = _SERVICE_FIELDS.get(path) or _SERVICE_FIELDS.get(path.split(".")[0])
        errors[name or "form"] = N_("Vérifiez ce champ.")
    return errors or {"form": N_("Votre annonce n'a pas pu être publiée. Vérifiez vos réponses.")}


def step_of(errors: dict[str, str]) -> int:
    """The first step with something to correct."""
    return min((STEP_OF.get(name, 3) for name in errors), default=3)
