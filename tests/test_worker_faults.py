"""``voisins worker`` under faults, as a real process: it stays up through a Redis
restart and a PostgreSQL outage and goes on working after; a killed send job's claims
are taken over within seconds, and a live one's never; the relay hands out again an
event whose job vanished from Redis, and only then."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import default_queue_name, health_check_key_suffix, job_key_prefix
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.notify.jobs import SEND_QUEUE
from voisins.notify.relay import REDISPATCH_FLOOR_S, dispatch_pending, job_id
from voisins.settings import Settings, load_settings
from voisins.worker import HOUSEKEEPING_QUEUE

from .support.burst_worker import burst_workers, run_to_end
from .support.mail import SlowMailbox, smtp_on_free_port
from .support.matching import CHATELET, author, mailable_volunteers, offset, request, volunteer
from .support.ports import free_port
from .support.redis_server import private_redis

HEALTH_KEYS = [
    queue + health_check_key_suffix
    for queue in (default_queue_name, SEND_QUEUE, HOUSEKEEPING_QUEUE)
]


@contextlib.contextmanager
def worker_process(log: Path, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``voisins worker``, its log lines (JSON) in ``log``; stopped with SIGTERM
    at the end, which must still end it cleanly (exit 0) after the faults."""
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VOISINS_")},
        "VOISINS_ENVIRONMENT": "test",
        "VOISINS_LOG_LEVEL": "WARNING",
        **env,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "voisins.cli", "worker"],
            env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            yield process
            if process.returncode != -signal.SIGKILL:  # not killed by the test
                assert process.poll() is None, "the worker exited on its own"
                os.killpg(process.pid, signal.SIGTERM)
                assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout_s: float) -> float:
    """Seconds it took ``predicate`` to hold; fails after ``timeout_s``."""
    began = time.monotonic()
    while time.monotonic() - began < timeout_s:
        if await predicate():
            return time.monotonic() - began
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {timeout_s} s")


async def workers_up(redis_url: str, timeout_s: float = 60) -> None:
    """The three workers of the process record their health at their first poll."""
    client = Redis.from_url(redis_url)
    try:

        async def up() -> bool:
            with contextlib.suppress(OSError, ConnectionError):
                return bool(await client.exists(*HEALTH_KEYS) == len(HEALTH_KEYS))
            return False

        await wait_until(up, timeout_s)
    finally:
        await client.aclose()


async def count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def publish_with_one_volunteer(engine: AsyncEngine, settings: Settings) -> None:
    """A request with one volunteer nearby: one ``match.proposed`` event, whose fan-out
    puts one notification in the volunteer's inbox."""
    await volunteer(engine, offset(CHATELET, east_m=100))
    await request(engine, settings, await author(engine))


def log_lines(log: Path, words: str) -> int:
    return sum(words in line for line in log.read_text(errors="replace").splitlines())


async def test_the_worker_stays_up_through_a_redis_restart_and_works_after(
    settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    with private_redis() as server:
        env = {"VOISINS_DATABASE_URL": settings.database_url, "VOISINS_REDIS_URL": server.url(0)}
        with worker_process(log, **env) as worker:
            await workers_up(server.url(0))
            # Down long enough for every worker to notice it at its next poll.
            await asyncio.to_thread(server.restart, 3.0)
            await asyncio.sleep(2)
            assert worker.poll() is None, "the worker exited after losing Redis"
            # The restarted Redis is empty: the workers register again.
            await workers_up(server.url(0))
            await publish_with_one_volunteer(engine, settings)
            await wait_until(
                lambda: _positive(count(engine, "SELECT count(*) FROM notifications")), 30
            )
    # Once, not once per worker or per attempt (health_log_interval_s is 60 s).
    assert log_lines(log, '"dependency unavailable"') == 1
    assert log_lines(log, '"dependency recovered"') == 1


async def _positive(value: Awaitable[int]) -> bool:
    return await value > 0


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to PostgreSQL. ``stop`` refuses new connections and
    cuts the open ones, as a PostgreSQL that went away would; the shared server stays
    up for every other test."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    def _call(self, coroutine: Awaitable[None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)  # type: ignore[arg-type]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()

    def start(self) -> None:
        self._call(self._start())

    def stop(self) -> None:
        self._call(self._stop())

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def database_proxy(settings: Settings) -> Iterator[tuple[TcpProxy, str]]:
    """A proxy to the test database, and the database URL through it."""
    url = urlsplit(settings.database_url)
    proxy = TcpProxy(url.hostname or "127.0.0.1", url.port or 5432)
    proxy.start()
    netloc = url.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    through = urlunsplit(url._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))
    try:
        yield proxy, through
    finally:
        proxy.close()


