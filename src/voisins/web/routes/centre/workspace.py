"""Pages of the centre social, for its social workers: the review queue, the follow-up
list (aller-vers), reports and suspension, the territory map and the statistics; and the
plumbing the workspace's other pages share (volunteer vetting in centre_vetting.py,
assisted residents in centre_residents.py).

Every page calls the services the API calls (moderation.*, accounts.*, matching.*) and
is refused — a page in the layout, audited — to anyone but a social worker; what a
social worker may see of a centre is the services' rule (their centres and partners).
A decision taken with htmx replaces its card; the same forms work without JavaScript.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from voisins import clock
from voisins.accounts.access import Viewer
from voisins.api.deps import OptionalViewer, SettingsDep, Tx
from voisins.centres import service as centres
from voisins.clock import PARIS
from voisins.errors import BadRequest, Invalid, NotFound
from voisins.moderation import followups, review, safeguarding
from voisins.moderation import stats as statistics
from voisins.moderation.followups import ContactIn, Followup
from voisins.moderation.review import QueueItem, ReviewDecisionIn
from voisins.moderation.safeguarding import Report, ResolveIn, SuspendIn
from voisins.web.formats import formats_for
from voisins.web.forms import N_, FormError, convert, domain_fields
from voisins.web.pages import Me, page
from voisins.web.problems import PAGE_ERROR_HANDLERS, is_htmx
from voisins.web.routes.centre.common import (
    ALREADY_DONE,
    FIELD_MESSAGES,
    FOLLOWUP_REASONS,
    MESSAGE_TOO_LONG,
    NOTE_NEEDED,
    NOTICES,
    PER_PAGE,
    REPORT_ABOUT,
    REPORT_REASONS,
    _decide,
    _explained,
    _find,
    _int,
    _my_centres,
    _render,
    _text,
    _worker,
)
from voisins.web.url_state import row_id

# ---------------------------------------------------------------------------------------
# Review queue
# ---------------------------------------------------------------------------------------


def _key(kind: str, item_id: int) -> str:
    return f"{kind}-{item_id}"


async def _queue(
    request: Request[Any, Any, Any],
    tx: Tx,
    viewer: Viewer,
    me: Me,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Template:
    number = _int(request.query_params.get("page"), 1)
    found = await review.review_queue(tx, viewer, page=number, per_page=PER_PAGE)
    return _render(
        request, "centre/queue.html", me, status_code=status_code, items=found.items,
        errors=errors or {}, page_number=number, has_more=found.has_more,
        report_reasons=REPORT_REASONS, report_about=REPORT_ABOUT,
    )  # fmt: skip


@get("/", name="centre_queue", operation_id="pageCentreQueue", include_in_schema=False)
async def queue_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Template:
    me, viewer = await _worker(request, tx, optional_viewer)
    return await _queue(request, tx, viewer, me)


@post("/validation/{kind:str}/{item_id:int}", name="centre_review",
      operation_id="pageCentreReview", include_in_schema=False)  # fmt: skip
async def review_decision(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    settings: SettingsDep,
    kind: FromPath[str],
    item_id: FromPath[int],
) -> Response[Any]:
    """Approve or reject a match or a post of the queue, always with an internal note
    (kept, never sent) and, if the worker writes one, a message to the person."""
    me, viewer = await _worker(request, tx, optional_viewer)
    if kind not in ("match", "post"):
        raise NotFound("no such kind of item")
    form = await request.form()
    decision = _text(form, "decision")
    if decision not in ("approve", "reject"):
        raise BadRequest("approve or reject")
    number = _int(form.get("page"), 1)
    waiting = await review.review_queue(tx, viewer, page=number, per_page=PER_PAGE)
    item = _find(waiting.items, lambda i: i.type == kind and i.id == item_id)
    try:
        said = convert(
            {"note": _text(form, "note"), "message": _text(form, "message") or None},
            ReviewDecisionIn,
        )
        note, message = said.internal(), said.outward()
    except (FormError, Invalid) as exc:
        failed = exc.fields if isinstance(exc, FormError) else {"note": ""}
        errors = {"message": MESSAGE_TOO_LONG} if "message" in failed else {"note": NOTE_NEEDED}
        if is_htmx(request) and item is not None:
            return _queue_card(request, me, item, errors=errors, page_number=number)
        return await _queue(
            request, tx, viewer, me, errors={_key(kind, item_id): errors}, status_code=422
        )
    approve = decision == "approve"

    async def decide() -> str:
        if kind == "match":
            return await review.decide_match(
                tx, viewer, item_id, approve=approve, reason=note, message=message,
                settings=settings, now=clock.now(),
            )  # fmt: skip
        if approve:
            return await review.approve_post(
                tx, viewer, item_id, note, settings=settings, now=clock.now(), message=message
            )
        return await review.reject_post(tx, viewer, item_id, note, now=clock.now(), message=message)

    outcome = await _decide(decide, request, tx)
    if not is_htmx(request):
        return Redirect(f"/centre?fait={'approuve' if approve else 'refuse'}", status_code=303)
    return page(
        request, "centre/_decided.html", me, item=item, kind=kind, item_id=item_id,
        approve=approve, note=note, message=message, done=outcome is not None,
        already=ALREADY_DONE,
    )  # fmt: skip


def _queue_card(
    request: Request[Any, Any, Any],
    me: Me,
    item: QueueItem,
    *,
    errors: dict[str, str],
    page_number: int,
) -> Template:
    return _render(
        request, "centre/_queue_item.html", me, item=item, item_errors=errors,
        page_number=page_number, report_reasons=REPORT_REASONS, report_about=REPORT_ABOUT,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------
# Follow-up list
# ---------------------------------------------------------------------------------------


async def _followups(
    request: Request[Any, Any, Any],
    tx: Tx,
    viewer: Viewer,
    me: Me,
    *,
    errors: dict[int, dict[str, str]] | None = None,
    values: dict[int, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Template:
    number = _int(request.query_params.get("page"), 1)
    everything = request.query_params.get("tous") == "1"
    found = await followups.list_followups(
        tx, viewer, open_only=not everything, page=number, per_page=PER_PAGE
    )
    return _render(
        request, "centre/followups.html", me, status_code=status_code, items=found.items,
        errors=errors or {}, values=values or {}, page_number=number, has_more=found.has_more,
        everything=everything, reasons=FOLLOWUP_REASONS,
    )  # fmt: skip


@get("/suivi", name="centre_followups", operation_id="pageCentreFollowups",
     include_in_schema=False)  # fmt: skip
async def followups_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Template:
    me, viewer = await _worker(request, tx, optional_viewer)
    return await _followups(request, tx, viewer, me)


def _contacted_at(value: str) -> str | None:
    """``<input type="datetime-local">`` is Paris time without an offset."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=PARIS).isoformat()
    except ValueError:
        raise FormError({"contacted_at": FIELD_MESSAGES["contacted_at"]}) from None


