"""Liveness and readiness probes."""

from __future__ import annotations

import msgspec
from litestar import Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec

from voisins.health import Readiness, readiness


class Live(msgspec.Struct):
    status: str


@get("/health/live", operation_id="healthLive", summary="The process is up", tags=["health"])
async def live() -> Live:
    return Live(status="live")


@get(
    "/health/ready",
    operation_id="healthReady",
    summary="Database, PostGIS, migrations and Redis are usable",
    tags=["health"],
    responses={503: ResponseSpec(data_container=Readiness, description="A dependency is down")},
)
async def ready(state: State) -> Response[Readiness]:
    result = await readiness(state.engine, state.redis, timeout_s=state.settings.health_timeout_s)
    return Response(result, status_code=200 if result.ok else 503)
