"""Notifications benchmark: ``python -m bench.notify``.

Publishes requests whose propositions fan out to 10,000 notifications (5,000
volunteers × in-app + e-mail), through the real relay and a real ``voisins worker``
process (its two arq workers: events, sends), into a local SMTP sink (aiosmtpd, in a
process of its own). Measures the throughput of deliveries and the delay from publication
(outbox row) to the in-app inbox. The last stdout line is one JSON object; results go
to bench/results/notify-latest.json.

The clock starts with the first publication: publishing the 50 requests (the
matching runs in this process) overlaps the deliveries and counts in the time. The
result also gives the CPU seconds spent by the worker, the SMTP sink, the database
backends and the publications, and the load average, since every process of the
machine shares its two cores.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import signal
import socket
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from arq.constants import default_queue_name, health_check_key_suffix
from redis.asyncio import Redis
from sqlalchemy import text

from bench.databases import create_database, drop_database, with_database
from bench.progress import log
from voisins.accounts.access import Viewer
from voisins.db import create_engine
from voisins.geo.geocoder import DisabledGeocoder
from voisins.locations import LocationIn
from voisins.matching.publication import create_and_match
from voisins.migrations import upgrade
from voisins.notify.jobs import SEND_QUEUE
from voisins.posts.schemas import PostIn, WeeklyIn
from voisins.settings import load_settings

RESULTS = Path(__file__).resolve().parent / "results"
VOLUNTEERS = 5_000
PER_REQUEST = 100
WORKER_PROCESSES = int(os.environ.get("VOISINS_BENCH_WORKERS", os.cpu_count() or 1))
CHATELET = (2.347, 48.8589)


class Sink:
    """The SMTP sink's handler: counts what it accepts in values shared with the bench."""

    def __init__(self, count: Any, connections: Any, last_at: Any) -> None:
        self.count, self.connections, self.last_at = count, connections, last_at
        self.peers: set[object] = set()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.peers.add(session.peer)
        self.count.value += 1
        self.connections.value = len(self.peers)
        self.last_at.value = time.monotonic()
        return "250 OK"


