"""Races between legitimate requests are never a 500 (issue 13).

``db.once_more_if_crossed`` runs a piece of work again after PostgreSQL ended it for a
crossing (a real deadlock here, not a simulated error); publications at one spot, the
crossing the matcher is most exposed to, all succeed through a real server — and
through two API processes sharing the database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from voisins.app import create_app
from voisins.db import once_more_if_crossed, sqlstate
from voisins.settings import Settings

from .support.matching import in_cell, volunteer
from .support.people import register
from .support.ports import free_port
from .support.servers import serving
from .support.world import post_body

CHATELET = (2.3470, 48.8583)


@pytest.fixture
async def rows(engine: AsyncEngine) -> AsyncIterator[None]:
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS crossing_rows"))
        await conn.execute(text("CREATE TABLE crossing_rows (id int PRIMARY KEY)"))
        await conn.execute(text("INSERT INTO crossing_rows VALUES (1), (2)"))
    yield
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE crossing_rows"))


_LOCK = text("SELECT id FROM crossing_rows WHERE id = :i FOR UPDATE")


async def _crossed_by_another(engine: AsyncEngine, conn: AsyncConnection) -> None:
    """Lock row 1 then row 2 on ``conn`` while another transaction holds row 2 and then
    asks for row 1. ``conn`` waits first, so its deadlock check fires first and
    PostgreSQL ends *it* (deadlock_detected); the other transaction then commits."""
    other = await engine.connect()
    await other.begin()
    await other.execute(_LOCK, {"i": 2})

    async def other_side() -> None:
        await asyncio.sleep(0.3)  # conn is waiting for row 2 by now
        await other.execute(_LOCK, {"i": 1})
        await other.commit()
        await other.close()

    finishing = asyncio.create_task(other_side())
    try:
        await conn.execute(_LOCK, {"i": 1})
        await conn.execute(_LOCK, {"i": 2})
    finally:
        await finishing


async def test_work_crossed_once_is_run_again_and_succeeds(engine: AsyncEngine, rows: None) -> None:
    attempts = 0
    async with engine.begin() as conn:

        async def work() -> str:
            nonlocal attempts
            attempts += 1
            if attempts == 1:
                await _crossed_by_another(engine, conn)
            else:
                await conn.execute(_LOCK, {"i": 1})
                await conn.execute(_LOCK, {"i": 2})
            return "done"

        assert await once_more_if_crossed(conn, work) == "done"
        # The transaction around the savepoint is still good.
        assert (await conn.execute(text("SELECT count(*) FROM crossing_rows"))).scalar() == 2
    assert attempts == 2


async def test_work_crossed_twice_is_raised_as_the_crossing(
    engine: AsyncEngine, rows: None
) -> None:
    attempts = 0
    async with engine.begin() as conn:

        async def work() -> None:
            nonlocal attempts
            attempts += 1
            await _crossed_by_another(engine, conn)

        with pytest.raises(DBAPIError) as raised:
            await once_more_if_crossed(conn, work)
        await conn.rollback()
    assert attempts == 2
    assert sqlstate(raised.value) == "40P01"


async def test_other_errors_are_not_run_again(engine: AsyncEngine, rows: None) -> None:
    attempts = 0
    async with engine.begin() as conn:

        async def work() -> None:
            nonlocal attempts
            attempts += 1
            await conn.execute(text("INSERT INTO crossing_rows VALUES (1)"))

        with pytest.raises(IntegrityError):
            await once_more_if_crossed(conn, work)
        # Rolled back to the savepoint only: the transaction goes on.
        await conn.execute(text("INSERT INTO crossing_rows VALUES (3)"))
    assert attempts == 1
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM crossing_rows"))).scalar() == 3


async def _people_and_volunteers(
    settings: Settings, engine: AsyncEngine, residents: int
) -> list[Any]:
    for _ in range(30):
        await volunteer(engine, in_cell(CHATELET), max_active_matches=20)
    async with AsyncTestClient(create_app(settings)) as setup:
        return [await register(setup, f"Voisine{i}") for i in range(residents)]


async def _publish_all(clients: list[httpx.AsyncClient], people: list[Any]) -> list[httpx.Response]:
    return await asyncio.gather(
        *(
            clients[n % len(clients)].post(
                "/api/v1/posts", json=post_body(CHATELET), headers=people[n % len(people)].headers
            )
            for n in range(50)
        )
    )


async def _with_proposals(engine: AsyncEngine, responses: list[httpx.Response]) -> int:
    """How many of the posts created have propositions."""
    ids = [r.json()["id"] for r in responses if r.status_code == 201]
    async with engine.connect() as conn:
        count = await conn.execute(
            text("SELECT count(DISTINCT post_id) FROM matches WHERE post_id = ANY(:ids)"),
            {"ids": ids},
        )
        return int(count.scalar_one())


async def test_fifty_publications_at_one_spot_on_a_real_server_all_answer_201(
    settings: Settings, engine: AsyncEngine
) -> None:
    """50 requests in flight at once on a real server (its pool holds 20 transactions
    at a time, the rest wait their turn): 50 × 201, each with its propositions."""
    people = await _people_and_volunteers(settings, engine, 10)
    roomy = msgspec.structs.replace(settings, db_pool_timeout_s=30.0)
    async with serving(roomy) as base_url, httpx.AsyncClient(base_url=base_url, timeout=60) as c:
        responses = await _publish_all([c], people)
    assert [r.status_code for r in responses] == [201] * 50, [
        r.text for r in responses if r.status_code != 201
    ][:3]
    assert await _with_proposals(engine, responses) == 50


@contextlib.contextmanager
def _api_process(settings: Settings, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "VOISINS_ENVIRONMENT": "test",
        "VOISINS_DATABASE_URL": settings.database_url,
        "VOISINS_REDIS_URL": settings.redis_url,
        "VOISINS_LOG_LEVEL": "WARNING",
        "VOISINS_DB_POOL_TIMEOUT_S": "30",
        "VOISINS_QUOTA_PUBLISH_PER_HOUR": "10000",
        "VOISINS_QUOTA_PUBLISH_PER_DAY": "100000",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "voisins.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


async def _until_ready(client: httpx.AsyncClient) -> None:
    for _ in range(200):
        with contextlib.suppress(httpx.TransportError):
            if (await client.get("/health/live")).status_code == 200:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{client.base_url} did not start")


async def test_two_api_processes_under_concurrent_publications_answer_no_500(
    settings: Settings, engine: AsyncEngine
) -> None:
    """Two `voisins serve` processes, each with its own pool, share the publications
    of one spot: every one is created, none is a 500 or a 503."""
    people = await _people_and_volunteers(settings, engine, 10)
    ports = [free_port(), free_port()]
    with _api_process(settings, ports[0]), _api_process(settings, ports[1]):
        clients = [
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) for port in ports
        ]
        try:
            for client in clients:
                await _until_ready(client)
            responses = await _publish_all(clients, people)
        finally:
            for client in clients:
                await client.aclose()
    assert [r.status_code for r in responses] == [201] * 50, [
        r.text for r in responses if r.status_code != 201
    ][:3]
    assert await _with_proposals(engine, responses) == 50
