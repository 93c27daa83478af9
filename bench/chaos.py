"""Chaos benchmark: ``python -m bench.chaos`` (``--quick`` for a smoke run).

Requests are published at a steady pace for a while, their propositions fanning out to
10,000 e-mails (100 requests × 100 volunteers), through the real relay and a real
``voisins worker`` process, into an SMTP sink (aiosmtpd, in a process of its own) that
writes down each Message-ID and when it came. Meanwhile the worker is killed with
SIGKILL 20 times (restarted a second later, as its supervisor would) and its private
``redis-server`` (tests/support/redis_server.py, no persistence: every queue is lost)
is restarted twice.

Measured: lost (proposals whose e-mail never reached the sink), duplicated (e-mails
received more than once: the same Message-ID, which mail clients show once), and the
delay from publication (the ``match.proposed`` outbox row) to the first receipt at the
sink, p50/p99/max. The worker must never exit on its own. The last stdout line is one
JSON object; the full run writes bench/results/chaos-latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import numpy as np
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import text
from tests.support.redis_server import PrivateRedis

from bench.databases import create_database, drop_database, with_database
from bench.notify import publish_request, seed_volunteers
from bench.progress import log
from voisins.db import create_engine
from voisins.migrations import upgrade
from voisins.settings import load_settings

RESULTS = Path(__file__).resolve().parent / "results"
PER_REQUEST = 100
# A supervisor's restart delay (deploy/voisins-worker.service: RestartSec=1).
RESTART_AFTER_S = 1.0
# Redis stays down this long at each of its restarts: longer than redis-py's own
# retries, so that the worker's arq loops fail and are recreated.
REDIS_DOWN_S = 5.0
TARGET_P99_MS = 60_000


class Sink:
    """The SMTP sink's handler: one line per message received, Message-ID and time."""

    def __init__(self, path: str) -> None:
        self.out = open(path, "a", buffering=1)  # noqa: SIM115 - open for the process's life

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        headers = BytesHeaderParser().parsebytes(envelope.original_content or b"")
        self.out.write(f"{headers['Message-ID']}\t{time.time()}\n")
        return "250 OK"


