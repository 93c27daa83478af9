"""The territory of a centre in its workspace: the activity map (requests, offers and
matches by cell, moderation/stats.activity_map) and the statistics with their chart and
CSV link (moderation/stats.centre_statistics), over a period the worker picks."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template

from voisins.accounts.access import Viewer
from voisins.api.deps import Tx
from voisins.centres import service as centres
from voisins.errors import Invalid
from voisins.moderation import stats as statistics
from voisins.web.formats import formats_for
from voisins.web.forms import domain_fields, explained
from voisins.web.routes.centre.common import (
    FIELD_MESSAGES,
    my_centres,
    workspace_page,
    workspace_router,
)
from voisins.web.signed_in import Person
from voisins.web.url_state import row_id

CHART_WIDTH = 640
CHART_LABEL = 230
CHART_BAR = 14


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
    mine = await my_centres(tx, viewer)
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
async def map_page(request: Request[Any, Any, Any], tx: Tx, worker: Person) -> Template:
    me, viewer = worker
    centre_id, mine = await _chosen_centre(request, tx, viewer)
    period = _period_values(request)
    if centre_id is None:
        return workspace_page(
            request, "centre/map.html", me, centres=mine, centre_id=None, period=period,
            errors={}, cells=[], activity=None,
        )  # fmt: skip
    errors: dict[str, str] = {}
    activity = None
    try:
        activity = await statistics.activity_map(
            tx, viewer, centre_id, period["from"] or None, period["to"] or None
        )
    except Invalid as exc:
        errors = explained(domain_fields(exc), FIELD_MESSAGES)
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
    return workspace_page(
        request, "centre/map.html", me, status_code=422 if errors else 200, centres=mine,
        centre_id=centre_id, centre_name=centre.name, period=period, errors=errors,
        activity=activity, cells=cells, map_centre={"lon": lon, "lat": lat},
    )  # fmt: skip


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
        for series, value in (
            ("requests", c.requests),
            ("offers", c.offers),
            ("matched", c.requests_matched),
        ):
            width = max(1, round(value * scale)) if value else 0
            group.append({"series": series, "value": value, "y": y, "width": width})
            y += CHART_BAR + 2
        label = c.label_fr if locale == "fr" else c.label_en
        bars.append({"label": label, "y": group[0]["y"], "series": group})
        y += 12
    return {
        "bars": bars,
        "height": y + 10,
        "width": CHART_WIDTH,
        "label_width": CHART_LABEL,
        "bar": CHART_BAR,
    }


@get(
    "/statistiques",
    name="centre_statistics",
    operation_id="pageCentreStatistics",
    include_in_schema=False,
)
async def statistics_page(request: Request[Any, Any, Any], tx: Tx, worker: Person) -> Template:
    me, viewer = worker
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
            errors = explained(domain_fields(exc), FIELD_MESSAGES)
    fmt = formats_for(request, me)
    csv_link = None
    if stats is not None:
        csv_link = (
            f"/api/v1/centres/{stats.centre_id}/statistics.csv?from={stats.period.from_}"
            f"&to={stats.period.to}&lang={fmt.locale}"
        )
    return workspace_page(
        request, "centre/statistics.html", me, status_code=422 if errors else 200,
        centres=mine, centre_id=centre_id, period=period, errors=errors, stats=stats,
        chart=_chart(stats, fmt.locale) if stats else None, csv_link=csv_link,
    )  # fmt: skip


ROUTES = [workspace_router(map_page, statistics_page)]
