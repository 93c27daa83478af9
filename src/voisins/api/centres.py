"""Centres sociaux API."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from voisins.api.deps import CurrentViewer, Tx
from voisins.api.idempotent import IdempotencyKey, idempotent_response
from voisins.api.params import PageQuery, PerPageQuery
from voisins.centres import service
from voisins.centres.schemas import CentreIn, CentreOut, CentreUpdate, Member, MemberIn, PartnerIn
from voisins.pagination import Page


@get("/centres", operation_id="listCentres", summary="Centres sociaux and their territories")
async def list_centres(tx: Tx, page: PageQuery = 1, per_page: PerPageQuery = 20) -> Page[CentreOut]:
    return await service.list_centres(tx, page, per_page)


@get("/centres/{centre_id:int}", operation_id="getCentre", summary="One centre social")
async def get_centre(tx: Tx, centre_id: FromPath[int]) -> CentreOut:
    return await service.get_centre(tx, centre_id)


@post("/centres", operation_id="createCentre", summary="Create a centre (administrators)")
async def create_centre(
    request: Request[Any, Any, Any],
    data: JSONBody[CentreIn],
    tx: Tx,
    viewer: CurrentViewer,
    idempotency_key: IdempotencyKey = None,
) -> Response[CentreOut]:
    return await idempotent_response(
        tx, viewer, idempotency_key, request, data, lambda: service.create_centre(tx, viewer, data)
    )


@patch("/centres/{centre_id:int}", operation_id="updateCentre", summary="Change a centre")
async def update_centre(
    data: JSONBody[CentreUpdate], tx: Tx, viewer: CurrentViewer, centre_id: FromPath[int]
) -> CentreOut:
    return await service.update_centre(tx, viewer, centre_id, data)


@post(
    "/centres/{centre_id:int}/members",
    operation_id="addCentreMember",
    summary="Make a social worker a member (administrators)",
    status_code=200,
)
async def add_member(
    data: JSONBody[MemberIn], tx: Tx, viewer: CurrentViewer, centre_id: FromPath[int]
) -> Member:
    return await service.add_member(tx, viewer, centre_id, data)


@post(
    "/centres/{centre_id:int}/partners",
    operation_id="addCentrePartner",
    summary="Partner two centres (administrators)",
    status_code=200,
)
async def add_partner(
    data: JSONBody[PartnerIn], tx: Tx, viewer: CurrentViewer, centre_id: FromPath[int]
) -> CentreOut:
    return await service.add_partner(tx, viewer, centre_id, data)


@delete(
    "/centres/{centre_id:int}/partners/{partner_id:int}",
    operation_id="removeCentrePartner",
    summary="End a partnership (administrators)",
    status_code=200,
)
async def remove_partner(
    tx: Tx, viewer: CurrentViewer, centre_id: FromPath[int], partner_id: FromPath[int]
) -> CentreOut:
    return await service.remove_partner(tx, viewer, centre_id, partner_id)


router = Router(
    path="/api/v1",
    route_handlers=[
        list_centres,
        get_centre,
        create_centre,
        update_centre,
        add_member,
        add_partner,
        remove_partner,
    ],
    tags=["centres"],
)
