"""Statistics API: a centre's figures as JSON and CSV, and its activity map as GeoJSON."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, FromQuery, QueryParameter

from voisins.api.deps import CurrentViewer, Tx
from voisins.moderation import stats as service
from voisins.moderation.stats import ActivityMap, CentreStatistics, Lang

# Days are parsed by the service, so that a bad one is refused naming ``from`` or ``to``
# (Litestar would name the Python parameter).
FromDay = Annotated[
    str | None,
    QueryParameter(
        name="from",
        format="date",
        description="First day (YYYY-MM-DD, Europe/Paris), included; default: 29 days before to",
    ),
]
ToDay = Annotated[
    str | None,
    QueryParameter(
        name="to",
        format="date",
        description="Last day (YYYY-MM-DD, Europe/Paris), included; default: today; "
        "at most 366 days in all",
    ),
]


@get(
    "/centres/{centre_id:int}/statistics",
    operation_id="getCentreStatistics",
    summary="A centre's figures for a period: requests, offers, matches, unmatched requests",
)
async def get_statistics(
    tx: Tx,
    viewer: CurrentViewer,
    centre_id: FromPath[int],
    from_date: FromDay = None,
    to_date: ToDay = None,
) -> CentreStatistics:
    return await service.centre_statistics(tx, viewer, centre_id, from_date, to_date)


@get(
    "/centres/{centre_id:int}/statistics.csv",
    operation_id="exportCentreStatistics",
    summary="The same figures as a CSV file for spreadsheets (French, or English with lang=en)",
    media_type="text/csv",
)
async def export_statistics(
    tx: Tx,
    viewer: CurrentViewer,
    centre_id: FromPath[int],
    from_date: FromDay = None,
    to_date: ToDay = None,
    lang: FromQuery[Lang | None] = None,
) -> Response[str]:
    export = await service.statistics_csv(tx, viewer, centre_id, from_date, to_date, lang)
    return Response(
        export.content,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )


@get(
    "/centres/{centre_id:int}/activity.geojson",
    operation_id="getCentreActivityMap",
    summary="Activity per public grid cell as GeoJSON (cells with fewer than 5 posts left out)",
    media_type="application/geo+json",
)
async def get_activity_map(
    tx: Tx,
    viewer: CurrentViewer,
    centre_id: FromPath[int],
    from_date: FromDay = None,
    to_date: ToDay = None,
) -> ActivityMap:
    return await service.activity_map(tx, viewer, centre_id, from_date, to_date)


router = Router(
    path="/api/v1",
    route_handlers=[get_statistics, export_statistics, get_activity_map],
    tags=["statistics"],
    # Figures about people's requests: never kept by a browser or a proxy.
    cache_control=CacheControlHeader(no_store=True),
)
