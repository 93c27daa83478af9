"""Liveness and readiness probes."""

from __future__ import annotations

import msgspec
from litestar import Response, get
from litestar.channels import ChannelsPlugin
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec

from voisins.health import Readiness, live_events_check, readiness
from voisins.notify.live import LiveChannels


class Live(msgspec.Struct):
    status: str


@get("/health/live", operation_id="healthLive", summary="The process is up", tags=["health"])
async def live() -> Live:
    return Live(status="live")


@get(
    "/health/ready",
    operation_id="healthReady",
    summary="Database, PostGIS, migrations, Redis and the live-events subscription are usable",
    tags=["health"],
    responses={503: ResponseSpec(data_container=Readiness, description="A dependency is down")},
)
async def ready(state: State, channels: NamedDependency[ChannelsPlugin]) -> Response[Readiness]:
    live = channels.live_backend if isinstance(channels, LiveChannels) else None
    result = await readiness(
        state.engine,
        state.redis,
        timeout_s=state.settings.health_timeout_s,
        live_events=None if live is None else live_events_check(live.down_since),
    )
    return Response(result, status_code=200 if result.ok else 503)
