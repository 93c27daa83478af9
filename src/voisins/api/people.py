"""Volunteer profiles, vetting, and assisted residents.

Vetting follows accounts/vetting.py: a social worker finds, reads and writes the
records of the volunteers of their centres' territories; administrators read all."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from voisins.accounts import assisted, vetting, volunteer
from voisins.accounts.assisted import AssistedIn, AssistedResident, ConsentIn
from voisins.accounts.vetting import VolunteerBrief
from voisins.accounts.volunteer import Vetting, VettingIn, VolunteerIn, VolunteerProfile
from voisins.api.deps import CurrentViewer, GeocoderDep, QuotasDep, SettingsDep, Tx
from voisins.api.idempotent import IdempotencyKey, idempotent_response
from voisins.api.params import PageQuery, PerPageQuery
from voisins.pagination import Page


@get("/me/volunteer", operation_id="getVolunteerProfile", summary="My volunteer profile")
async def get_volunteer(tx: Tx, viewer: CurrentViewer) -> VolunteerProfile:
    return await volunteer.get_profile(tx, viewer)


@put(
    "/me/volunteer",
    operation_id="putVolunteerProfile",
    summary="Become a volunteer, or change where, when and how I help",
)
async def put_volunteer(
    data: JSONBody[VolunteerIn],
    tx: Tx,
    viewer: CurrentViewer,
    settings: SettingsDep,
    geocoder: GeocoderDep,
    quotas: QuotasDep,
) -> VolunteerProfile:
    return await volunteer.put_profile(
        tx, viewer, data, geocoder=geocoder, cell_size_m=settings.grid_cell_m, quotas=quotas
    )


@put(
    "/volunteers/{volunteer_id:int}/vetting",
    operation_id="setVetting",
    summary="Record an ID check or a criminal-record extract (social workers of the "
    "volunteer's territory)",
)
async def set_vetting(
    data: JSONBody[VettingIn], tx: Tx, viewer: CurrentViewer, volunteer_id: FromPath[int]
) -> Vetting:
    return await vetting.set_vetting(tx, viewer, volunteer_id, data)


@get(
    "/volunteers/{volunteer_id:int}/vetting",
    operation_id="getVetting",
    summary="A volunteer's vetting record and when it expires (social workers of the "
    "volunteer's territory, administrators)",
)
async def get_vetting(tx: Tx, viewer: CurrentViewer, volunteer_id: FromPath[int]) -> Vetting:
    return await vetting.get_vetting(tx, viewer, volunteer_id)


@get(
    "/volunteers",
    operation_id="searchVolunteers",
    summary="Find volunteers of my centres' territories by name, e-mail or phone",
)
async def search_volunteers(
    tx: Tx,
    viewer: CurrentViewer,
    # Checked by the service (2 to 100 characters), after who asks: a caller who may
    # not search is refused whatever they send.
    q: Annotated[
        str, QueryParameter(description="Name, e-mail or phone, 2 characters or more")
    ] = "",
) -> list[VolunteerBrief]:
    return await vetting.search(tx, viewer, q)


@get(
    "/volunteers/awaiting-vetting",
    operation_id="listVolunteersAwaitingVetting",
    summary="Volunteers of my centres' territories not vetted yet, sensitive help first",
)
async def list_awaiting_vetting(
    tx: Tx, viewer: CurrentViewer, page: PageQuery = 1, per_page: PerPageQuery = 20
) -> Page[VolunteerBrief]:
    return await vetting.awaiting_vetting(tx, viewer, page, per_page)


@get(
    "/volunteers/expiring-vetting",
    operation_id="listExpiringVetting",
    summary="Vetted volunteers of my centres' territories whose extract runs out within 60 days",
)
async def list_expiring_vetting(
    tx: Tx, viewer: CurrentViewer, page: PageQuery = 1, per_page: PerPageQuery = 20
) -> Page[VolunteerBrief]:
    return await vetting.expiring_soon(tx, viewer, page, per_page)


@post(
    "/assisted-residents",
    operation_id="createAssistedResident",
    summary="Register a resident without digital access, with their consent (social workers)",
)
async def create_assisted(
    request: Request[Any, Any, Any],
    data: JSONBody[AssistedIn],
    tx: Tx,
    viewer: CurrentViewer,
    idempotency_key: IdempotencyKey = None,
) -> Response[AssistedResident]:
    return await idempotent_response(
        tx,
        viewer,
        idempotency_key,
        request,
        data,
        lambda: assisted.create_assisted(tx, viewer, data),
    )


@get(
    "/assisted-residents",
    operation_id="listAssistedResidents",
    summary="Assisted residents of my centres",
)
async def list_assisted(
    tx: Tx,
    viewer: CurrentViewer,
    page: PageQuery = 1,
    per_page: PerPageQuery = 20,
) -> Page[AssistedResident]:
    return await assisted.list_assisted(tx, viewer, page, per_page)


@get(
    "/assisted-residents/{resident_id:int}",
    operation_id="getAssistedResident",
    summary="An assisted resident and their consents",
)
async def get_assisted(
    tx: Tx, viewer: CurrentViewer, resident_id: FromPath[int]
) -> AssistedResident:
    return await assisted.get_assisted(tx, viewer, resident_id)


@post(
    "/assisted-residents/{resident_id:int}/consents",
    operation_id="recordConsent",
    summary="Record a new consent",
    status_code=200,
)
async def record_consent(
    data: JSONBody[ConsentIn], tx: Tx, viewer: CurrentViewer, resident_id: FromPath[int]
) -> AssistedResident:
    return await assisted.record_consent(tx, viewer, resident_id, data)


router = Router(
    path="/api/v1",
    route_handlers=[
        get_volunteer,
        put_volunteer,
        set_vetting,
        get_vetting,
        search_volunteers,
        list_awaiting_vetting,
        list_expiring_vetting,
        create_assisted,
        list_assisted,
        get_assisted,
        record_consent,
    ],
    tags=["people"],
)