def serve_sink(port: int, count: Any, connections: Any, last_at: Any, stop: Any) -> None:
    """The SMTP sink, in a process of its own like a real relay: in a thread of the
    bench it would share one interpreter lock with the publications."""
    controller = Controller(Sink(count, connections, last_at), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        stop.wait()
    finally:
        controller.stop()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backends_cpu(database: str) -> dict[int, float]:
    """CPU seconds of the PostgreSQL backends connected to ``database``, by pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and database in (entry / "cmdline").read_text():
                found[int(entry.name)] = cpu_seconds(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


async def wait_for_workers(redis_url: str, timeout_s: float = 30) -> None:
    """Both arq workers of the process record their health at their first poll."""
    client = Redis.from_url(redis_url)
    try:
        keys = [queue + health_check_key_suffix for queue in (default_queue_name, SEND_QUEUE)]
        deadline = time.perf_counter() + timeout_s
        while await client.exists(*keys) < len(keys):
            if time.perf_counter() > deadline:
                raise RuntimeError("the worker did not start")
            await asyncio.sleep(0.1)
    finally:
        await client.aclose()


async def seed(engine: Any) -> None:
    """5,000 volunteers in 50 groups of 100 at the same spot, each group a category."""
    async with engine.begin() as conn:
        await seed_volunteers(conn, VOLUNTEERS)


async def seed_volunteers(conn: Any, volunteers: int) -> None:
    """``volunteers`` at the same spot, confirmed addresses, no quiet hours (bench/chaos.py
    seeds the same)."""
    await conn.execute(
        text(
            """
            WITH people AS (
                -- Confirmed addresses: nothing is e-mailed to an unconfirmed one.
                INSERT INTO users (email, display_name, assisted, email_confirmed_at)
                SELECT 'v' || g || '@bench.test', 'v' || g, true, now()
                FROM generate_series(1, :n) AS g RETURNING id
            )
            INSERT INTO volunteers (user_id, point, cell_key, cell_centre, radius_m,
                                    categories, availability)
            SELECT id, ST_SetSRID(ST_MakePoint(2.347, 48.8589), 4326), '2154:500:1304:13723',
                   ST_SetSRID(ST_MakePoint(2.347, 48.8589), 4326), 5000,
                   ARRAY['courses'], '{[0,10080)}'
            FROM people
            """
        ),
        {"n": volunteers},
    )
    await conn.execute(
        text(
            "INSERT INTO notification_preferences (user_id, quiet_start, quiet_end, "
            "daily_cap) SELECT user_id, '00:00', '00:00', 200 FROM volunteers"
        )
    )


async def publish_request(engine: Any, settings: Any) -> None:
    """One weekly shopping request at Châtelet by user 1, published and matched in its
    own transaction (bench/chaos.py publishes the same)."""
    async with engine.begin() as conn:
        await create_and_match(
            conn, Viewer(id=1, role="resident", second_factor=False),
            PostIn(kind="request", category="courses", title="Courses",
                   location=LocationIn(lon=CHATELET[0], lat=CHATELET[1]),
                   schedule=WeeklyIn(days=[1], start="10:00", end="12:00")),
            geocoder=DisabledGeocoder(), settings=settings,
        )  # fmt: skip


async def run() -> dict[str, Any]:
    base = load_settings()
    # A Redis database of its own: a worker of another checkout must not take these jobs.
    redis_url = (
        base.redis_url.rsplit("/", 1)[0] + "/" + os.environ.get("VOISINS_BENCH_REDIS_DB", "12")
    )
    name = f"voisins_bench_notify_{uuid.uuid4().hex[:8]}"
    await create_database(base.asyncpg_dsn, name)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        smtp_port = probe.getsockname()[1]
    processes = multiprocessing.get_context("spawn")
    count, connections = processes.Value("q", 0), processes.Value("q", 0)
    last_at, stop = processes.Value("d", 0.0), processes.Event()
    sink = processes.Process(
        target=serve_sink, args=(smtp_port, count, connections, last_at, stop), daemon=True
    )
    sink.start()
    dsn = with_database(base.asyncpg_dsn, name)
    workers: list[asyncio.subprocess.Process] = []
    try:
        await upgrade(dsn)
        settings = load_settings(
            environment="test", database_url=dsn, redis_url=redis_url,
            match_batch_per_needed=PER_REQUEST,
        )  # fmt: skip
        engine = create_engine(settings)
        await seed(engine)
        log(f"seeded {VOLUNTEERS} volunteers")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("VOISINS_")},
            "VOISINS_DATABASE_URL": dsn,
            "VOISINS_REDIS_URL": redis_url,
            "VOISINS_SMTP_HOST": "127.0.0.1",
            "VOISINS_SMTP_PORT": str(smtp_port),
            "VOISINS_LOG_LEVEL": "WARNING",
        }
        async with Redis.from_url(redis_url) as client:
            await client.flushdb()  # jobs and health keys left by an interrupted run
        # One worker process per core, as a deployment on this machine would run them
        # (workers are stateless; each takes jobs from the same queues).
        for _ in range(WORKER_PROCESSES):
            workers.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "voisins.cli",
                    "worker",
                    env=env,
                    start_new_session=True,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
            )
        await wait_for_workers(redis_url)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE users SET assisted = true WHERE id = 1"))
        load_before = os.getloadavg()[0]
        worker_cpu = sum(cpu_seconds(w.pid) for w in workers)
        sink_cpu = cpu_seconds(sink.pid)
        database_cpu = backends_cpu(name)
        own_cpu = time.process_time()
        started, started_at = time.monotonic(), datetime.now(UTC)
        for _ in range(VOLUNTEERS // PER_REQUEST):
            await publish_request(engine, settings)
        published = time.monotonic() - started
        log(f"published {VOLUNTEERS // PER_REQUEST} requests in {published:.1f}s")
        async with engine.connect() as conn:
            proposals = (await conn.execute(text("SELECT count(*) FROM matches"))).scalar_one()
        expected = 2 * proposals  # each one in-app and by e-mail
        deadline = time.perf_counter() + 600
        while time.perf_counter() < deadline:
            async with engine.connect() as conn:
                done = (
                    await conn.execute(
                        text(
                            "SELECT count(*) FROM deliveries "
                            "WHERE status = 'sent' AND kind = 'match.proposed'"
                        )
                    )
                ).scalar_one()
            if done >= expected:
                break
            # Not more often: each count is a scan of the deliveries, PostgreSQL time
            # taken from the run. The end time is read back from the rows below.
            await asyncio.sleep(0.25)
        worker_cpu = sum(cpu_seconds(w.pid) for w in workers) - worker_cpu
        sink_cpu = cpu_seconds(sink.pid) - sink_cpu
        own_cpu = time.process_time() - own_cpu
        now_cpu = backends_cpu(name)
        database_cpu = {pid: cpu - database_cpu.get(pid, 0.0) for pid, cpu in now_cpu.items()}
        async with engine.connect() as conn:
            # The last delivery marked sent (the worker's clock, this machine's).
            last_sent = (
                await conn.execute(
                    text("SELECT max(sent_at) FROM deliveries WHERE kind = 'match.proposed'")
                )
            ).scalar_one()
            seconds = (last_sent - started_at).total_seconds()
            delays = (
                (
                    await conn.execute(
                        text(
                            "SELECT EXTRACT(EPOCH FROM n.created_at - o.created_at) * 1000 "
                            "FROM notifications n JOIN outbox o ON o.id = n.event_id "
                            "WHERE n.kind = 'match.proposed'"
                        )
                    )
                )
                .scalars()
                .all()
            )
            stages = (
                await conn.execute(
                    text(
                        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM "
                        "dispatched_at - created_at)) * 1000 AS relay_ms, "
                        "percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM "
                        "processed_at - dispatched_at)) * 1000 AS queue_ms "
                        "FROM outbox WHERE topic = 'match.proposed'"
                    )
                )
            ).one()
            outcomes = {
                f"{row.channel} {row.status}": row.n
                for row in await conn.execute(
                    text(
                        "SELECT channel, status, count(*) AS n FROM deliveries "
                        "WHERE kind = 'match.proposed' GROUP BY channel, status"
                    )
                )
            }
        await engine.dispose()
        inbox_ms = np.asarray(delays, dtype=float)
        return {
            "benchmark": "notify",
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "notifications": int(done),
            "deliveries": outcomes,
            "emails_at_sink": count.value,
            "smtp_connections": connections.value,
            "publish_s": round(published, 2),
            "seconds": round(seconds, 2),
            "per_second": round(done / seconds, 1),
            "emails_done_s": round(last_at.value - started, 2),
            "p50_publish_to_inbox_ms": round(float(np.percentile(inbox_ms, 50)), 1),
            "p95_publish_to_inbox_ms": round(float(np.percentile(inbox_ms, 95)), 1),
            "max_publish_to_inbox_ms": round(float(inbox_ms.max()), 1),
            # Medians of the two waits before the fan-out: outbox → relay (NOTIFY), and
            # relay → an events job picking the event up.
            "p50_outbox_to_relay_ms": round(stages.relay_ms, 1),
            "p50_relay_to_fan_out_ms": round(stages.queue_ms, 1),
            "cpu_s": {
                "worker": round(worker_cpu, 2),
                "smtp_sink": round(sink_cpu, 2),
                # Backends alive at the end; the pools keep theirs for the whole run.
                "postgresql": round(sum(database_cpu.values()), 2),
                "bench_publishing": round(own_cpu, 2),
            },
            "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "cores": os.cpu_count(),
            "worker_processes": WORKER_PROCESSES,
            "targets": {"per_second_min": 1000, "p95_publish_to_inbox_ms_max": 2000},
        }
    finally:
        for worker in workers:
            if worker.returncode is None:
                os.killpg(worker.pid, signal.SIGKILL)
                await worker.wait()
        stop.set()
        sink.join(timeout=10)
        await drop_database(base.asyncpg_dsn, name)


def main() -> int:
    result = asyncio.run(run())
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "notify-latest.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