async def test_the_worker_stays_up_while_postgresql_is_unreachable_and_works_after(
    settings: Settings,
    engine: AsyncEngine,
    redis_url: str,
    database_proxy: tuple[TcpProxy, str],
    tmp_path: Path,
) -> None:
    proxy, through = database_proxy
    log = tmp_path / "worker.log"
    env = {"VOISINS_DATABASE_URL": through, "VOISINS_REDIS_URL": redis_url}
    with worker_process(log, **env) as worker:
        await workers_up(redis_url)
        await asyncio.sleep(1)  # the relay is listening through the proxy
        await asyncio.to_thread(proxy.stop)
        # Published while the worker cannot reach the database (the test's own
        # connections do not go through the proxy).
        await publish_with_one_volunteer(engine, settings)
        await asyncio.sleep(4)
        assert worker.poll() is None, "the worker exited while PostgreSQL was unreachable"
        assert await count(engine, "SELECT count(*) FROM notifications") == 0
        await asyncio.to_thread(proxy.start)
        await wait_until(lambda: _positive(count(engine, "SELECT count(*) FROM notifications")), 30)
    # The relay says once that it waits, and once that it recovered.
    assert log_lines(log, "outbox relay waiting for a dependency") == 1
    assert log_lines(log, "outbox relay recovered") == 1


@pytest.fixture
def slow_mailbox() -> Iterator[tuple[int, SlowMailbox]]:
    mailbox = SlowMailbox(delay_s=0.3)
    with smtp_on_free_port(mailbox) as port:
        yield port, mailbox


RECIPIENTS = 50  # one send chunk (notify.jobs.SEND_CHUNK): one job, 15 s at 0.3 s each
CLAIM_TIMEOUT_S = 3


@pytest.fixture
async def pending_emails(
    settings: Settings, engine: AsyncEngine, redis_url: str, slow_mailbox: tuple[int, SlowMailbox]
) -> AsyncIterator[Settings]:
    """``RECIPIENTS`` e-mails pending and no send job queued: the worker's ``send_due``
    hands them out as one chunk, one long job. (The fan-out queues one job per event.)"""
    await mailable_volunteers(engine, RECIPIENTS, spacing_m=5, daily_cap=200)
    mail = load_settings(
        environment="test", database_url=settings.database_url, redis_url=redis_url,
        log_level="WARNING", smtp_host="127.0.0.1", smtp_port=slow_mailbox[0],
        match_batch_per_needed=RECIPIENTS, delivery_claim_timeout_s=CLAIM_TIMEOUT_S,
    )  # fmt: skip
    await request(engine, mail, await author(engine))
    pool: ArqRedis = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        await dispatch_pending(engine, pool)
        await run_to_end(burst_workers(mail, clock=None)[0])
        await pool.flushdb()
    finally:
        await pool.aclose()
    assert (
        await count(engine, "SELECT count(*) FROM deliveries WHERE channel = 'email' "
                    "AND status = 'pending'")
    ) == RECIPIENTS  # fmt: skip
    yield mail


def sending_env(mail: Settings, redis_url: str) -> dict[str, str]:
    """The environment of a worker process that sends ``mail``'s e-mails."""
    return {
        "VOISINS_DATABASE_URL": mail.database_url,
        "VOISINS_REDIS_URL": redis_url,
        "VOISINS_SMTP_HOST": "127.0.0.1",
        "VOISINS_SMTP_PORT": str(mail.smtp_port),
    }


