"""`voisins serve --workers 2` (issue 13): two real API processes share one port, and a
person is the same person whichever process answers — the session made on one works on
the other, the login limit counts attempts made on both, and an Idempotency-Key
replays across them — because all of it lives in PostgreSQL and Redis. SIGTERM stops
the whole group cleanly. A live inbox event reaches the person's streams on every
process (Redis pub/sub)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from voisins.app import create_app
from voisins.notify.live import publish_inbox_events
from voisins.settings import Settings

from .notify.sse import is_notification, is_ready, next_event, sse_events
from .support.people import PASSWORD, register
from .support.world import HOME_ALICE, post_body


class Connection:
    """One kept-alive HTTP/1.1 connection, so that we know which process holds it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.local_port: int = writer.get_extra_info("sockname")[1]
        self.pid = 0

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(payload)}"]
        if body is not None:
            lines.append("Content-Type: application/json")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        await self.writer.drain()
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        data = await self.reader.readexactly(length) if length else b""
        return int(status_line.split()[1]), json.loads(data) if data else None

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


def owner(workers: list[psutil.Process], server_port: int, local_port: int) -> int:
    """The worker process holding the server side of our connection."""
    for worker in workers:
        for conn in worker.net_connections(kind="tcp"):
            ours = conn.raddr and conn.raddr.port == local_port
            if ours and conn.laddr and conn.laddr.port == server_port:
                return worker.pid
    return 0


def api_workers(process: subprocess.Popen[bytes], port: int) -> list[psutil.Process]:
    """The API workers: the children that listen on the port (multiprocessing's
    resource tracker is a child too). The first may answer before the second holds
    the socket: wait for both."""
    workers: list[psutil.Process] = []
    for _ in range(300):
        workers = [
            child
            for child in psutil.Process(process.pid).children()
            if any(
                c.status == psutil.CONN_LISTEN and c.laddr.port == port
                for c in child.net_connections(kind="tcp")
            )
        ]
        if len(workers) == 2:
            break
        time.sleep(0.1)
    return workers


@contextlib.contextmanager
def serve(settings: Settings, port: int, workers: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "VOISINS_ENVIRONMENT": "test",
        "VOISINS_DATABASE_URL": settings.database_url,
        "VOISINS_REDIS_URL": settings.redis_url,
        "VOISINS_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "voisins.cli", "serve", "--workers", str(workers),
         "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:  # the test failed before its own SIGTERM
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


async def wait_live(base_url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        for _ in range(300):
            assert process.poll() is None, process.stderr.read() if process.stderr else b""
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/health/live")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError("voisins serve never answered /health/live")


async def connections_on_two_processes(
    port: int, workers: list[psutil.Process]
) -> tuple[Connection, Connection]:
    """Open connections until two are held by different processes and return those two
    (the others are closed). The kernel hands each new connection to whichever worker
    accepts first, so a handful is enough."""
    opened: list[Connection] = []
    by_pid: dict[int, Connection] = {}
    for _ in range(60):
        conn = Connection(*await asyncio.open_connection("127.0.0.1", port))
        opened.append(conn)
        status, _ = await conn.request("GET", "/health/live")
        assert status == 200
        conn.pid = owner(workers, port, conn.local_port)
        assert conn.pid, "no worker holds the connection"
        by_pid.setdefault(conn.pid, conn)
        if len(by_pid) == 2:
            break
    for conn in opened:
        if conn not in by_pid.values():
            await conn.close()
    assert len(by_pid) == 2, f"every connection went to {list(by_pid)}"
    a, b = by_pid.values()
    return a, b


@pytest.mark.timeout(120)
async def test_two_processes_share_sessions_limits_and_idempotency_then_stop_on_sigterm(
    settings: Settings, free_port: int
) -> None:
    async with AsyncTestClient(create_app(settings)) as setup:
        alice = await register(setup, "Alice")
    with serve(settings, free_port, workers=2) as process:
        await wait_live(f"http://127.0.0.1:{free_port}", process)
        workers = api_workers(process, free_port)
        assert len(workers) == 2, workers
        a, b = await connections_on_two_processes(free_port, workers)
        assert a.pid != b.pid and {a.pid, b.pid} == {w.pid for w in workers}

        # Signed in on one process, known on the other; signed out there, gone here.
        status, login = await a.request(
            "POST", "/api/v1/auth/login", {"email": alice.email, "password": PASSWORD}
        )
        assert status == 200, login
        bearer = {"Authorization": f"Bearer {login['token']}"}
        status, me = await b.request("GET", "/api/v1/me", headers=bearer)
        assert (status, me["id"]) == (200, alice.id)

        # One Idempotency-Key, sent to each process: one post, the same answer twice.
        key = {**bearer, "Idempotency-Key": "serve-two-processes-0001"}
        body = post_body(HOME_ALICE)
        first = await a.request("POST", "/api/v1/posts", body, key)
        again = await b.request("POST", "/api/v1/posts", body, key)
        assert first[0] == 201, first
        assert again == first
        status, mine = await b.request("GET", "/api/v1/me/posts", headers=bearer)
        assert status == 200 and [p["id"] for p in mine["items"]] == [first[1]["id"]]

        status, _ = await b.request("POST", "/api/v1/auth/logout", headers=bearer)
        assert status == 200
        status, _ = await a.request("GET", "/api/v1/me", headers=bearer)
        assert status == 401

        # The login limit counts the wrong passwords sent to both processes together.
        wrong = {"email": alice.email, "password": "not the password"}
        statuses = [
            (await (a if n % 2 else b).request("POST", "/api/v1/auth/login", wrong))[0]
            for n in range(settings.login_max_attempts + 1)
        ]
        assert statuses == [401] * settings.login_max_attempts + [429], statuses
        await a.close()
        await b.close()

        # SIGTERM to the supervisor stops the workers and the supervisor, cleanly.
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert time.monotonic() - started < 20
        assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)


@pytest.mark.timeout(120)
async def test_a_live_event_reaches_the_streams_held_by_each_process(
    settings: Settings, free_port: int
) -> None:
    async with AsyncTestClient(create_app(settings)) as setup:
        vera = await register(setup, "Vera")
    base_url = f"http://127.0.0.1:{free_port}"
    with serve(settings, free_port, workers=2) as process:
        await wait_live(base_url, process)
        workers = api_workers(process, free_port)
        async with contextlib.AsyncExitStack() as stack:
            # One stream per process: open streams (each on a connection of its own)
            # until both processes hold one.
            streams: dict[int, Any] = {}
            for _ in range(40):
                client = await stack.enter_async_context(
                    httpx.AsyncClient(base_url=base_url, timeout=10)
                )
                response = await stack.enter_async_context(
                    client.stream("GET", "/api/v1/me/events", headers=vera.headers)
                )
                assert response.status_code == 200
                local_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
                events = sse_events(response)
                assert await next_event(events, is_ready, 10)
                pid = owner(workers, free_port, local_port)
                streams.setdefault(pid, events)
                if len(streams) == 2:
                    break
            assert set(streams) == {w.pid for w in workers}
            redis = Redis.from_url(settings.redis_url)
            try:
                await publish_inbox_events(redis, [vera.id], 42)
            finally:
                await redis.aclose()
            for events in streams.values():
                event = await next_event(events, is_notification, 10)
                assert event is not None
                assert json.loads(event["data"]) == {"type": "notification", "event_id": 42}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
