"""Liveness, readiness per dependency, and the JSON error body shape."""

from __future__ import annotations

import asyncio
import contextlib

from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs

from voisins.app import create_app
from voisins.health import Check, OutageLogger, Readiness, monitor
from voisins.settings import Settings, load_settings


async def test_live_answers_200(client: AsyncTestClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "live"}


async def test_ready_when_every_dependency_answers(client: AsyncTestClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    assert set(checks) == {"database", "postgis", "migrations", "redis", "live_events"}
    assert all(c["ok"] for c in checks.values())
    assert checks["postgis"]["detail"].startswith("PostGIS 3")


async def test_ready_is_503_naming_redis_when_redis_is_unreachable(
    settings: Settings, free_port: int
) -> None:
    broken = load_settings(
        environment="test",
        database_url=settings.database_url,
        redis_url=f"redis://127.0.0.1:{free_port}/0",
        log_level="ERROR",
        health_timeout_s=1.0,
    )
    async with AsyncTestClient(create_app(broken)) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"]["ok"] is False
    assert "Connection" in body["checks"]["redis"]["detail"]
    assert body["checks"]["database"]["ok"] is True


async def test_ready_is_503_naming_the_database_when_it_is_unreachable(
    settings: Settings, free_port: int
) -> None:
    broken = load_settings(
        environment="test",
        database_url=f"postgresql://voisins@127.0.0.1:{free_port}/voisins",
        redis_url=settings.redis_url,
        log_level="ERROR",
        health_timeout_s=1.0,
    )
    async with AsyncTestClient(create_app(broken)) as client:
        assert (await client.get("/health/live")).status_code == 200
        response = await client.get("/health/ready")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] is False
    assert checks["redis"]["ok"] is True


async def test_openapi_spec_and_interactive_page_are_served(client: AsyncTestClient) -> None:
    spec = await client.get("/schema/openapi.json")
    assert spec.status_code == 200
    operations = [
        op["operationId"] for path in spec.json()["paths"].values() for op in path.values()
    ]
    assert "healthReady" in operations
    page = await client.get("/schema")
    assert page.status_code == 200
    assert "<html" in page.text.lower()


async def test_unknown_route_gets_the_error_body_shape(client: AsyncTestClient) -> None:
    # Under the API; elsewhere an unknown address gets a page (tests/web/test_pages.py).
    response = await client.get("/api/v1/no/such/route")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "Not Found", "fields": {}}


async def test_every_response_carries_a_request_id(client: AsyncTestClient) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": "abcdef123456"})
    assert response.headers["x-request-id"] == "abcdef123456"
    other = await client.get("/health/live")
    assert len(other.headers["x-request-id"]) == 32


def test_outage_is_logged_once_per_interval() -> None:
    now = [0.0]
    outages = OutageLogger(interval_s=60, clock=lambda: now[0])
    down = Readiness("unavailable", {"redis": Check(ok=False, detail="ConnectionError")})
    up = Readiness("ready", {"redis": Check(ok=True)})
    with capture_logs() as logs:
        for second in (0, 10, 30, 59):
            now[0] = second
            outages.observe(down)
        now[0] = 61
        outages.observe(down)
        outages.observe(up)
        outages.observe(up)
    events = [entry["event"] for entry in logs]
    assert events == ["dependency unavailable", "dependency unavailable", "dependency recovered"]


async def test_the_monitor_stops_when_told_even_if_its_cancellation_is_swallowed() -> None:
    # What Python 3.11's asyncio.wait_for does when the awaitable it guards finishes as
    # the cancellation arrives: the CancelledError is dropped and the result returned.
    # A monitor that only stopped on cancellation then probed for ever, and the app's
    # shutdown waited on it (CI test clients hanging ten minutes on exit).
    probing = asyncio.Event()

    async def probe() -> Readiness:
        probing.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.2)
        return Readiness("ready", {})

    stop = asyncio.Event()
    task = asyncio.create_task(monitor(probe, OutageLogger(60.0), period_s=0.05, stop=stop))
    await probing.wait()
    stop.set()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=2.0)
    task.cancel()
    assert done, "the monitor went on probing after it was told to stop"