def serve_sink(port: int, path: str, stop: Any) -> None:
    """The SMTP sink, in a process of its own like a real relay: in a thread of the
    bench it would share one interpreter lock with the publications."""
    controller = Controller(Sink(path), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        stop.wait()
    finally:
        controller.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def seed(engine: Any, volunteers: int) -> None:
    """``volunteers`` at the same spot, confirmed addresses, no quiet hours."""
    async with engine.begin() as conn:
        await seed_volunteers(conn, volunteers)
        await conn.execute(text("UPDATE users SET assisted = true WHERE id = 1"))
        # These volunteers were there before the run: the requests nearby that a new
        # profile would be offered (there are none yet) are not the benchmark's load.
        await conn.execute(
            text(
                "UPDATE outbox SET dispatched_at = now(), processed_at = now() "
                "WHERE topic = 'volunteer.profile_changed'"
            )
        )


class Worker:
    """The ``voisins worker`` process, killed and restarted at will; counts the times
    it ended without being killed."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.process: asyncio.subprocess.Process | None = None
        self.kills = 0
        self.exits_on_its_own = 0

    async def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "voisins.cli", "worker", env=self.env,
                start_new_session=True, stdout=out, stderr=out,
            )  # fmt: skip

    def check(self) -> None:
        if self.process is not None and self.process.returncode is not None:
            self.exits_on_its_own += 1
            log(f"worker exited on its own (code {self.process.returncode})")
            self.process = None

    async def kill(self) -> None:
        self.check()
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            await self.process.wait()
            self.kills += 1
        await asyncio.sleep(RESTART_AFTER_S)
        await self.start()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            await self.process.wait()


async def publish(engine: Any, settings: Any, requests: int, seconds: float) -> float:
    """``requests`` requests at a steady pace over ``seconds``; returns the time taken."""
    began = time.monotonic()
    for i in range(requests):
        await asyncio.sleep(max(0.0, began + i * seconds / requests - time.monotonic()))
        await publish_request(engine, settings)
    return time.monotonic() - began


async def chaos(
    worker: Worker, redis: PrivateRedis, kills: int, redis_restarts: int, seconds: float,
    seed_value: int,
) -> list[dict[str, Any]]:  # fmt: skip
    """Kills spread over ``seconds`` (one at a random moment of each equal slice), and
    Redis restarts at even fractions of it, never at the same moment as a kill."""
    rng = random.Random(seed_value)
    slice_s = seconds / kills
    plan = [("kill", i * slice_s + rng.uniform(0.2, 0.8) * slice_s) for i in range(kills)]
    for j in range(1, redis_restarts + 1):
        at = j * seconds / (redis_restarts + 1)
        # Half-way between two kills.
        at = (int(at / slice_s) + 0.5) * slice_s
        plan.append(("redis", at))
    plan.sort(key=lambda step: step[1])
    began = time.monotonic()
    timeline = []
    for what, at in plan:
        await asyncio.sleep(max(0.0, began + at - time.monotonic()))
        timeline.append({"at_s": round(time.monotonic() - began, 2), "fault": what})
        if what == "kill":
            await worker.kill()
        else:
            await asyncio.to_thread(redis.restart, REDIS_DOWN_S)
        worker.check()
        if worker.process is None:
            await worker.start()
    return timeline


def _event(line: str) -> str:
    """A log line without its time: its message and fields, JSON or console format."""
    try:
        fields = json.loads(line)
        return " ".join(f"{k}={v}" for k, v in fields.items() if k != "timestamp")[:160]
    except (ValueError, AttributeError):
        line = re.sub(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d\S* ", "", line)
        return re.sub(r"\s{2,}", " ", line)[:160]


def read_sink(path: Path) -> tuple[dict[int, float], int]:
    """First receipt (epoch seconds) by delivery id, and the number of messages."""
    first: dict[int, float] = {}
    total = 0
    for line in path.read_text().splitlines():
        message_id, at = line.split("\t")
        # <delivery-123@voisins> (voisins.notify.channels.email.message_id)
        delivery = int(message_id.split("-", 1)[1].split("@", 1)[0])
        first.setdefault(delivery, float(at))
        total += 1
    return first, total


async def run(args: argparse.Namespace) -> dict[str, Any]:
    base = load_settings()
    name = f"voisins_bench_chaos_{uuid.uuid4().hex[:8]}"
    await create_database(base.asyncpg_dsn, name)
    work = Path(tempfile.mkdtemp(prefix="voisins-chaos-"))
    sink_path, worker_log = work / "sink.tsv", work / "worker.log"
    sink_path.touch()
    smtp_port = free_port()
    processes = multiprocessing.get_context("spawn")
    stop = processes.Event()
    sink = processes.Process(target=serve_sink, args=(smtp_port, str(sink_path), stop))
    sink.daemon = True
    sink.start()
    redis = PrivateRedis()
    redis.start()
    dsn = with_database(base.asyncpg_dsn, name)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VOISINS_")},
        "VOISINS_DATABASE_URL": dsn,
        "VOISINS_REDIS_URL": redis.url(0),
        "VOISINS_SMTP_HOST": "127.0.0.1",
        "VOISINS_SMTP_PORT": str(smtp_port),
        "VOISINS_LOG_LEVEL": "WARNING",
    }
    worker = Worker(env, worker_log)
    requests = args.notifications // PER_REQUEST
    try:
        await upgrade(dsn)
        settings = load_settings(
            environment="test", database_url=dsn, redis_url=redis.url(0),
            match_batch_per_needed=PER_REQUEST,
        )  # fmt: skip
        engine = create_engine(settings)
        await seed(engine, requests * PER_REQUEST)
        log(f"seeded {requests * PER_REQUEST} volunteers")
        await worker.start()
        await asyncio.sleep(3)  # the worker's start-up, as in production before traffic
        load_before = os.getloadavg()[0]
        started_at = datetime.now(UTC)
        faults = asyncio.create_task(
            chaos(worker, redis, args.kills, args.redis_restarts, args.seconds, args.seed)
        )
        published_s = await publish(engine, settings, requests, args.seconds)
        log(f"published {requests} requests in {published_s:.1f}s")
        timeline = await faults
        log(f"{worker.kills} kills, {args.redis_restarts} Redis restarts done")
        async with engine.connect() as conn:
            proposals = (await conn.execute(text("SELECT count(*) FROM matches"))).scalar_one()
        deadline = time.monotonic() + args.wait
        while time.monotonic() < deadline:
            worker.check()
            if worker.process is None:
                await worker.start()
            first, _ = read_sink(sink_path)
            async with engine.connect() as conn:
                emails = set(
                    (
                        await conn.execute(
                            text(
                                "SELECT id FROM deliveries "
                                "WHERE kind = 'match.proposed' AND channel = 'email'"
                            )
                        )
                    ).scalars()
                )
            if len(emails) >= proposals and emails <= first.keys():
                break
            await asyncio.sleep(1)
        await asyncio.sleep(2)  # a duplicate still on its way
        worker.check()
        first, received = read_sink(sink_path)
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT d.id, EXTRACT(EPOCH FROM o.created_at) AS published "
                        "FROM deliveries d JOIN outbox o ON o.id = d.event_id "
                        "WHERE d.kind = 'match.proposed' AND d.channel = 'email'"
                    )
                )
            ).all()
            outcomes = {
                row.status: row.n
                for row in await conn.execute(
                    text(
                        "SELECT status, count(*) AS n FROM deliveries "
                        "WHERE kind = 'match.proposed' AND channel = 'email' GROUP BY status"
                    )
                )
            }
            unprocessed = (
                await conn.execute(text("SELECT count(*) FROM outbox WHERE processed_at IS NULL"))
            ).scalar_one()
        await engine.dispose()
        delays = np.asarray(
            [(first[row.id] - float(row.published)) * 1000 for row in rows if row.id in first],
            dtype=float,
        )
        delivered = len(set(first) & {row.id for row in rows})
        log_text = worker_log.read_text(errors="replace")
        p99 = float(np.percentile(delays, 99)) if len(delays) else None
        return {
            "benchmark": "chaos",
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "started_at": started_at.isoformat(timespec="seconds"),
            "quick": args.quick,
            "notifications": int(proposals),
            "emails_expected": int(proposals),
            "email_deliveries_created": len(rows),
            "delivered": delivered,
            "lost": int(proposals) - delivered,
            "received": received,
            "duplicated": received - len(first),
            "deliveries_by_status": outcomes,
            "outbox_unprocessed": int(unprocessed),
            "p50_ms": round(float(np.percentile(delays, 50)), 1) if len(delays) else None,
            "p99_ms": round(p99, 1) if p99 is not None else None,
            "max_ms": round(float(delays.max()), 1) if len(delays) else None,
            "kills": worker.kills,
            "redis_restarts": args.redis_restarts,
            "worker_exits_on_its_own": worker.exits_on_its_own,
            "publish_s": round(published_s, 1),
            "faults": timeline,
            # What the worker processes logged (WARNING and above), by message.
            "worker_log": dict(Counter(_event(line) for line in log_text.splitlines())),
            "settings": {
                "delivery_claim_timeout_s": settings.delivery_claim_timeout_s,
                "delivery_claim_heartbeat_s": settings.delivery_claim_heartbeat_s,
                "restart_after_s": RESTART_AFTER_S,
                "redis_down_s": REDIS_DOWN_S,
            },
            "cores": os.cpu_count(),
            # At the start of the publications and at the end of the run.
            "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "targets": {"lost": 0, "p99_ms_max": TARGET_P99_MS},
            "met": bool(
                int(proposals) == delivered
                and p99 is not None
                and p99 <= TARGET_P99_MS
                and worker.exits_on_its_own == 0
            ),
            "notes": args.notes,
        }
    finally:
        await worker.stop()
        stop.set()
        sink.join(timeout=10)
        redis.kill()
        await drop_database(base.asyncpg_dsn, name)
        await asyncio.to_thread(shutil.rmtree, work, True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 e-mails, 3 kills, no file")
    parser.add_argument("--notifications", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--redis-restarts", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=200.0, help="publication time")
    parser.add_argument("--wait", type=float, default=600.0, help="most seconds for the tail")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--notes", default="")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.notifications, args.kills, args.redis_restarts = 1_000, 3, 1
        args.seconds, args.no_save = 15.0, True
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # A plain `kill` must drop the database too: make SIGTERM unwind like Ctrl-C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        result = asyncio.run(run(args))
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "chaos-latest.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
