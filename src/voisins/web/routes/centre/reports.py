"""Reports in the centre's workspace: the reports that reached the social worker's
centres (moderation/safeguarding.py), closing one, suspending the person one is about,
and reading the conversation a report brings (issue 15).

The conversation: conversations.reported.for_report decides who may read it (any other
centre: the 404 page) and audits each reading; nothing else of the workspace ever
shows a conversation."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins import clock
from voisins.accounts.access import Viewer
from voisins.api.deps import SettingsDep, Tx
from voisins.conversations import reported as conversations
from voisins.errors import NotFound
from voisins.moderation import safeguarding
from voisins.moderation.safeguarding import Report, ResolveIn, SuspendIn
from voisins.web.forms import N_, FormError, convert, form_text
from voisins.web.pages import Me
from voisins.web.problems import is_htmx
from voisins.web.routes.centre.common import (
    ALREADY_DONE,
    NOTICES,
    PER_PAGE,
    decide_first,
    first_of,
    open_or_all_list,
    workspace_page,
    workspace_router,
)
from voisins.web.signed_in import Person
from voisins.web.url_state import list_page
from voisins.web.wording import REPORT_REASONS


async def _reports(
    request: Request[Any, Any, Any],
    tx: Tx,
    viewer: Viewer,
    me: Me,
    *,
    errors: dict[int, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Template:
    return await open_or_all_list(
        request, tx, viewer, me, "centre/reports.html", safeguarding.list_reports,
        status_code=status_code, errors=errors or {}, reasons=REPORT_REASONS,
    )  # fmt: skip


@get(
    "/signalements",
    name="centre_reports",
    operation_id="pageCentreReports",
    include_in_schema=False,
)
async def reports_page(request: Request[Any, Any, Any], tx: Tx, worker: Person) -> Template:
    me, viewer = worker
    return await _reports(request, tx, viewer, me)


async def _listed_report(tx: Tx, viewer: Viewer, report_id: int, page_number: int) -> Report | None:
    """The report as its card shows it, from the page of the list the form came from."""
    listed = await safeguarding.list_reports(
        tx, viewer, open_only=False, page=page_number, per_page=PER_PAGE
    )
    return first_of(listed.items, lambda r: r.id == report_id)


def _report_card(request: Request[Any, Any, Any], me: Me, item: Report, **context: Any) -> Template:
    context.setdefault("item_errors", {})
    return workspace_page(
        request, "centre/_report.html", me, item=item, reasons=REPORT_REASONS, **context
    )


@post(
    "/signalements/{report_id:int}/resoudre",
    name="centre_report_resolve",
    operation_id="pageCentreResolveReport",
    include_in_schema=False,
)
async def report_resolve(
    request: Request[Any, Any, Any], tx: Tx, worker: Person, report_id: FromPath[int]
) -> Response[Any]:
    me, viewer = worker
    form = await request.form()
    number = list_page(form.get("page"))
    try:
        data = convert({"resolution": form_text(form, "resolution")}, ResolveIn)
    except FormError:
        errors = {"resolution": N_("Écrivez ce qui a été fait (3 caractères au moins).")}
        # Read (and audited) with or without htmx, as it always was.
        item = await _listed_report(tx, viewer, report_id, number)
        if is_htmx(request) and item is not None:
            return _report_card(request, me, item, alone=True, item_errors=errors)
        return await _reports(request, tx, viewer, me, errors={report_id: errors}, status_code=422)
    done = await decide_first(
        lambda: safeguarding.resolve_report(tx, viewer, report_id, data), request, tx
    )
    if is_htmx(request):
        item = await _listed_report(tx, viewer, report_id, number)
        if item is not None:
            message = NOTICES["resolu"] if done else ALREADY_DONE
            return _report_card(request, me, item, alone=True, message=message)
    return Redirect("/centre/signalements?fait=resolu", status_code=303)


@post(
    "/signalements/{report_id:int}/suspendre",
    name="centre_suspend",
    operation_id="pageCentreSuspend",
    include_in_schema=False,
)
async def suspend_person(
    request: Request[Any, Any, Any],
    tx: Tx,
    worker: Person,
    settings: SettingsDep,
    report_id: FromPath[int],
) -> Response[Any]:
    """Suspend the person a report is about, with an internal note (kept on their
    record, never sent: the people whose matches end are told in neutral words)."""
    me, viewer = worker
    form = await request.form()
    report = await _listed_report(tx, viewer, report_id, list_page(form.get("page")))
    if report is None or report.reported_id is None:
        raise NotFound("no such report about a person")
    person_id = report.reported_id
    try:
        data = convert({"note": form_text(form, "note")}, SuspendIn)
    except FormError:
        errors = {"note": N_("Écrivez la raison de la suspension (3 caractères au moins).")}
        if is_htmx(request):
            return _report_card(request, me, report, item_errors=errors)
        return await _reports(request, tx, viewer, me, errors={report_id: errors}, status_code=422)
    done = await decide_first(
        lambda: safeguarding.suspend(
            tx, viewer, person_id, data, settings=settings, now=clock.now()
        ),
        request,
        tx,
    )
    if not is_htmx(request):
        return Redirect("/centre/signalements?fait=suspendu", status_code=303)
    return _report_card(
        request, me, report, alone=True,
        message=NOTICES["suspendu"] if done else N_("Ce compte est déjà suspendu."),
    )  # fmt: skip


@get(
    "/signalements/{report_id:int}/conversation",
    name="centre_reported_conversation",
    operation_id="pageCentreReportedConversation",
    include_in_schema=False,
)
async def reported_conversation(
    request: Request[Any, Any, Any], tx: Tx, worker: Person, report_id: FromPath[int]
) -> Template:
    me, viewer = worker
    found = await conversations.for_report(tx, viewer, report_id)  # NotFound: the 404 page
    return workspace_page(request, "safety/reported_conversation.html", me, conversation=found)


ROUTES = [workspace_router(reports_page, report_resolve, suspend_person, reported_conversation)]
