"""Intergenerational housing in the centre workspace, for its social workers: the
workspace (open applications with their vetting, live and recently ended pairs),
recording an assisted resident's application, an application's page with its steps
and its candidates, and proposing a pair. The pair's own pages are in
housing_pairs.py; the words both use in housing_words.py.

Every page calls the services the API calls (housing/); what a worker may see is their
rule: an application or a pair of another centre is the same 404 as a missing one.
A refusal of a form shows the form again with the field named, in French first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins import clock
from voisins.accounts import assisted
from voisins.accounts.access import Viewer
from voisins.api.deps import GeocoderDep, SettingsDep, Tx
from voisins.errors import DomainError
from voisins.housing import applications, candidates, pairs
from voisins.housing.access import as_member
from voisins.housing.schemas import Application, ApplicationIn, ApplicationStepIn, PairIn
from voisins.settings import Settings
from voisins.web.formats import offered_languages
from voisins.web.forms import N_, FormError, convert, form_text
from voisins.web.pages import Me
from voisins.web.routes.centre.common import my_centres, workspace_router
from voisins.web.routes.centre.housing_pairs import PAIR_ROUTES
from voisins.web.routes.centre.housing_words import (
    APPLICATION_STEPS,
    CHANGED,
    NEW_TITLES,
    PARAM_OF_SIDE,
    SIDE_OF_PARAM,
    Refusal,
    attempt,
    form_fields,
    render,
    submit,
)
from voisins.web.signed_in import Person
from voisins.web.url_state import row_id

# Pairs that ended within this many days stay on the workspace.
RECENTLY_ENDED_DAYS = 90
# Where the map opens when the form has no point yet: the Goutte d'Or.
MAP_START = {"lon": 2.354, "lat": 48.886}
ASSISTED_SHOWN = 500
TEXT_FIELDS = (
    "person_id", "centre_id", "birth_date", "available_from", "available_until",
    "monthly_eur", "size_m2", "floor", "rhythm", "occupation", "occupation_detail",
    "address", "lon", "lat", "about",
)  # fmt: skip
FLAGS = (
    "lift", "private_bathroom", "furnished", "has_pets", "accepts_pets", "smokes",
    "accepts_smoker",
)  # fmt: skip
STEP_FIELDS = ("kind", "done_on", "outcome", "note")
WORKSPACE = "/centre/logement"
ADDRESS_SEARCH_DOWN = N_("La recherche d'adresse ne répond pas : placez l'épingle.")


def application_url(application_id: int) -> str:
    return f"{WORKSPACE}/candidatures/{application_id}"


# ---------------------------------------------------------------------------------------
# The workspace
# ---------------------------------------------------------------------------------------


@get("/logement", name="centre_housing", operation_id="pageCentreHousing",
     include_in_schema=False)  # fmt: skip
async def workspace_page(request: Request[Any, Any, Any], tx: Tx, worker: Person) -> Template:
    """Open applications by side with their vetting, the live pairs with the next
    follow-up visit (and whether it is late), the pairs ended lately."""
    me, viewer = worker
    day = clock.today()
    waiting = await applications.list_applications(tx, viewer, status="open")
    every_pair = await pairs.list_pairs(tx, viewer, today=day)
    since = day - timedelta(days=RECENTLY_ENDED_DAYS)
    return render(
        request, "centre/housing/workspace.html", me,
        hosts=[a for a in waiting if a.side == "host"],
        young=[a for a in waiting if a.side == "young"],
        live=[p for p in every_pair if p.status != "ended"],
        ended=[p for p in every_pair if p.status == "ended" and p.ended_on and p.ended_on >= since],
    )  # fmt: skip


# ---------------------------------------------------------------------------------------
# Recording an application for an assisted resident
# ---------------------------------------------------------------------------------------


def _side(request: Request[Any, Any, Any]) -> str:
    return SIDE_OF_PARAM.get(request.query_params.get("cote", ""), "host")


def _blank(centres: list[tuple[int, str]]) -> dict[str, Any]:
    values: dict[str, Any] = {key: "" for key in TEXT_FIELDS}
    values |= {
        "centre_id": str(centres[0][0]) if centres else "", "monthly_eur": "0",
        "rhythm": "flexible", "formulas": [], "services": [], "languages": ["fr"],
        "accepts_pets": True, "furnished": True,
    }  # fmt: skip
    return values


def _values(form: FormMultiDict) -> dict[str, Any]:
    values: dict[str, Any] = form_fields(form, TEXT_FIELDS)
    for key in ("formulas", "services", "languages"):
        values[key] = form.getall(key, [])
    for key in FLAGS:
        values[key] = form_text(form, key) == "1"
    return values


def _input(side: str, values: dict[str, Any]) -> ApplicationIn:
    """The form as the API's input. Empty optional fields are left out, so that a
    missing date names its own field."""
    location: dict[str, Any] = {}
    if values["lon"] or values["lat"]:
        location = {
            "lon": values["lon"].replace(",", ".") or None,
            "lat": values["lat"].replace(",", ".") or None,
        }
    if values["address"]:
        location["address"] = values["address"]
    body: dict[str, Any] = {
        "side": side,
        "centre_id": values["centre_id"] or None,
        "person_id": values["person_id"] or None,
        "location": location,
        "formulas": values["formulas"],
        "monthly_eur": values["monthly_eur"] or 0,
        "services": values["services"],
        "languages": values["languages"],
        "habits": {
            "has_pets": values["has_pets"], "accepts_pets": values["accepts_pets"],
            "smokes": values["smokes"], "accepts_smoker": values["accepts_smoker"],
            "rhythm": values["rhythm"] or "flexible",
        },
        "about": values["about"],
    }  # fmt: skip
    for key in ("birth_date", "available_from", "available_until"):
        if values[key]:
            body[key] = values[key]
    if side == "host":
        body["room"] = {
            "size_m2": values["size_m2"] or None, "floor": values["floor"] or None,
            "lift": values["lift"], "private_bathroom": values["private_bathroom"],
            "furnished": values["furnished"],
        }  # fmt: skip
    else:
        body["occupation"] = values["occupation"] or None
        body["occupation_detail"] = values["occupation_detail"] or None
    return convert(body, ApplicationIn)


async def _new_form(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, me: Me, side: str, *,
    values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:  # fmt: skip
    # Housing is the worker's own centres', not their partners' (housing/access.py
    # as_member): offer only what the service will accept.
    member = await as_member(tx, viewer)
    centres = await my_centres(tx, member)
    residents = await assisted.list_assisted(tx, member, 1, ASSISTED_SHOWN)
    values = values or _blank(centres)
    return render(
        request, "centre/housing/new.html", me, status_code=status_code, side=side,
        param=PARAM_OF_SIDE[side], title=NEW_TITLES[side], residents=residents.items,
        centres=centres, values=values, errors=errors or {},
        language_codes=offered_languages(values["languages"]), start=MAP_START,
    )  # fmt: skip


@get("/logement/candidatures/nouvelle", name="centre_housing_new",
     operation_id="pageCentreHousingNewApplication", include_in_schema=False)  # fmt: skip
async def new_application_page(request: Request[Any, Any, Any], tx: Tx, worker: Person) -> Template:
    me, viewer = worker
    return await _new_form(request, tx, viewer, me, _side(request))


@post("/logement/candidatures/nouvelle", name="centre_housing_create",
      operation_id="pageCentreHousingCreateApplication", include_in_schema=False)  # fmt: skip
async def create_application(
    request: Request[Any, Any, Any], tx: Tx, worker: Person, settings: SettingsDep,
    geocoder: GeocoderDep,
) -> Response[Any]:  # fmt: skip
    me, viewer = worker
    side = _side(request)
    values = _values(await request.form())

    async def create() -> Application:
        return await applications.create_application(
            tx, viewer, _input(side, values), geocoder, cell_size_m=settings.grid_cell_m,
            today=clock.today(),
        )  # fmt: skip

    try:
        done = await attempt(tx, create)
    except DomainError as exc:
        if exc.status_code != 503:
            raise
        # The address search is down.
        done = Refusal(
            {"location": N_("La recherche d'adresse ne répond pas : placez l'épingle.")}, 503
        )
    if isinstance(done, Refusal):
        return await _new_form(
            request, tx, viewer, me, side, values=values, errors=done.errors, status_code=422
        )
    return Redirect(f"{application_url(done.id)}?fait=candidature", status_code=303)


# ---------------------------------------------------------------------------------------
# An application: its steps, its candidates, proposing a pair
# ---------------------------------------------------------------------------------------


async def _application(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, me: Me, settings: Settings,
    application_id: int, *, errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None, proposal: list[str] | None = None,
    status_code: int = 200,
) -> Template:  # fmt: skip
    """``proposal``: why proposing a candidate was refused."""
    shown = await applications.get_application(tx, viewer, application_id, today=clock.today())
    found = []
    if shown.status == "open":
        found = await candidates.candidates_for(
            tx, viewer, application_id, max_km=settings.housing_max_km
        )
    return render(
        request, "centre/housing/application.html", me, status_code=status_code,
        application=shown, candidates=found, step_choices=APPLICATION_STEPS[shown.side],
        errors=errors or {}, values=values or {}, proposal=proposal or [],
    )  # fmt: skip


@get("/logement/candidatures/{application_id:int}", name="centre_housing_application",
     operation_id="pageCentreHousingApplication", include_in_schema=False)  # fmt: skip
async def application_page(
    request: Request[Any, Any, Any], tx: Tx, worker: Person, settings: SettingsDep,
    application_id: FromPath[int],
) -> Template:  # fmt: skip
    me, viewer = worker
    return await _application(request, tx, viewer, me, settings, application_id)


@post("/logement/candidatures/{application_id:int}/etapes",
      name="centre_housing_application_step",
      operation_id="pageCentreHousingApplicationStep", include_in_schema=False)  # fmt: skip
async def application_step(
    request: Request[Any, Any, Any], tx: Tx, worker: Person, settings: SettingsDep,
    application_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    """An interview, the host's home visit or the young person's references."""
    me, viewer = worker
    values = form_fields(await request.form(), STEP_FIELDS)
    done = await submit(
        tx, values, ApplicationStepIn,
        lambda data: applications.record_application_step(
            tx, viewer, application_id, data, today=clock.today()
        ),
    )  # fmt: skip
    if isinstance(done, Refusal):
        return await _application(
            request, tx, viewer, me, settings, application_id, errors=done.errors,
            values=values, status_code=done.status,
        )  # fmt: skip
    return Redirect(f"{application_url(application_id)}?fait=etape#etapes", status_code=303)


@post("/logement/candidatures/{application_id:int}/proposer",
      name="centre_housing_propose", operation_id="pageCentreHousingPropose",
      include_in_schema=False)  # fmt: skip
async def propose(
    request: Request[Any, Any, Any], tx: Tx, worker: Person, settings: SettingsDep,
    application_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    """Propose this application and a candidate of the other side to each other."""
    me, viewer = worker
    form = await request.form()
    shown = await applications.get_application(tx, viewer, application_id, today=clock.today())
    other = row_id(form_text(form, "candidate"))
    ids = (application_id, other) if shown.side == "host" else (other, application_id)
    try:
        data = convert(
            {"host_application_id": ids[0], "young_application_id": ids[1],
             "note": form_text(form, "note") or None},
            PairIn,
        )  # fmt: skip
    except FormError:
        said, status = [N_("Choisissez un candidat de la liste.")], 422
    else:
        done = await attempt(tx, lambda: pairs.propose_pair(tx, viewer, data, today=clock.today()))
        if not isinstance(done, Refusal):
            return Redirect(f"{WORKSPACE}/binomes/{done.id}?fait=propose", status_code=303)
        # Said next to the candidates: why not, then which side is not ready.
        reasons = dict(done.errors)
        why = reasons.pop("form", None)
        said, status = (
            list(dict.fromkeys([*([why] if why else []), *reasons.values()])),
            done.status,
        )
    return await _application(
        request, tx, viewer, me, settings, application_id, proposal=said, status_code=status
    )


@post("/logement/candidatures/{application_id:int}/retirer",
      name="centre_housing_withdraw", operation_id="pageCentreHousingWithdraw",
      include_in_schema=False)  # fmt: skip
async def withdraw(
    request: Request[Any, Any, Any], tx: Tx, worker: Person, settings: SettingsDep,
    application_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    me, viewer = worker
    done = await attempt(
        tx,
        lambda: applications.withdraw_application(tx, viewer, application_id, today=clock.today()),
    )
    if isinstance(done, Refusal):
        return await _application(
            request, tx, viewer, me, settings, application_id,
            errors={"withdraw": done.errors.get("form", CHANGED)}, status_code=done.status,
        )  # fmt: skip
    return Redirect(f"{application_url(application_id)}?fait=retiree", status_code=303)


ROUTES: list[Any] = [
    workspace_router(
        workspace_page, new_application_page, create_application, application_page,
        application_step, propose, withdraw, *PAIR_ROUTES,
    )
]  # fmt: skip
