"""Intergenerational housing API: applications and their steps, the candidates a social
worker may propose, pairs and their steps, and the pair's documents (PDF).

Only the centre's social workers and the two people read a pair; anyone else gets the
same 404 as for an id that does not exist (housing/)."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, Router, get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, JSONBody, QueryParameter

from voisins import clock
from voisins.api.deps import CurrentViewer, GeocoderDep, SettingsDep, Tx
from voisins.housing import applications, candidates, documents, pairs
from voisins.housing.schemas import (
    Application,
    ApplicationIn,
    ApplicationStatus,
    ApplicationStepIn,
    ApplicationSummary,
    Candidate,
    DocumentIn,
    DocumentInfo,
    Pair,
    PairEndIn,
    PairIn,
    PairStepIn,
    Side,
)


@post(
    "/housing/applications",
    operation_id="createHousingApplication",
    summary="Apply as a host (60 or older) or a young person (18 to 29), or record an "
    "assisted resident's application (social workers)",
)
async def create_application(
    data: JSONBody[ApplicationIn],
    tx: Tx,
    viewer: CurrentViewer,
    settings: SettingsDep,
    geocoder: GeocoderDep,
) -> Application:
    return await applications.create_application(
        tx, viewer, data, geocoder, cell_size_m=settings.grid_cell_m, today=clock.today()
    )


@get(
    "/housing/applications",
    operation_id="listHousingApplications",
    summary="My applications, or my centres' applications (social workers)",
)
async def list_applications(
    tx: Tx,
    viewer: CurrentViewer,
    side: Annotated[Side | None, QueryParameter(description="host or young")] = None,
    status: Annotated[ApplicationStatus | None, QueryParameter()] = None,
) -> list[ApplicationSummary]:
    return await applications.list_applications(tx, viewer, side=side, status=status)


@get(
    "/housing/applications/{application_id:int}",
    operation_id="getHousingApplication",
    summary="An application with its steps (its person and the centre's social workers)",
)
async def get_application(
    tx: Tx, viewer: CurrentViewer, application_id: FromPath[int]
) -> Application:
    return await applications.get_application(tx, viewer, application_id, today=clock.today())


@post(
    "/housing/applications/{application_id:int}/steps",
    operation_id="recordHousingApplicationStep",
    summary="Record an interview, the host's home visit or the young person's references",
)
async def record_application_step(
    data: JSONBody[ApplicationStepIn],
    tx: Tx,
    viewer: CurrentViewer,
    application_id: FromPath[int],
) -> Application:
    return await applications.record_application_step(
        tx, viewer, application_id, data, today=clock.today()
    )


@post(
    "/housing/applications/{application_id:int}/withdraw",
    operation_id="withdrawHousingApplication",
    summary="Withdraw an application that is not in a pairing",
    status_code=200,
)
async def withdraw_application(
    tx: Tx, viewer: CurrentViewer, application_id: FromPath[int]
) -> Application:
    return await applications.withdraw_application(tx, viewer, application_id, today=clock.today())


@get(
    "/housing/applications/{application_id:int}/candidates",
    operation_id="listHousingCandidates",
    summary="Applications of the other side that fit, best first, with the reasons "
    "(social workers; nobody is told)",
)
async def list_candidates(
    tx: Tx, viewer: CurrentViewer, settings: SettingsDep, application_id: FromPath[int]
) -> list[Candidate]:
    return await candidates.candidates_for(
        tx, viewer, application_id, max_km=settings.housing_max_km
    )


@post(
    "/housing/pairs",
    operation_id="proposeHousingPair",
    summary="Propose a host and a young person to each other (both interviewed first)",
)
async def propose_pair(data: JSONBody[PairIn], tx: Tx, viewer: CurrentViewer) -> Pair:
    return await pairs.propose_pair(tx, viewer, data, today=clock.today())


@get(
    "/housing/pairs",
    operation_id="listHousingPairs",
    summary="My centres' pairs (social workers), or the pairs I was introduced in",
)
async def list_pairs(
    tx: Tx,
    viewer: CurrentViewer,
    live: Annotated[bool, QueryParameter(description="only pairs that have not ended")] = False,
) -> list[Pair]:
    return await pairs.list_pairs(tx, viewer, today=clock.today(), live_only=live)


@get(
    "/housing/pairs/{pair_id:int}",
    operation_id="getHousingPair",
    summary="A pair with its steps and documents",
)
async def get_pair(tx: Tx, viewer: CurrentViewer, pair_id: FromPath[int]) -> Pair:
    return await pairs.get_pair(tx, viewer, pair_id, today=clock.today())


@post(
    "/housing/pairs/{pair_id:int}/steps",
    operation_id="recordHousingPairStep",
    summary="Record the meeting, the start of the trial, the signed agreement or a follow-up visit",
)
async def record_pair_step(
    data: JSONBody[PairStepIn],
    tx: Tx,
    viewer: CurrentViewer,
    settings: SettingsDep,
    pair_id: FromPath[int],
) -> Pair:
    return await pairs.record_pair_step(tx, viewer, pair_id, data, settings, today=clock.today())


@post(
    "/housing/pairs/{pair_id:int}/end",
    operation_id="endHousingPair",
    summary="End a pairing, with the reason and both sides' feedback",
    status_code=200,
)
async def end_pair(
    data: JSONBody[PairEndIn], tx: Tx, viewer: CurrentViewer, pair_id: FromPath[int]
) -> Pair:
    return await pairs.end_pair(tx, viewer, pair_id, data, today=clock.today())


@post(
    "/housing/pairs/{pair_id:int}/documents",
    operation_id="generateHousingDocument",
    summary="Draw up the pair's charter (once introduced) or agreement (in trial) as PDF "
    "(the centre's social workers)",
)
async def generate_document(
    data: JSONBody[DocumentIn], tx: Tx, viewer: CurrentViewer, pair_id: FromPath[int]
) -> DocumentInfo:
    return await documents.generate_document(tx, viewer, pair_id, data.kind, today=clock.today())


@get(
    "/housing/pairs/{pair_id:int}/documents/{document_id:int}",
    operation_id="getHousingDocument",
    summary="Download one of the pair's documents (a PDF attachment: "
    "charte-binome-{pair_id}.pdf or convention-binome-{pair_id}.pdf)",
    media_type="application/pdf",
    # Names, birth dates and the host's address: no cache keeps a copy.
    cache_control=CacheControlHeader(no_store=True),
)
async def get_document(
    tx: Tx, viewer: CurrentViewer, pair_id: FromPath[int], document_id: FromPath[int]
) -> Response[bytes]:
    filename, pdf = await documents.read_document(tx, viewer, pair_id, document_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


ROUTES = [
    create_application,
    list_applications,
    get_application,
    record_application_step,
    withdraw_application,
    list_candidates,
    propose_pair,
    list_pairs,
    get_pair,
    record_pair_step,
    end_pair,
    generate_document,
    get_document,
]

router = Router(path="/api/v1", route_handlers=ROUTES, tags=["housing"])
