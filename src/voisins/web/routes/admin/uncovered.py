"""What no centre covers: the reports and follow-ups outside every territory, which
the administrators handle themselves."""

from __future__ import annotations

from typing import Any, TypeVar

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Template

from voisins import clock
from voisins.api.deps import Tx
from voisins.moderation import followups, safeguarding
from voisins.moderation.followups import ContactIn
from voisins.moderation.safeguarding import ResolveIn
from voisins.web.forms import FormError, convert, form_text
from voisins.web.problems import PAGE_ERROR_HANDLERS
from voisins.web.routes.admin.common import FIELD_MESSAGES, done, render
from voisins.web.signed_in import Person, SignedIn
from voisins.web.wording import FOLLOWUP_REASONS, REPORT_REASONS

CardInput = TypeVar("CardInput", ResolveIn, ContactIn)


async def _uncovered_page(
    request: Request[Any, Any, Any], tx: Tx, admin: SignedIn, *,
    card_errors: dict[str, dict[str, str]] | None = None, status_code: int = 200,
) -> Template:  # fmt: skip
    everything = request.query_params.get("tous") == "1"
    # An administrator belongs to no centre: the services give them exactly the items
    # no centre covers.
    reports = await safeguarding.list_reports(
        tx, admin.viewer, open_only=not everything, page=1, per_page=100
    )
    items = await followups.list_followups(
        tx, admin.viewer, open_only=not everything, page=1, per_page=100
    )
    return render(
        request, "admin/uncovered.html", admin.me, status_code=status_code, reports=reports.items,
        followups=items.items, everything=everything, report_reasons=REPORT_REASONS,
        followup_reasons=FOLLOWUP_REASONS, card_errors=card_errors or {},
    )  # fmt: skip


async def _card_form(
    request: Request[Any, Any, Any], tx: Tx, admin: SignedIn, into: type[CardInput],
    field: str, card: str,
) -> CardInput | Template:  # fmt: skip
    """The one text ``field`` of an item's form, as ``into``; when it does not pass,
    the page again with the message on that item's ``card``."""
    form = await request.form()
    try:
        return convert({field: form_text(form, field)}, into)
    except FormError:
        return await _uncovered_page(
            request, tx, admin, status_code=422,
            card_errors={card: {field: FIELD_MESSAGES[field]}},
        )  # fmt: skip


@get("/hors-territoire", name="admin_uncovered", operation_id="pageAdminUncovered",
     include_in_schema=False)  # fmt: skip
async def uncovered_page(request: Request[Any, Any, Any], tx: Tx, admin: Person) -> Template:
    return await _uncovered_page(request, tx, admin)


@post("/hors-territoire/signalements/{report_id:int}/resoudre", name="admin_report_resolve",
      operation_id="pageAdminReportResolve", include_in_schema=False)  # fmt: skip
async def report_resolve(
    request: Request[Any, Any, Any], tx: Tx, admin: Person,
    report_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    data = await _card_form(request, tx, admin, ResolveIn, "resolution", f"report-{report_id}")
    if isinstance(data, Template):
        return data
    await safeguarding.resolve_report(tx, admin.viewer, report_id, data)
    return done("/admin/hors-territoire", "resolu")


@post("/hors-territoire/suivi/{followup_id:int}/contact", name="admin_followup_contact",
      operation_id="pageAdminFollowupContact", include_in_schema=False)  # fmt: skip
async def followup_contact(
    request: Request[Any, Any, Any], tx: Tx, admin: Person,
    followup_id: FromPath[int],
) -> Response[Any]:  # fmt: skip
    data = await _card_form(request, tx, admin, ContactIn, "outcome", f"followup-{followup_id}")
    if isinstance(data, Template):
        return data
    await followups.record_contact(tx, admin.viewer, followup_id, data, now=clock.now())
    return done("/admin/hors-territoire", "contact")


ROUTES: list[Any] = [
    Router(
        path="/admin",
        route_handlers=[uncovered_page, report_resolve, followup_contact],
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]
