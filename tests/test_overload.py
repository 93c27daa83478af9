"""Overload is answered fast and clearly (issue 13): when every database connection is
busy, a request waits a bounded time for one and is then told 503 with Retry-After, in
the error shape (a page for people); a statement stuck behind a lock is cancelled by its
timeout and told the same, instead of holding its connection for minutes."""

from __future__ import annotations

import asyncio
import time

import httpx
import msgspec
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.api.errors import as_overload
from voisins.app import create_app
from voisins.settings import Settings

from .support.people import register
from .support.servers import serving
from .support.world import HOME_ALICE, post_body

NEARBY = {"lon": HOME_ALICE[0], "lat": HOME_ALICE[1], "radius_km": 2}


async def test_a_request_that_finds_no_free_connection_is_told_503_within_the_wait(
    settings: Settings, engine: AsyncEngine
) -> None:
    """Two edits wait on a row lock and hold the app's two connections (a pool of 2,
    no overflow): an unrelated read, then a page, get 503 after the bounded wait."""
    small = msgspec.structs.replace(settings, db_pool_size=2, db_pool_timeout_s=0.5)
    async with AsyncTestClient(create_app(settings)) as setup:
        alice = await register(setup, "Alice")
        made = await setup.post("/api/v1/posts", json=post_body(HOME_ALICE), headers=alice.headers)
        assert made.status_code == 201, made.text
        post_id = made.json()["id"]
    # A real server in this event loop, so that requests run at the same time.
    async with serving(small) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        async with engine.connect() as holder:
            await holder.execute(
                text("SELECT id FROM posts WHERE id = :p FOR UPDATE"), {"p": post_id}
            )
            edits = [
                asyncio.create_task(
                    client.patch(
                        f"/api/v1/posts/{post_id}",
                        json={"description": f"Précision {n}"},
                        headers=alice.headers,
                        timeout=60,
                    )
                )
                for n in range(2)
            ]
            await asyncio.sleep(1.0)  # both are now waiting on the lock, connection in hand
            started = time.monotonic()
            busy = await client.get("/api/v1/posts", params=NEARBY)
            waited = time.monotonic() - started
            ready = await client.get("/health/ready")
            client.cookies.set("voisins_session", alice.token)
            page = await client.get("/mes-annonces")
            client.cookies.clear()
            await holder.rollback()
        done = await asyncio.gather(*edits)
        assert busy.status_code == 503, busy.text
        assert busy.json()["error"] == "overloaded"
        assert int(busy.headers["Retry-After"]) >= 1
        assert waited < 5  # the bounded wait (0.5 s), not a queue without end
        assert page.status_code == 503 and "Service indisponible" in page.text
        # The readiness probe says why: overload, not "database unreachable".
        assert ready.status_code == 503
        detail = ready.json()["checks"]["database"]["detail"]
        assert detail == "pool exhausted: 2 of 2 connections in use", detail
        assert "Retry-After" in page.headers
        # The lock released, the waiting edits went through and the service answers.
        assert [r.status_code for r in done] == [200, 200]
        again = await client.get("/api/v1/posts", params=NEARBY)
        assert again.status_code == 200


async def test_a_statement_stuck_behind_a_lock_is_cancelled_and_told_503(
    settings: Settings, engine: AsyncEngine
) -> None:
    quick = msgspec.structs.replace(settings, db_statement_timeout_s=0.5)
    async with AsyncTestClient(create_app(quick)) as client:
        alice = await register(client, "Alice")
        made = await client.post("/api/v1/posts", json=post_body(HOME_ALICE), headers=alice.headers)
        assert made.status_code == 201, made.text
        post_id = made.json()["id"]
        async with engine.connect() as holder:
            await holder.execute(
                text("SELECT id FROM posts WHERE id = :p FOR UPDATE"), {"p": post_id}
            )
            edit = client.patch(
                f"/api/v1/posts/{post_id}",
                json={"title": "Des courses jeudi"},
                headers=alice.headers,
            )
            stuck = await asyncio.wait_for(edit, timeout=20)
            await holder.rollback()
        assert stuck.status_code == 503, stuck.text
        assert stuck.json()["error"] == "overloaded"
        # Nothing half-written: the title is the one before.
        shown = await client.get(f"/api/v1/posts/{post_id}", headers=alice.headers)
        assert shown.json()["title"] != "Des courses jeudi"


