"""The volunteer's profile: home pin and radius on a map, kinds of help, skills,
languages, a weekly grid of free time."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import FormMultiDict
from litestar.response import Redirect, Template

from voisins.accounts import volunteer
from voisins.accounts.access import Viewer
from voisins.accounts.volunteer import SlotOut, VolunteerIn, VolunteerProfile
from voisins.api.deps import GeocoderDep, QuotasDep, SettingsDep, Tx
from voisins.errors import DomainError, Forbidden, NotFound
from voisins.web.formats import formats_for
from voisins.web.forms import N_, FormError, convert, domain_fields, explained
from voisins.web.pages import Me, page
from voisins.web.problems import PAGE_ERROR_HANDLERS
from voisins.web.routes.public import home_area
from voisins.web.signed_in import Person

# The weekly grid: a day is cut into three blocks; a block is ticked when the saved
# availability covers all of it.
BLOCKS: tuple[tuple[str, str, str, str], ...] = (
    ("matin", N_("Matin"), "08:00", "12:00"),
    ("apres-midi", N_("Après-midi"), "12:00", "18:00"),
    ("soir", N_("Soir"), "18:00", "22:00"),
)


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


def residents_only(viewer: Viewer) -> None:
    if viewer.role != "resident":
        raise Forbidden("volunteer pages are for residents' accounts")


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
    return page(
        request, "volunteer/profile.html", me, status_code=status_code, fmt=fmt,
        profile=profile, values=values, errors=errors, saved=saved, blocks=BLOCKS,
        weekdays=fmt.weekdays(), languages=fmt.language_choices(values["languages"]),
        start=home_area(request.app.state.settings)._asdict(),
        zoom=_zoom(values["radius_km"]),
    )  # fmt: skip


@get("/benevole", name="volunteer_profile", operation_id="pageVolunteerProfile",
     include_in_schema=False)  # fmt: skip
async def profile_page(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Template:
    me, viewer = person
    residents_only(viewer)
    try:
        profile: VolunteerProfile | None = await volunteer.get_profile(tx, viewer)
    except NotFound:
        profile = None
    saved = request.query_params.get("enregistre") == "1"
    return _profile_page(request, me, profile, _values_of(profile), {}, saved=saved)


@post("/benevole", name="volunteer_profile_save", operation_id="pageSaveVolunteerProfile",
      include_in_schema=False)  # fmt: skip
async def profile_save(
    request: Request[Any, Any, Any], tx: Tx, person: Person, settings: SettingsDep,
    geocoder: GeocoderDep, quotas: QuotasDep,
) -> Response[Any]:  # fmt: skip
    me, viewer = person
    residents_only(viewer)
    values = _values_from(await request.form())
    try:
        data = _input_of(values)
        async with tx.begin_nested():
            await volunteer.put_profile(
                tx, viewer, data, geocoder=geocoder, cell_size_m=settings.grid_cell_m, quotas=quotas
            )
    except FormError as exc:
        errors = explained(exc.fields, FIELD_MESSAGES)
    except DomainError as exc:
        if exc.status_code not in (422, 503):
            raise
        errors = explained(domain_fields(exc) if exc.status_code == 422 else {}, FIELD_MESSAGES)
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


ROUTES: list[Any] = [
    Router(
        path="/",
        route_handlers=[profile_page, profile_save],
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]
