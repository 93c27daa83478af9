"""Vetting pages of the centre workspace: find a volunteer by name, e-mail or phone,
see who awaits vetting and whose criminal-record extract runs out within 60 days, and
record an ID check or an extract on the volunteer's own page.

Whose records: accounts/vetting.py decides (the volunteers of the worker's centres'
territories), the same rule as the API's; a volunteer of another territory is the
audited 403 page."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins import clock
from voisins.accounts import vetting
from voisins.accounts.access import Viewer
from voisins.accounts.volunteer import VettingIn
from voisins.api.deps import Tx
from voisins.errors import Invalid
from voisins.web.formats import paris_moment
from voisins.web.forms import N_, FormError, domain_fields, explained, form_text
from voisins.web.pages import Me
from voisins.web.routes.centre.common import (
    FIELD_MESSAGES,
    PER_PAGE,
    form_day,
    workspace_page,
    workspace_router,
)
from voisins.web.signed_in import Person
from voisins.web.url_state import list_page, row_id

SEARCH_HELP = N_("Écrivez au moins 2 caractères : un nom, une adresse e-mail ou un numéro.")


@get(
    "/verification",
    name="centre_vetting",
    operation_id="pageCentreVetting",
    include_in_schema=False,
)
async def vetting_page(request: Request[Any, Any, Any], tx: Tx, worker: Person) -> Response[Any]:
    """The search, the volunteers awaiting vetting and the extracts running out."""
    me, viewer = worker
    asked = row_id(request.query_params.get("benevole"))
    if asked is not None:  # the former form asked for a number: its links still work
        return Redirect(f"/centre/verification/{asked}", status_code=303)
    query = request.query_params.get("q", "").strip()
    errors: dict[str, str] = {}
    found = None
    if "q" in request.query_params:
        try:
            found = await vetting.search(tx, viewer, query)
        except Invalid:
            errors = {"q": SEARCH_HELP}
    waiting_page = list_page(request.query_params.get("attente"))
    expiring_page = list_page(request.query_params.get("expiration"))
    waiting = await vetting.awaiting_vetting(tx, viewer, waiting_page, PER_PAGE)
    expiring = await vetting.expiring_soon(tx, viewer, expiring_page, PER_PAGE)
    return workspace_page(
        request, "centre/vetting.html", me, status_code=422 if errors else 200, query=query,
        found=found, errors=errors, waiting=waiting, expiring=expiring,
        today=clock.today(),
    )  # fmt: skip


async def _volunteer(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, me: Me, volunteer_id: int, *,
    errors: dict[str, str], values: dict[str, str], status_code: int = 200,
) -> Template:  # fmt: skip
    record = await vetting.volunteer_record(tx, viewer, volunteer_id)
    return workspace_page(
        request, "centre/vetting_volunteer.html", me, status_code=status_code,
        volunteer=record, vetting=record.vetting, errors=errors, values=values,
        today=clock.today(),
    )  # fmt: skip


@get(
    "/verification/{volunteer_id:int}",
    name="centre_volunteer_vetting",
    operation_id="pageCentreVolunteerVetting",
    include_in_schema=False,
)
async def volunteer_vetting_page(
    request: Request[Any, Any, Any],
    tx: Tx,
    worker: Person,
    volunteer_id: FromPath[int],
) -> Template:
    """One volunteer's record and the form that writes it."""
    me, viewer = worker
    return await _volunteer(request, tx, viewer, me, volunteer_id, errors={}, values={})


@post(
    "/verification/{volunteer_id:int}",
    name="centre_vetting_record",
    operation_id="pageCentreRecordVetting",
    include_in_schema=False,
)
async def vetting_record(
    request: Request[Any, Any, Any],
    tx: Tx,
    worker: Person,
    volunteer_id: FromPath[int],
) -> Response[Any]:
    me, viewer = worker
    form = await request.form()
    values = {
        "id_checked_on": form_text(form, "id_checked_on"),
        "record_extract_date": form_text(form, "record_extract_date"),
    }
    try:
        checked = form_day(values["id_checked_on"], "id_checked_at")
        extract = form_day(values["record_extract_date"], "record_extract_date")
        if checked is None and extract is None:
            raise FormError({"form": N_("Entrez au moins une des deux dates.")})
        data = VettingIn(
            id_checked_at=paris_moment(checked) if checked else None,
            record_extract_date=extract,
        )
        async with tx.begin_nested():
            await vetting.set_vetting(tx, viewer, volunteer_id, data)
    except FormError as exc:
        errors = explained(exc.fields, FIELD_MESSAGES)
    except Invalid as exc:
        errors = explained(domain_fields(exc), FIELD_MESSAGES)
    else:
        return Redirect(f"/centre/verification/{volunteer_id}?fait=verifie", status_code=303)
    return await _volunteer(
        request, tx, viewer, me, volunteer_id, errors=errors, values=values, status_code=422
    )


ROUTES = [workspace_router(vetting_page, volunteer_vetting_page, vetting_record)]
