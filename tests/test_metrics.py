"""/metrics (issue 13): Prometheus text behind a token, the series operators need
(per-route rates and latencies, pool, outbox lag, queues, deliveries, dead letters,
SSE streams), and no personal data: no id from a path, no e-mail, no coordinate, no
query string value, no user id — in one process and summed across several."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import httpx
import msgspec
import pytest
from arq.connections import ArqRedis
from arq.constants import default_queue_name
from litestar.testing import AsyncTestClient
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.app import create_app
from voisins.metrics import prepare_metrics_dir
from voisins.notify.jobs import SEND_QUEUE
from voisins.settings import Settings

from .support.people import register
from .support.ports import free_port
from .support.servers import serving
from .support.world import HOME_ALICE, post_body

TOKEN = "metrics-" + secrets.token_hex(16)
BEARER = {"Authorization": f"Bearer {TOKEN}"}
# Ids far from anything else in the output, so that finding one there means a leak.
FIRST_USER_ID = 73_400_017
FIRST_POST_ID = 51_900_023
MISSING_POST_ID = 918_273_645


@pytest.fixture
def metered(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, metrics_token=TOKEN)


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(body: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def label_values(found: Samples, label: str) -> set[str]:
    return {v for (_, labels) in found for k, v in labels if k == label}


async def test_without_a_token_setting_there_is_no_metrics_route(client: AsyncTestClient) -> None:
    assert (await client.get("/metrics")).status_code == 404
    assert (await client.get("/metrics", headers=BEARER)).status_code == 404


async def test_a_wrong_or_missing_token_is_refused_in_the_error_shape(metered: Settings) -> None:
    async with AsyncTestClient(create_app(metered)) as client:
        for headers in ({"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": TOKEN}, {}):
            refused = await client.get("/metrics", headers=headers)
            assert refused.status_code == 401, headers
            assert refused.json()["error"] == "unauthenticated"
            assert "voisins_" not in refused.text
        allowed = await client.get("/metrics", headers=BEARER)
        assert allowed.status_code == 200
        assert allowed.headers["content-type"].startswith("text/plain")


async def test_metrics_name_routes_by_template_and_carry_no_personal_data(
    metered: Settings, engine: AsyncEngine, redis_url: str
) -> None:
    async with engine.begin() as conn:  # each test restarts ids; these are distinctive
        await conn.execute(text(f"ALTER TABLE users ALTER COLUMN id RESTART {FIRST_USER_ID}"))
        await conn.execute(text(f"ALTER TABLE posts ALTER COLUMN id RESTART {FIRST_POST_ID}"))
    async with AsyncTestClient(create_app(metered)) as setup:
        alice = await register(setup, "Alice")
        vera = await register(setup, "Vera")
    emails = [alice.email, vera.email, f"inconnu{secrets.token_hex(4)}@example.net"]
    async with engine.begin() as conn:  # a dead letter, as a send that gave up leaves it
        await conn.execute(
            text(
                "INSERT INTO deliveries (event_id, user_id, channel, kind, status) "
                "SELECT id, :u, 'email', topic, 'dead' FROM outbox ORDER BY id LIMIT 1"
            ),
            {"u": alice.id},
        )
    queues = ArqRedis.from_url(redis_url)
    try:
        await queues.enqueue_job("process_event", 1)
        await queues.enqueue_job("send_deliveries", [1], _queue_name=SEND_QUEUE)
    finally:
        await queues.aclose()

    nearby = {"lon": "2.3531179", "lat": "48.8842137", "radius_km": "3", "page": "7"}
    async with serving(metered) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        post_ids = []
        for _ in range(2):
            made = await http.post(
                "/api/v1/posts", json=post_body(HOME_ALICE), headers=alice.headers
            )
            assert made.status_code == 201, made.text
            post_ids.append(made.json()["id"])
        for post_id in [*post_ids, MISSING_POST_ID]:
            await http.get(f"/api/v1/posts/{post_id}", headers=vera.headers)
        assert (await http.get("/api/v1/posts", params=nearby)).status_code == 200
        for email in emails:  # the last one is unknown: 401
            await http.post("/api/v1/auth/login", json={"email": email, "password": "nope-" * 3})
        async with http.stream("GET", "/api/v1/me/events", headers=vera.headers) as stream:
            lines = stream.aiter_lines()
            while (await asyncio.wait_for(anext(lines), 5)) != "data: ready":
                pass
            scraped = await http.get("/metrics", headers=BEARER)
        async with engine.begin() as conn:  # a second dead letter, seen at once...
            await conn.execute(
                text(
                    "INSERT INTO deliveries (event_id, user_id, channel, kind, status) "
                    "SELECT id, :u, 'sms', topic, 'dead' FROM outbox ORDER BY id LIMIT 1"
                ),
                {"u": vera.id},
            )
        again = samples((await http.get("/metrics", headers=BEARER)).text)
    assert scraped.status_code == 200
    body = scraped.text
    found = samples(body)

    # Per route, by template: the two reads of existing posts and the missing one.
    get_post = {"app_name": "voisins", "method": "GET", "path": "/api/v1/posts/{post_id}"}
    assert (value(found, "voisins_requests_total", **get_post, status_code="200") or 0) >= 2
    assert (value(found, "voisins_requests_total", **get_post, status_code="404") or 0) >= 1
    fast = value(
        found, "voisins_request_duration_seconds_bucket", **get_post, status_code="200", le="10.0"
    )
    assert (fast or 0) >= 2
    paths = label_values(found, "path")
    assert {"/api/v1/posts", "/api/v1/auth/login", "/api/v1/me/events"} <= paths
    assert "/metrics" not in paths
    assert not any("?" in p or p.startswith("/static/") for p in paths), paths

    # Scrape-time figures.
    assert value(found, "voisins_db_pool_size") == metered.db_pool_size
    assert (value(found, "voisins_db_pool_checked_out") or 0) >= 0
    assert value(found, "voisins_db_pool_overflow") is not None
    assert value(found, "voisins_sse_streams_open") == 1
    assert (value(found, "voisins_outbox_unprocessed") or 0) >= 1  # no worker runs here
    assert (value(found, "voisins_outbox_oldest_unprocessed_seconds") or 0) > 0
    assert value(found, "voisins_deliveries", status="dead", channel="email") == 1
    assert value(found, "voisins_dead_letters") == 1
    # ...while the breakdown, a scan of the whole table, waits for its next minute.
    assert value(again, "voisins_dead_letters") == 2
    assert value(again, "voisins_deliveries", status="dead", channel="email") == 1
    assert value(again, "voisins_deliveries", status="dead", channel="sms") is None
    assert value(found, "voisins_queue_depth", queue=default_queue_name) == 1
    assert value(found, "voisins_queue_depth", queue=SEND_QUEUE) == 1
    assert value(found, "voisins_metrics_source_up", source="postgresql") == 1
    assert value(found, "voisins_metrics_source_up", source="redis") == 1

    # Privacy: nothing a person sent or is known by.
    leaks = [
        *map(str, [alice.id, vera.id, *post_ids, MISSING_POST_ID]),
        *emails,
        "@",
        nearby["lon"],
        nearby["lat"],
        *map(str, HOME_ALICE),
        "lon=",
        "page=7",
        alice.token,
    ]
    present = [leak for leak in leaks if leak in body]
    assert not present, present


@contextlib.contextmanager
def two_processes(settings: Settings, metrics_dir: str) -> Iterator[str]:
    """``uvicorn --workers 2`` on the app, as ``voisins serve --workers 2`` runs it."""
    port = free_port()
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
        "VOISINS_ENVIRONMENT": "test",
        "VOISINS_DATABASE_URL": settings.database_url,
        "VOISINS_REDIS_URL": settings.redis_url,
        "VOISINS_DB_POOL_SIZE": "3",
        "VOISINS_METRICS_TOKEN": TOKEN,
        "VOISINS_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "voisins.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
            "--no-access-log",
        ],
        env=env,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(20)


async def until_ready(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/metrics", headers=BEARER)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise AssertionError("the two-process server did not start")


@pytest.fixture
def metrics_dir() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="voisins-metrics-test-") as directory:
        yield directory


async def scrape_until(base_url: str, check: object, tries: int = 40) -> Samples:
    found: Samples = {}
    async with httpx.AsyncClient(base_url=base_url) as http:
        for _ in range(tries):
            found = samples((await http.get("/metrics", headers=BEARER)).text)
            if callable(check) and check(found):
                break
            await asyncio.sleep(0.5)
    return found


async def test_two_processes_sum_their_requests_and_do_not_multiply_shared_figures(
    settings: Settings, metrics_dir: str, redis_url: str
) -> None:
    queues = ArqRedis.from_url(redis_url)
    try:
        for n in range(3):
            await queues.enqueue_job("process_event", n)
    finally:
        await queues.aclose()
    # What a process killed with SIGKILL leaves: its pool size, never to be removed by
    # its own shutdown. The live processes must not add it to theirs.
    dead_pid = 4_000_000 + secrets.randbelow(100_000)
    with pytest.raises(ProcessLookupError):  # nobody has that pid
        os.kill(dead_pid, 0)
    stale = MmapedDict(os.path.join(metrics_dir, f"gauge_livesum_{dead_pid}.db"))
    key = mmap_key("voisins_db_pool_size", "voisins_db_pool_size", [], [], "stale")
    stale.write_value(key, 100.0, time.time())
    stale.close()
    with two_processes(settings, metrics_dir) as base_url:
        await until_ready(base_url)
        async with httpx.AsyncClient(base_url=base_url) as http:
            # New connections each time, so that both processes answer some.
            for _ in range(40):
                await http.get("/health/live", headers={"Connection": "close"})
        live = {"app_name": "voisins", "method": "GET", "path": "/health/live"}

        def settled(found: Samples) -> bool:  # both processes have written their pool
            return value(found, "voisins_db_pool_size") == 6

        found = await scrape_until(base_url, settled)
    assert value(found, "voisins_requests_total", **live, status_code="200") == 40
    assert value(found, "voisins_db_pool_size") == 6  # 3 per live process, summed
    assert value(found, "voisins_queue_depth", queue=default_queue_name) == 3  # read once
    assert value(found, "voisins_sse_streams_open") == 0
    assert value(found, "voisins_metrics_source_up", source="postgresql") == 1


def test_the_serve_command_prepares_a_fresh_directory_only_for_several_processes() -> None:
    saved = os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    try:
        prepare_metrics_dir(1)
        assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
        prepare_metrics_dir(2)
        chosen = os.environ["PROMETHEUS_MULTIPROC_DIR"]
        assert os.path.isdir(chosen) and not os.listdir(chosen)
        os.rmdir(chosen)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = "/srv/operator-choice"
        prepare_metrics_dir(4)
        assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == "/srv/operator-choice"
    finally:  # this process's other tests run in single-process mode
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        if saved is not None:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = saved
