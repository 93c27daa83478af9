"""GDPR API: download my data, erase my account; the same for an assisted resident by
the social worker acting for them."""

from __future__ import annotations

from litestar import Response, Router, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import Cookie, State
from litestar.params import FromPath, JSONBody

from voisins.api.deps import CurrentViewer, SettingsDep, Tx, ended_session_cookie
from voisins.moderation import gdpr
from voisins.moderation.gdpr import Erased, ErasureIn
from voisins.moderation.gdpr_export import PersonalData


def _download(data: PersonalData, person_id: int) -> Response[PersonalData]:
    return Response(
        data,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="voisins-donnees-{person_id}.json"',
            "Cache-Control": "no-store",
        },
    )


def _erased(state: State, result: Erased, cookies: list[Cookie] | None = None) -> Response[Erased]:
    # Redis is cleaned once the transaction committed, after the response is sent.
    return Response(
        result,
        status_code=200,
        cookies=cookies,
        background=BackgroundTask(
            gdpr.finish_erasure, state.engine, state.redis, result.erasure_id
        ),
    )


@get(
    "/me/export",
    operation_id="exportMyData",
    summary="Download everything voisins holds about me (JSON)",
)
async def export_mine(tx: Tx, viewer: CurrentViewer) -> Response[PersonalData]:
    return _download(await gdpr.export_mine(tx, viewer), viewer.id)


@post(
    "/me/erasure",
    operation_id="eraseMyAccount",
    summary="Erase my account and my data (cannot be undone)",
    status_code=200,
)
async def erase_mine(
    data: JSONBody[ErasureIn], tx: Tx, viewer: CurrentViewer, settings: SettingsDep, state: State
) -> Response[Erased]:
    result = await gdpr.erase_mine(tx, viewer, data, settings=settings)
    return _erased(state, result, [ended_session_cookie()])


@get(
    "/assisted-residents/{resident_id:int}/export",
    operation_id="exportAssistedResidentData",
    summary="Download everything voisins holds about an assisted resident I act for",
)
async def export_for_resident(
    tx: Tx, viewer: CurrentViewer, resident_id: FromPath[int]
) -> Response[PersonalData]:
    return _download(await gdpr.export_for_resident(tx, viewer, resident_id), resident_id)


@post(
    "/assisted-residents/{resident_id:int}/erasure",
    operation_id="eraseAssistedResident",
    summary="Erase an assisted resident's account and data at their request",
    status_code=200,
)
async def erase_for_resident(
    data: JSONBody[ErasureIn],
    tx: Tx,
    viewer: CurrentViewer,
    settings: SettingsDep,
    state: State,
    resident_id: FromPath[int],
) -> Response[Erased]:
    result = await gdpr.erase_for_resident(tx, viewer, resident_id, data, settings=settings)
    return _erased(state, result)


router = Router(
    path="/api/v1",
    route_handlers=[export_mine, erase_mine, export_for_resident, erase_for_resident],
    tags=["gdpr"],
)
