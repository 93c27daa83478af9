"""Vetting pages of the centre workspace: a social worker records a volunteer's ID
check and criminal-record extract (the services' rule decides whose record they may
read or write). Page plumbing and wording come from centre.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins.accounts import volunteer
from voisins.accounts.access import Viewer
from voisins.accounts.volunteer import VettingIn
from voisins.api.deps import OptionalViewer, Tx
from voisins.errors import Invalid, NotFound
from voisins.moderation import review
from voisins.web.formats import PARIS, paris_moment
from voisins.web.forms import N_, FormError, domain_fields
from voisins.web.pages import Me
from voisins.web.problems import PAGE_ERROR_HANDLERS
from voisins.web.routes.centre import _day, _explained, _render, _text, _worker

# ---------------------------------------------------------------------------------------
# Vetting
# ---------------------------------------------------------------------------------------


@get("/verification", name="centre_vetting", operation_id="pageCentreVetting",
     include_in_schema=False)  # fmt: skip
async def vetting_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Template:
    me, viewer = await _worker(request, tx, optional_viewer)
    asked = request.query_params.get("benevole", "").strip()
    return await _vetting(request, tx, viewer, me, asked, errors={}, values={})


async def _vetting(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, me: Me, asked: str, *,
    errors: dict[str, str], values: dict[str, str], status_code: int = 200,
) -> Template:  # fmt: skip
    vetting = None
    volunteer_id = None
    if asked:
        if not asked.isdigit():
            errors = {**errors, "benevole": N_("Écrivez le numéro du bénévole (des chiffres).")}
            status_code = 422
        else:
            volunteer_id = int(asked)
            try:
                vetting = await review.volunteer_vetting(tx, viewer, volunteer_id)
            except NotFound:
                errors = {**errors, "benevole": N_("Aucun bénévole ne porte ce numéro.")}
                status_code = 404
    return _render(
        request, "centre/vetting.html", me, status_code=status_code, asked=asked,
        volunteer_id=volunteer_id if vetting else None, vetting=vetting, errors=errors,
        values=values, today=datetime.now(PARIS).date(),
    )  # fmt: skip


@post("/verification/{volunteer_id:int}", name="centre_vetting_record",
      operation_id="pageCentreRecordVetting", include_in_schema=False)  # fmt: skip
async def vetting_record(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    volunteer_id: FromPath[int],
) -> Response[Any]:
    me, viewer = await _worker(request, tx, optional_viewer)
    form = await request.form()
    values = {
        "id_checked_on": _text(form, "id_checked_on"),
        "record_extract_date": _text(form, "record_extract_date"),
    }
    try:
        checked = _day(values["id_checked_on"], "id_checked_at")
        extract = _day(values["record_extract_date"], "record_extract_date")
        if checked is None and extract is None:
            raise FormError({"form": N_("Entrez au moins une des deux dates.")})
        data = VettingIn(
            id_checked_at=paris_moment(checked) if checked else None,
            record_extract_date=extract,
        )
        async with tx.begin_nested():
            await volunteer.set_vetting(tx, viewer, volunteer_id, data)
    except FormError as exc:
        errors = _explained(exc.fields)
    except Invalid as exc:
        errors = _explained(domain_fields(exc))
    else:
        return Redirect(
            f"/centre/verification?benevole={volunteer_id}&fait=verifie", status_code=303
        )
    return await _vetting(
        request, tx, viewer, me, str(volunteer_id), errors=errors, values=values,
        status_code=422,
    )  # fmt: skip


ROUTES: list[Any] = [
    Router(
        path="/centre",
        route_handlers=[vetting_page, vetting_record],
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]