@post("/suivi/{followup_id:int}/contact", name="centre_followup_contact",
      operation_id="pageCentreFollowupContact", include_in_schema=False)  # fmt: skip
async def followup_contact(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    followup_id: FromPath[int],
) -> Response[Any]:
    me, viewer = await _worker(request, tx, optional_viewer)
    form = await request.form()
    values = {"outcome": _text(form, "outcome"), "contacted_at": _text(form, "contacted_at")}
    try:
        data = convert(
            {"outcome": values["outcome"], "contacted_at": _contacted_at(values["contacted_at"])},
            ContactIn,
        )
        done: Followup | None = await _decide(
            lambda: followups.record_contact(tx, viewer, followup_id, data, now=clock.now()),
            request, tx,
        )  # fmt: skip
    except FormError as exc:
        errors = _explained(exc.fields)
    except Invalid as exc:
        errors = _explained(domain_fields(exc))
    else:
        if not is_htmx(request):
            return Redirect("/centre/suivi?fait=contact", status_code=303)
        return _render(
            request, "centre/_followup.html", me, item=done, reasons=FOLLOWUP_REASONS,
            item_errors={}, item_values={}, message=None if done else ALREADY_DONE, alone=True,
        )  # fmt: skip
    if is_htmx(request):
        listed = await followups.list_followups(
            tx, viewer, open_only=True, page=_int(form.get("page"), 1), per_page=PER_PAGE
        )
        item = _find(listed.items, lambda f: f.id == followup_id)
        if item is not None:
            return _render(
                request, "centre/_followup.html", me, item=item, reasons=FOLLOWUP_REASONS,
                item_errors=errors, item_values=values,
            )  # fmt: skip
    return await _followups(
        request, tx, viewer, me, errors={followup_id: errors}, values={followup_id: values},
        status_code=422,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------
# Reports and suspension
# ---------------------------------------------------------------------------------------


async def _reports(
    request: Request[Any, Any, Any],
    tx: Tx,
    viewer: Viewer,
    me: Me,
    *,
    errors: dict[int, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Template:
    number = _int(request.query_params.get("page"), 1)
    everything = request.query_params.get("tous") == "1"
    found = await safeguarding.list_reports(
        tx, viewer, open_only=not everything, page=number, per_page=PER_PAGE
    )
    return _render(
        request, "centre/reports.html", me, status_code=status_code, items=found.items,
        errors=errors or {}, page_number=number, has_more=found.has_more,
        everything=everything, reasons=REPORT_REASONS,
    )  # fmt: skip


@get("/signalements", name="centre_reports", operation_id="pageCentreReports",
     include_in_schema=False)  # fmt: skip
async def reports_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Template:
    me, viewer = await _worker(request, tx, optional_viewer)
    return await _reports(request, tx, viewer, me)


async def _report_card(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer, me: Me, report_id: int,
    page_number: int, **context: Any,
) -> Template | None:  # fmt: skip
    listed = await safeguarding.list_reports(
        tx, viewer, open_only=False, page=page_number, per_page=PER_PAGE
    )
    item: Report | None = _find(listed.items, lambda r: r.id == report_id)
    if item is None:
        return None
    context.setdefault("item_errors", {})
    return _render(
        request, "centre/_report.html", me, item=item, reasons=REPORT_REASONS, alone=True,
        **context,
    )  # fmt: skip


@post("/signalements/{report_id:int}/resoudre", name="centre_report_resolve",
      operation_id="pageCentreResolveReport", include_in_schema=False)  # fmt: skip
async def report_resolve(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    report_id: FromPath[int],
) -> Response[Any]:
    me, viewer = await _worker(request, tx, optional_viewer)
    form = await request.form()
    number = _int(form.get("page"), 1)
    try:
        data = convert({"resolution": _text(form, "resolution")}, ResolveIn)
    except FormError:
        errors = {"resolution": N_("Écrivez ce qui a été fait (3 caractères au moins).")}
        card = await _report_card(request, tx, viewer, me, report_id, number, item_errors=errors)
        if is_htmx(request) and card is not None:
            return card
        return await _reports(request, tx, viewer, me, errors={report_id: errors}, status_code=422)
    done = await _decide(
        lambda: safeguarding.resolve_report(tx, viewer, report_id, data), request, tx
    )
    if not is_htmx(request):
        return Redirect("/centre/signalements?fait=resolu", status_code=303)
    card = await _report_card(
        request, tx, viewer, me, report_id, number,
        message=NOTICES["resolu"] if done else ALREADY_DONE,
    )  # fmt: skip
    return card or Redirect("/centre/signalements?fait=resolu", status_code=303)


@post("/signalements/{report_id:int}/suspendre", name="centre_suspend",
      operation_id="pageCentreSuspend", include_in_schema=False)  # fmt: skip
async def suspend_person(
    request: Request[Any, Any, Any],
    tx: Tx,
    optional_viewer: OptionalViewer,
    settings: SettingsDep,
    report_id: FromPath[int],
) -> Response[Any]:
    """Suspend the person a report is about, with an internal note (kept on their
    record, never sent: the people whose matches end are told in neutral words)."""
    me, viewer = await _worker(request, tx, optional_viewer)
    form = await request.form()
    number = _int(form.get("page"), 1)
    listed = await safeguarding.list_reports(
        tx, viewer, open_only=False, page=number, per_page=PER_PAGE
    )
    report = _find(listed.items, lambda r: r.id == report_id)
    if report is None or report.reported_id is None:
        raise NotFound("no such report about a person")
    person_id = report.reported_id
    try:
        data = convert({"note": _text(form, "note")}, SuspendIn)
    except FormError:
        errors = {"note": N_("Écrivez la raison de la suspension (3 caractères au moins).")}
        if is_htmx(request):
            return _render(
                request, "centre/_report.html", me, item=report, reasons=REPORT_REASONS,
                item_errors=errors,
            )  # fmt: skip
        return await _reports(request, tx, viewer, me, errors={report_id: errors}, status_code=422)
    done = await _decide(
        lambda: safeguarding.suspend(
            tx, viewer, person_id, data, settings=settings, now=clock.now()
        ),
        request, tx,
    )  # fmt: skip
    if not is_htmx(request):
        return Redirect("/centre/signalements?fait=suspendu", status_code=303)
    return _render(
        request, "centre/_report.html", me, item=report, reasons=REPORT_REASONS,
        item_errors={}, alone=True,
        message=NOTICES["suspendu"] if done else N_("Ce compte est déjà suspendu."),
    )  # fmt: skip


# ---------------------------------------------------------------------------------------
# Territory map and statistics
# ---------------------------------------------------------------------------------------


def _period_values(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {
        "from": request.query_params.get("from", "").strip(),
        "to": request.query_params.get("to", "").strip(),
    }


async def _chosen_centre(
    request: Request[Any, Any, Any], tx: Tx, viewer: Viewer
) -> tuple[int | None, list[tuple[int, str]]]:
    """``?centre=`` when given (the services refuse a centre not theirs), else the first
    of the social worker's centres."""
    mine = await _my_centres(tx, viewer)
    asked = row_id(request.query_params.get("centre"))
    if asked is not None:
        return asked, mine
    return (mine[0][0] if mine else None), mine


def _cell_centre(ring: list[tuple[float, float]]) -> tuple[float, float]:
    corners = ring[:-1] if len(ring) > 1 and ring[0] == ring[-1] else ring
    return (
        sum(lon for lon, _ in corners) / len(corners),
        sum(lat for _, lat in corners) / len(corners),
    )


def _territory_centre(territory: dict[str, Any]) -> tuple[float, float]:
    """The middle of the territory's bounding box: where the map opens."""
    points: list[tuple[float, float]] = []

    def walk(value: Any) -> None:
        if (
            isinstance(value, list | tuple)
            and len(value) == 2
            and all(isinstance(v, int | float) for v in value)
        ):
            points.append((float(value[0]), float(value[1])))
        elif isinstance(value, list | tuple):
            for part in value:
                walk(part)

    walk(territory.get("coordinates", []))
    if not points:
        return (2.354, 48.886)
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return ((min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2)


@get("/carte", name="centre_map", operation_id="pageCentreMap", include_in_schema=False)
async def map_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Template:
    me, viewer = await _worker(request, tx, optional_viewer)
    centre_id, mine = await _chosen_centre(request, tx, viewer)
    period = _period_values(request)
    if centre_id is None:
        return _render(request, "centre/map.html", me, centres=mine, centre_id=None,
                       period=period, errors={}, cells=[], activity=None)  # fmt: skip
    errors: dict[str, str] = {}
    activity = None
    try:
        activity = await statistics.activity_map(
            tx, viewer, centre_id, period["from"] or None, period["to"] or None
        )
    except Invalid as exc:
        errors = _explained(domain_fields(exc))
    centre = await centres.get_centre(tx, centre_id)
    lon, lat = _territory_centre(centre.territory)
    cells = []
    for feature in activity.features if activity else []:
        cell_lon, cell_lat = _cell_centre(feature.geometry.coordinates[0])
        counts = feature.properties
        cells.append({
            "lon": round(cell_lon, 6), "lat": round(cell_lat, 6),
            "count": counts.requests + counts.offers, "requests": counts.requests,
            "offers": counts.offers, "matched": counts.matched,
        })  # fmt: skip
    return _render(
        request, "centre/map.html", me, status_code=422 if errors else 200, centres=mine,
        centre_id=centre_id, centre_name=centre.name, period=period, errors=errors,
        activity=activity, cells=cells, map_centre={"lon": lon, "lat": lat},
    )  # fmt: skip


CHART_WIDTH = 640
CHART_LABEL = 230
CHART_BAR = 14


def _chart(stats: statistics.CentreStatistics, locale: str) -> dict[str, Any]:
    """Horizontal bars drawn as SVG attributes (the CSP allows no style attribute):
    for each category, requests, offers and matched requests, each labelled with its
    number so that no figure is told by colour alone."""
    rows = [c for c in stats.categories if c.requests or c.offers]
    biggest = max([1, *(max(c.requests, c.offers) for c in rows)])
    scale = (CHART_WIDTH - CHART_LABEL - 50) / biggest
    bars = []
    y = 10
    for c in rows:
        group = []
        for series, value in (("requests", c.requests), ("offers", c.offers),
                              ("matched", c.requests_matched)):  # fmt: skip
            group.append({"series": series, "value": value, "y": y,
                          "width": max(1, round(value * scale)) if value else 0})  # fmt: skip
            y += CHART_BAR + 2
        bars.append({"label": c.label_fr if locale == "fr" else c.label_en,
                     "y": group[0]["y"], "series": group})  # fmt: skip
        y += 12
    return {"bars": bars, "height": y + 10, "width": CHART_WIDTH, "label_width": CHART_LABEL,
            "bar": CHART_BAR}  # fmt: skip


@get("/statistiques", name="centre_statistics", operation_id="pageCentreStatistics",
     include_in_schema=False)  # fmt: skip
async def statistics_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Template:
    me, viewer = await _worker(request, tx, optional_viewer)
    centre_id, mine = await _chosen_centre(request, tx, viewer)
    period = _period_values(request)
    errors: dict[str, str] = {}
    stats = None
    if centre_id is not None:
        try:
            stats = await statistics.centre_statistics(
                tx, viewer, centre_id, period["from"] or None, period["to"] or None
            )
        except Invalid as exc:
            errors = _explained(domain_fields(exc))
    fmt = formats_for(request, me)
    csv_link = None
    if stats is not None:
        csv_link = (
            f"/api/v1/centres/{stats.centre_id}/statistics.csv?from={stats.period.from_}"
            f"&to={stats.period.to}&lang={fmt.locale}"
        )
    return _render(
        request, "centre/statistics.html", me, status_code=422 if errors else 200,
        centres=mine, centre_id=centre_id, period=period, errors=errors, stats=stats,
        chart=_chart(stats, fmt.locale) if stats else None, csv_link=csv_link,
    )  # fmt: skip


ROUTES: list[Any] = [
    Router(
        path="/centre",
        route_handlers=[
            queue_page, review_decision, followups_page, followup_contact, reports_page,
            report_resolve, suspend_person, map_page, statistics_page,
        ],
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]  # fmt: skip
