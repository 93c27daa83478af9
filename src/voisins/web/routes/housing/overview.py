"""The scheme in a few words with my applications and pairings, and my application
with its steps, what comes next and its withdrawal (asked, then done)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins import clock
from voisins.accounts.access import Viewer
from voisins.api.deps import Tx
from voisins.errors import Conflict, NotFound
from voisins.housing import applications, pairs
from voisins.housing.schemas import Application, Step
from voisins.web.formats import formats_for
from voisins.web.forms import N_
from voisins.web.pages import Me, page
from voisins.web.routes.housing.readers import my_side, residents_only, to_centre
from voisins.web.routes.housing.words import CONFLICT, LABELS, NOT_WITHDRAWN, NOTICES
from voisins.web.signed_in import Person
from voisins.web.url_state import notice


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


@get("/logement", name="housing_home", operation_id="pageHousing", include_in_schema=False)
async def housing_home(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Response[Any]:
    me, viewer = person
    if elsewhere := to_centre(request, viewer):
        return elsewhere
    residents_only(viewer)
    mine = await applications.list_applications(tx, viewer)
    paired = await pairs.list_pairs(tx, viewer, today=clock.today())
    # One application in progress per side: no button to apply again on that side.
    in_progress = {a.side for a in mine if a.status in ("open", "paired")}
    return page(
        request, "housing/home.html", me, applications=mine, pairs=paired,
        may_apply={s: s not in in_progress for s in ("host", "young")},
        fmt=formats_for(request, me), notice=notice(request, NOTICES),
        my_side={p.id: my_side(viewer, p) for p in paired}, **LABELS,
    )  # fmt: skip


# --- My application -------------------------------------------------------------------


async def _mine(tx: Tx, viewer: Viewer, application_id: int) -> Application:
    """My own application: a social worker's reading is the centre's pages'."""
    application = await applications.get_application(
        tx, viewer, application_id, today=clock.today()
    )
    if application.person.id != viewer.id:
        raise NotFound("no such housing application")
    return application


async def _application_page(
    request: Request[Any, Any, Any], tx: Tx, me: Me, viewer: Viewer, application_id: int, *,
    errors: dict[str, str] | None = None, status_code: int = 200,
    confirm_withdraw: bool = False,
) -> Template:  # fmt: skip
    application = await _mine(tx, viewer, application_id)
    status = application.status
    return page(
        request, "housing/application.html", me, status_code=status_code,
        application=application, status=status, next_step=next_step(application),
        errors=errors or {}, notice=notice(request, NOTICES), fmt=formats_for(request, me),
        may_withdraw=status == "open", confirm_withdraw=confirm_withdraw, **LABELS,
    )  # fmt: skip


@get("/logement/candidatures/{application_id:int}", name="housing_application",
     operation_id="pageHousingApplication", include_in_schema=False)  # fmt: skip
async def application_page(
    request: Request[Any, Any, Any], tx: Tx, person: Person, application_id: FromPath[int]
) -> Response[Any]:
    me, viewer = person
    if elsewhere := to_centre(request, viewer):
        return elsewhere
    return await _application_page(request, tx, me, viewer, application_id)


@get("/logement/candidatures/{application_id:int}/retirer", name="housing_withdraw_confirm",
     operation_id="pageHousingWithdrawConfirm", include_in_schema=False)  # fmt: skip
async def withdraw_confirm(
    request: Request[Any, Any, Any], tx: Tx, person: Person, application_id: FromPath[int]
) -> Template:
    """«Retirer» is a link to this question: one tap asks, it never withdraws."""
    me, viewer = person
    return await _application_page(request, tx, me, viewer, application_id, confirm_withdraw=True)


@post("/logement/candidatures/{application_id:int}/retirer", name="housing_withdraw",
      operation_id="pageHousingWithdraw", include_in_schema=False)  # fmt: skip
async def withdraw(
    request: Request[Any, Any, Any], tx: Tx, person: Person, application_id: FromPath[int]
) -> Response[Any]:
    me, viewer = person
    await _mine(tx, viewer, application_id)
    withdrawn = Redirect(f"/logement/candidatures/{application_id}?fait=retiree", status_code=303)
    try:
        async with tx.begin_nested():
            await applications.withdraw_application(tx, viewer, application_id, today=clock.today())
    except Conflict as refused:
        if "already withdrawn" in refused.detail:  # a second tap: it is done already
            return withdrawn
        return await _application_page(
            request, tx, me, viewer, application_id, errors={CONFLICT: NOT_WITHDRAWN},
            status_code=409,
        )  # fmt: skip
    return withdrawn


HANDLERS = [housing_home, application_page, withdraw_confirm, withdraw]
