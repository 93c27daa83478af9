"""A new post in three steps (what, where, when); the answers of the other steps
travel along in the form, and the third step publishes (matching runs at once)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Redirect, Template

from voisins import clock
from voisins.accounts.access import Viewer
from voisins.api.deps import GeocoderDep, QuotasDep, SettingsDep, Tx
from voisins.errors import Conflict, Forbidden, Invalid
from voisins.geo.geocoder import DisabledGeocoder, Geocoder
from voisins.matching.publication import create_and_match
from voisins.posts import screening
from voisins.web import wizard
from voisins.web.formats import formats_for
from voisins.web.forms import FormError, form_values
from voisins.web.pages import Me, page
from voisins.web.problems import PAGE_ERROR_HANDLERS
from voisins.web.routes.public import home_area
from voisins.web.signed_in import Person


def _residents_only(viewer: Viewer) -> None:
    # Staff publish for an assisted resident from the centre's pages.
    if viewer.role != "resident":
        raise Forbidden("the new post pages are for residents' accounts")


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
    request: Request[Any, Any, Any], tx: Tx, person: Person, geocoder: GeocoderDep
) -> Template:
    me, viewer = person
    _residents_only(viewer)
    return _wizard(request, me, geocoder, 1, {"schedule_type": "once", "urgency": "normal"}, {})


@post("/annonces/nouvelle", name="new_post_step", operation_id="pageNewPostStep",
      include_in_schema=False)  # fmt: skip
async def new_post_step(
    request: Request[Any, Any, Any], tx: Tx, person: Person, settings: SettingsDep,
    geocoder: GeocoderDep, quotas: QuotasDep,
) -> Response[Any]:  # fmt: skip
    """One step sent: check it (and the earlier ones), then show the next step; after
    the third, publish — matching runs at once, in the same transaction."""
    me, viewer = person
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


ROUTES: list[Any] = [
    Router(
        path="/", route_handlers=[new_post, new_post_step], exception_handlers=PAGE_ERROR_HANDLERS
    )
]
