"""The Litestar application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.datastructures import State
from litestar.exceptions import HTTPException

from voisins import __version__
from voisins.api import (
    auth,
    centres,
    conversations,
    gdpr,
    housing,
    matches,
    moderation,
    notifications,
    people,
    posts,
    stats,
)
from voisins.api.caching import no_store_middleware
from voisins.api.deps import DEPENDENCIES
from voisins.api.edge import input_edge_middleware
from voisins.api.errors import EXCEPTION_HANDLERS, release_frames
from voisins.api.health import live, ready
from voisins.api.middleware import request_id_middleware
from voisins.api.openapi import ApiDocs
from voisins.api.refusals import audit_refusal
from voisins.db import create_engine
from voisins.geo.geocoder import geocoder_from_settings
from voisins.health import OutageLogger, Readiness, monitor, readiness
from voisins.logs import configure_logging, get_logger
from voisins.metrics import MetricsController, prometheus_config
from voisins.metrics import lifespan as metrics_lifespan
from voisins.notify import live as live_events
from voisins.redis_pool import create_redis
from voisins.settings import Settings, load_settings
from voisins.shutdown import finish_within
from voisins.web import setup as web
from voisins.web.problems import site_http_error
from voisins.web.routes import unsubscribe

log = get_logger(__name__)

API_DESCRIPTION = """
voisins met en relation les habitants qui demandent ou offrent de l'aide entre voisins,
avec l'appui des centres sociaux. Aucune adresse exacte n'est jamais montrée à un tiers :
positions et distances publiques viennent d'une grille fixe de 500 m et de tranches de 1 km.

voisins matches neighbours who ask for or offer help, with the support of centres sociaux.
Errors are JSON `{"error", "detail", "fields"}`.
"""


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()
    configure_logging(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = create_engine(settings, pool_size=settings.db_pool_size, bounded=True)
        redis = create_redis(settings)
        app.state.engine = engine
        app.state.redis = redis
        app.state.geocoder = geocoder_from_settings(settings)

        async def probe() -> Readiness:
            return await readiness(engine, redis, timeout_s=settings.health_timeout_s)

        stop_watching = asyncio.Event()
        watcher = asyncio.create_task(
            monitor(
                probe,
                OutageLogger(settings.health_log_interval_s),
                period_s=10.0,
                stop=stop_watching,
            )
        )
        try:
            yield
        finally:
            stop_watching.set()
            watcher.cancel()
            await finish_within(watcher, "health monitor")
            close = getattr(app.state.geocoder, "aclose", None)
            if close is not None:
                await finish_within(close(), "geocoder")
            await finish_within(redis.aclose(), "redis")
            await finish_within(engine.dispose(), "database pool")

    # Live inbox events travel over Redis pub/sub, so any API process can serve them;
    # the subscription survives Redis restarts (notify/live_backend.py).
    live_channels = live_events.live_channels(settings)
    # /metrics exists only when a token protects it (voisins/metrics.py).
    metrics_on = bool(settings.metrics_token)
    api_docs = ApiDocs(title="voisins", version=__version__, description=API_DESCRIPTION)
    return Litestar(
        plugins=[live_channels, api_docs],
        route_handlers=[
            live,
            ready,
            auth.router,
            centres.router,
            posts.router,
            people.router,
            matches.router,
            conversations.router,
            housing.router,
            notifications.router,
            gdpr.router,
            stats.router,
            *unsubscribe.ROUTES,
            moderation.router,
            *web.static_routers(settings),
            *web.page_routes(),
            *([MetricsController] if metrics_on else []),
        ],
        dependencies=DEPENDENCIES,
        lifespan=[lifespan, *([metrics_lifespan] if metrics_on else [])],
        state=State({"settings": settings}),
        middleware=[
            *([prometheus_config().middleware] if metrics_on else []),
            request_id_middleware,
            web.page_headers_middleware(settings),
            no_store_middleware,
            # Crafted input is refused before any handler runs (api/edge.py).
            input_edge_middleware,
        ],
        template_config=web.template_config(),
        csrf_config=web.csrf_config(settings),
        # Unknown addresses outside the API get a page (web/problems.py).
        exception_handlers={**EXCEPTION_HANDLERS, HTTPException: site_http_error},  # type: ignore[dict-item]
        after_exception=[audit_refusal, release_frames],
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,
        openapi_config=api_docs.config,
        debug=False,
    )