async def test_a_killed_send_jobs_claims_are_taken_over_within_seconds_and_a_live_ones_never(
    engine: AsyncEngine,
    redis_url: str,
    slow_mailbox: tuple[int, SlowMailbox],
    pending_emails: Settings,
    tmp_path: Path,
) -> None:
    _, mailbox = slow_mailbox
    env = {
        **sending_env(pending_emails, redis_url),
        "VOISINS_DELIVERY_CLAIM_TIMEOUT_S": str(CLAIM_TIMEOUT_S),
    }

    async def received(n: int) -> bool:
        return len(mailbox.message_ids) >= n

    with worker_process(tmp_path / "first.log", **env) as first:
        # About 9 s of one job's sending: several sweeps of ``send_due`` (every 5 s)
        # passed while its claims were older than the 3 s timeout. Without their
        # heartbeat, another job would have taken them and sent duplicates by now.
        await wait_until(lambda: received(30), 60)
        assert len(set(mailbox.message_ids)) == len(mailbox.message_ids)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    killed_at = len(mailbox.message_ids)
    assert killed_at < RECIPIENTS, "the chunk was sent before the kill: nothing was proven"

    with worker_process(tmp_path / "second.log", **env):
        # The dead job's claims: a claim timeout (3 s) and a sweep (5 s) after its last
        # heartbeat, then their sending (0.3 s each). arq would run the killed job again
        # only after its lock (the send worker's timeout + 10 s: 70 s).
        taken = await wait_until(
            lambda: _positive_eq(
                count(engine, "SELECT count(*) FROM deliveries WHERE status = 'sent' "
                      "AND channel = 'email'"),
                RECIPIENTS,
            ),
            60,
        )  # fmt: skip
    assert taken < 30
    unique = set(mailbox.message_ids)
    assert len(unique) == RECIPIENTS
    # Only the message in flight at the kill may go twice, with the same Message-ID.
    assert len(mailbox.message_ids) - len(unique) <= 1


async def test_a_stop_while_a_job_runs_ends_the_worker_cleanly(
    engine: AsyncEngine,
    redis_url: str,
    slow_mailbox: tuple[int, SlowMailbox],
    pending_emails: Settings,
    tmp_path: Path,
) -> None:
    """SIGTERM in the middle of a send job (a slow mailbox keeps one running): arq's
    close raises the cancelled job's CancelledError before its shutdown hook; the
    worker still closes its clients and exits 0, and the unsent claims go back."""
    _, mailbox = slow_mailbox
    env = sending_env(pending_emails, redis_url)

    async def sending() -> bool:
        return len(mailbox.message_ids) >= 3

    log = tmp_path / "worker.log"
    with worker_process(log, **env):  # stopped with SIGTERM on leaving: exit 0
        await wait_until(sending, 60)
    assert len(mailbox.message_ids) < RECIPIENTS, "all was sent before the stop"
    assert log_lines(log, "Traceback") == 0, log.read_text(errors="replace")[-2000:]


async def _positive_eq(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def test_the_relay_hands_out_again_an_event_whose_job_vanished_and_only_then(
    settings: Settings, engine: AsyncEngine, redis: Redis
) -> None:
    await publish_with_one_volunteer(engine, settings)
    async with engine.begin() as conn:
        # One event to follow: the others (the publication…) count as done.
        await conn.execute(
            text("UPDATE outbox SET processed_at = now() WHERE topic <> 'match.proposed'")
        )
    pool: ArqRedis = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    try:
        assert await dispatch_pending(engine, pool) == 1
        event_id = await count(engine, "SELECT id FROM outbox WHERE topic = 'match.proposed'")
        job_key = job_key_prefix + job_id(event_id)
        assert await redis.exists(job_key)

        async def age(seconds: float) -> None:
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "UPDATE outbox SET dispatched_at = now() - make_interval(secs => :s) "
                        "WHERE id = :id"
                    ),
                    {"s": seconds, "id": event_id},
                )

        # Its job still queued: nothing is handed out again, however long it waits.
        await age(600)
        assert await dispatch_pending(engine, pool) == 0
        # Redis restarted empty: the job is gone, the event goes out again at the next
        # sweep once past the floor of a few seconds, not after two minutes.
        await redis.flushdb()
        await age(REDISPATCH_FLOOR_S / 2)
        assert await dispatch_pending(engine, pool) == 0
        await age(REDISPATCH_FLOOR_S + 1)
        assert await dispatch_pending(engine, pool) == 1
        assert await redis.exists(job_key)
    finally:
        await pool.aclose()