async def test_a_deadlock_between_two_requests_is_told_try_again_not_500(
    engine: AsyncEngine,
) -> None:
    """Two transactions that lock the same two rows in opposite orders: PostgreSQL
    rolls one back (deadlock_detected). The real error, as SQLAlchemy raises it, is
    answered 503 + Retry-After (try again), never 500."""
    async with engine.connect() as setup:
        await setup.execute(text("DROP TABLE IF EXISTS crossing_rows"))
        await setup.execute(text("CREATE TABLE crossing_rows (id int PRIMARY KEY)"))
        await setup.execute(text("INSERT INTO crossing_rows VALUES (1), (2)"))
        await setup.commit()
    failures: list[BaseException] = []

    async def cross(first: int, second: int) -> None:
        try:
            async with engine.begin() as conn:
                lock = "SELECT id FROM crossing_rows WHERE id = :i FOR UPDATE"
                await conn.execute(text(lock), {"i": first})
                await asyncio.sleep(0.3)
                await conn.execute(text(lock), {"i": second})
        except DBAPIError as exc:
            failures.append(exc)

    try:
        await asyncio.gather(cross(1, 2), cross(2, 1))
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE crossing_rows"))
    (deadlock,) = failures
    assert isinstance(deadlock, DBAPIError)
    busy = as_overload(deadlock)
    assert busy is not None and busy.status_code == 503 and busy.retry_after_s >= 1
    # Errors that are not a crossing or a busy database stay what they are.
    assert as_overload(ValueError("no")) is None


async def test_a_connection_the_database_dropped_is_told_try_again_then_replaced(
    settings: Settings, engine: AsyncEngine
) -> None:
    """No ping before each checkout (it cost three round trips a request): when the
    server drops the pool's connections (a restart, a failover), the request that meets
    a dead one is told 503 + Retry-After, and the next one gets a fresh connection."""
    async with serving(settings) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        assert (await client.get("/api/v1/posts", params=NEARBY)).status_code == 200
        async with engine.connect() as conn:
            dropped = await conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            assert dropped.scalar_one() >= 1
        met_dead = await client.get("/api/v1/posts", params=NEARBY)
        assert met_dead.status_code == 503, met_dead.text
        assert met_dead.json()["error"] == "overloaded"
        assert met_dead.headers["Retry-After"] == "1"
        assert (await client.get("/api/v1/posts", params=NEARBY)).status_code == 200
    # The suite's own engine lost its other connections too: start it afresh.
    await engine.dispose()


async def test_a_database_error_while_reading_the_session_does_not_keep_the_connection(
    settings: Settings, engine: AsyncEngine
) -> None:
    """A statement cancelled while the viewer is read (a dependency of the handler,
    after the request's connection was taken): 503 each time, and the connection goes
    back to the pool at once. Litestar does not run the clean-up of dependencies when
    a later one fails; before api/errors.release_frames, four such errors left a pool
    of two empty until the garbage collector passed, and every request after was 503."""
    async with AsyncTestClient(create_app(settings)) as setup:
        alice = await register(setup, "Alice")
    small = msgspec.structs.replace(
        settings, db_pool_size=2, db_pool_timeout_s=1.0, db_statement_timeout_s=0.3
    )
    async with serving(small) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        async with engine.connect() as holder:
            await holder.execute(text("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE"))
            cancelled = [
                await client.get("/api/v1/me", headers=alice.headers, timeout=10) for _ in range(4)
            ]
            await holder.rollback()
        assert [r.status_code for r in cancelled] == [503] * 4
        assert {r.json()["error"] for r in cancelled} == {"overloaded"}
        after = await client.get("/api/v1/me", headers=alice.headers, timeout=10)
        assert after.status_code == 200, after.text
