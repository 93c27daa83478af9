"""Conversations live: ``python -m bench.chat`` (issue 15).

``--conversations`` confirmed matches (500 by default, 1,000 people), each with its
conversation open on the volunteer's side: one Server-Sent Events stream per
conversation on ``GET /api/v1/matches/{id}/conversation/events``, read by real SSE
clients (httpx streaming, in ``--receivers`` processes of their own). The requesters
write through ``POST /api/v1/matches/{id}/messages`` (their bearer tokens), open loop at
``--rate`` messages a second (200), round-robin over the conversations: each message
leaves on time whatever the earlier ones are doing. For each message: the time from
just before its POST is sent to the moment the other side's stream delivers the
``message`` event with its id (the receivers and the sender read the same system-wide
monotonic clock), and the POST's own latency.

The server is ``voisins serve --workers 2``, as in production, on a throwaway database
(bench/serving.py) and a Redis database of its own (``--redis-db``, 13 by default: the
rate limits' counters; pub/sub channels are server-wide). One limit is raised, and the output says
so: ``limit_message_per_minute`` (20 per account), since each requester sends
``rate / conversations`` messages a second (0.4 at the defaults, 24 a minute); it is set
to twice that.

Phases: seeding (SQL, a few seconds), the streams open (each must say ``ready``, its
Redis subscription live), ``--warmup`` s at the full rate (not counted), ``--duration``
s measured, then up to ``--drain`` s for the last deliveries. Lost: a message answered
201 whose event never came. Progress on stderr; the last line of stdout is one JSON
object, also written to bench/results/chat-latest.json (at the issue's size: 500
conversations, 200/s, 30 s or more) or chat-small-latest.json (any smaller run), not by
``--no-save``.

Over 400 lines as one module on purpose: one benchmark, read top to bottom — seeding,
the receiver and sender processes (spawned from this module, so they live in it), the
run and its report; the shared serving and data pieces are bench/serving.py's and
bench/loaddata.py's already.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import msgspec
import psutil
import uvloop

from bench.flood import percentile_ms
from bench.loaddata import sessions
from bench.progress import log
from bench.serving import (
    CpuMeter,
    Server,
    bench_database,
    machine,
    postgres_backends,
    report,
)
from voisins.settings import load_settings

GOAL_P95_MS = 250.0
# What the issue asks for; a smaller run is saved as chat-small.
FULL_CONVERSATIONS, FULL_RATE, FULL_DURATION = 500, 200.0, 30.0
# A place in Paris 18e (la Goutte d'Or) and its 500 m public cell: every post of the
# bench is there; nothing here reads locations.
POINT = "ST_SetSRID(ST_MakePoint(2.354, 48.886), 4326)"
CELL_KEY = "2154:500:1304:13728"


@dataclass(frozen=True)
class Pair:
    match_id: int
    requester_token: str
    volunteer_token: str


async def seed(dsn: str, n: int) -> list[Pair]:
    """``n`` confirmed matches between ``n`` residents (one request each) and ``n``
    volunteers, and a session for each of the ``2n`` people. Bench-only shortcut: rows
    go in by SQL; the matches still pass through the life cycle's trigger
    (proposed → accepted → confirmed), which writes their history."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL synchronous_commit = off")
            people = """
                INSERT INTO users (email, display_name, password_hash, email_confirmed_at)
                SELECT $1 || g || '@bench.invalid', $2 || g, '!', now()
                FROM generate_series(1, $3) AS g ORDER BY g RETURNING id
            """
            residents = [r["id"] for r in await conn.fetch(people, "r", "Habitante ", n)]
            helpers = [r["id"] for r in await conn.fetch(people, "v", "Bénévole ", n)]
            await conn.execute(
                f"""
                INSERT INTO volunteers (user_id, point, cell_key, cell_centre, radius_m,
                                        categories, availability)
                SELECT id, {POINT}, '{CELL_KEY}', {POINT}, 5000, ARRAY['courses'],
                       '{{[0,10080)}}'
                FROM unnest($1::bigint[]) AS id
                """,
                helpers,
            )
            posts = await conn.fetch(
                f"""
                INSERT INTO posts (author_id, kind, category, title, schedule_kind,
                                   weekly_days, weekly_start, weekly_end, slots, sensitive,
                                   point, cell_key, cell_centre, status, expires_at,
                                   published_at)
                SELECT a, 'request', 'courses', 'Courses du samedi', 'weekly', '{{6}}',
                       '10:00', '12:00', '{{[8880,9000)}}', false, {POINT}, '{CELL_KEY}',
                       {POINT}, 'published', now() + interval '14 days', now()
                FROM unnest($1::bigint[]) WITH ORDINALITY AS t(a, i) ORDER BY i
                RETURNING id
                """,
                residents,
            )
            matches = await conn.fetch(
                """
                INSERT INTO matches (post_id, volunteer_id, sensitive, score, score_breakdown,
                                     distance_m, deadline_at)
                SELECT p, v, false, 1, '{}', 500, now() + interval '2 days'
                FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS t(p, v, i)
                ORDER BY i RETURNING id
                """,
                [p["id"] for p in posts],
                helpers,
            )
            ids = [m["id"] for m in matches]
            await conn.execute(
                "UPDATE matches SET status = 'accepted', responded_at = now() "
                "WHERE id = ANY($1::bigint[])",
                ids,
            )
            await conn.execute(
                "UPDATE matches SET status = 'confirmed', confirmed_at = now() "
                "WHERE id = ANY($1::bigint[])",
                ids,
            )
            await conn.execute(
                "UPDATE posts SET status = 'matched' WHERE id = ANY($1::bigint[])",
                [p["id"] for p in posts],
            )
            now = await conn.fetchval("SELECT now()")
            requester_tokens = await sessions(conn, residents, now)
            volunteer_tokens = await sessions(conn, helpers, now)
        for table in ("users", "volunteers", "posts", "matches", "sessions"):
            await conn.execute(f"VACUUM ANALYZE {table}")
    finally:
        await conn.close()
    return [Pair(m, r, v) for m, r, v in zip(ids, requester_tokens, volunteer_tokens, strict=True)]


# ---------------------------------------------------------------------------------------
# The receiving side: real SSE clients
# ---------------------------------------------------------------------------------------


class Receiver:
    """One process's share of the streams. Each stream is read as a browser's
    EventSource does: lines up to a blank one make an event; a stream that ends is
    reopened with Last-Event-ID."""

    def __init__(self, url: str, count: Any) -> None:
        self.url = url
        self.count = count  # arrivals so far, shared with the bench
        self.arrivals: dict[int, float] = {}
        self.duplicates = 0
        self.ready = 0
        self.reopened = 0
        self.failures: Counter[str] = Counter()
        self.all_ready = asyncio.Event()
        self.expected = 0

    async def follow(self, client: httpx.AsyncClient, match_id: int, token: str) -> None:
        path = f"/api/v1/matches/{match_id}/conversation/events"
        last_id: str | None = None
        first = True
        while True:
            headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
            if last_id is not None:
                headers["Last-Event-ID"] = last_id
            try:
                async with client.stream("GET", path, headers=headers) as response:
                    if response.status_code != 200:
                        self.failures[f"stream {response.status_code}"] += 1
                        await asyncio.sleep(1.0)
                        continue
                    event, event_id = "message", None
                    async for line in response.aiter_lines():
                        if line:
                            field, _, value = line.partition(":")
                            value = value.removeprefix(" ")
                            if field == "event":
                                event = value
                            elif field == "id":
                                event_id = value
                            continue
                        # A blank line: the event is complete.
                        now = time.monotonic()
                        if event == "ready" and first:
                            first = False
                            self.ready += 1
                            if self.ready == self.expected:
                                self.all_ready.set()
                        elif event == "message" and event_id is not None:
                            last_id = event_id
                            if int(event_id) in self.arrivals:
                                self.duplicates += 1
                            else:
                                self.arrivals[int(event_id)] = now
                                self.count.value += 1
                        event, event_id = "message", None
            except httpx.HTTPError as exc:
                self.failures[type(exc).__name__] += 1
                await asyncio.sleep(1.0)
            self.reopened += 1

    async def run(self, streams: list[tuple[int, str]], ready: Any, stop: Any) -> dict[str, Any]:
        self.expected = len(streams)
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        timeout = httpx.Timeout(10.0, read=None)
        async with httpx.AsyncClient(base_url=self.url, limits=limits, timeout=timeout) as client:
            tasks = [
                asyncio.create_task(self.follow(client, match_id, token))
                for match_id, token in streams
            ]
            await asyncio.wait_for(self.all_ready.wait(), 60)
            ready.put(len(streams))
            await asyncio.get_running_loop().run_in_executor(None, stop.wait)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return {
            "arrivals": self.arrivals,
            "duplicates": self.duplicates,
            "reopened": self.reopened,
            "failures": dict(self.failures),
        }


def _receiver_process(
    url: str, streams: list[tuple[int, str]], count: Any, ready: Any, stop: Any, out: Any
) -> None:
    out.put(uvloop.run(Receiver(url, count).run(streams, ready, stop)))


# ---------------------------------------------------------------------------------------
# The writing side
# ---------------------------------------------------------------------------------------


@dataclass
class Sent:
    index: int
    match_id: int
    due: float  # when the open loop meant it to leave
    at: float = math.nan  # just before the POST
    answered: float = math.nan
    status: str = ""
    message_id: int | None = None


class KeepAlive:
    """The writing side's HTTP/1.1 client: keep-alive connections, one request at a
    time on each, a new one whenever none is idle (an open loop never waits for a
    connection). Not httpx: with hundreds of connections open, its pool cost the
    sender about 7 ms of CPU per request, and a sender late by seconds measured
    itself, not the server."""

    # Below uvicorn's keep-alive timeout (5 s).
    IDLE_S = 4.0

    def __init__(self, url: str) -> None:
        host, _, port = url.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)
        # (reader, writer, idle since): the last one used first.
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.opened = 0

    async def post(self, path: str, token: str, body: bytes) -> tuple[int, bytes]:
        reader: asyncio.StreamReader | None = None
        while self.idle:
            reader, writer, since = self.idle.pop()
            if time.monotonic() - since < self.IDLE_S:
                break
            # uvicorn closes a connection idle for 5 s: a request written on it just
            # then would get no answer (and a POST must not be sent twice).
            writer.close()
            reader = None
        if reader is None:
            reader, writer = await asyncio.open_connection(self.host, self.port)
            self.opened += 1
        try:
            async with asyncio.timeout(30):
                writer.write(
                    f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                    f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                head = (await reader.readuntil(b"\r\n\r\n")).lower()
                status = int(head[9:12])
                length = int(head.split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
                answer = await reader.readexactly(length)
        except BaseException:
            writer.close()
            raise
        if b"connection: close" in head:
            writer.close()
        else:
            self.idle.append((reader, writer, time.monotonic()))
        return status, answer

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()


async def send(
    url: str, pairs: list[Pair], rate: float, seconds: float
) -> tuple[list[Sent], float]:
    """Open loop: message i leaves at start + i/rate, to conversation i mod n. Returns
    the messages and the rate at which they left."""
    client = KeepAlive(url)
    sent: list[Sent] = []

    async def one(record: Sent, token: str) -> None:
        body = msgspec.json.encode({"text": f"Bonjour, message {record.index} du banc d'essai."})
        path = f"/api/v1/matches/{record.match_id}/messages"
        record.at = time.monotonic()
        try:
            status, answer = await client.post(path, token, body)
        except (OSError, TimeoutError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
            record.answered, record.status = time.monotonic(), type(exc).__name__
            return
        record.answered, record.status = time.monotonic(), str(status)
        if status == 201:
            record.message_id = int(msgspec.json.decode(answer)["id"])

    tasks = []
    start = time.monotonic()
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        pair = pairs[i % len(pairs)]
        record = Sent(i, pair.match_id, start + i / rate)
        sent.append(record)
        tasks.append(asyncio.create_task(one(record, pair.requester_token)))
    sending_s = time.monotonic() - start
    await asyncio.gather(*tasks)
    client.close()
    rate_sent = len(sent) / sending_s
    log(
        f"sent {len(sent)} messages in {sending_s:.1f} s ({rate_sent:.1f}/s) "
        f"on {client.opened} connections"
    )
    return sent, rate_sent


def _sender_process(
    url: str, pairs: list[Pair], rate: float, seconds: float, go: Any, out: Any
) -> None:
    out.put("imported")
    go.wait()
    out.put(uvloop.run(send(url, pairs, rate, seconds)))


def sending(spawn: Any, url: str, pairs: list[Pair], rate: float, seconds: float) -> Any:
    """The writing side in a process of its own, started and waiting (its imports
    done) until ``go`` is set: the bench's threads (the CPU meters walk every process
    four times a second) must not take its interpreter lock."""
    go, out = spawn.Event(), spawn.Queue()
    process = spawn.Process(target=_sender_process, args=(url, pairs, rate, seconds, go, out))
    process.start()
    out.get(timeout=60)
    return process, go, out


def summary(samples: list[float]) -> dict[str, float]:
    return {
        f"p{q}_ms" if q < 100 else "max_ms": percentile_ms(samples, q) for q in (50, 95, 99, 100)
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chat", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--conversations", type=int, default=FULL_CONVERSATIONS)
    parser.add_argument("--rate", type=float, default=FULL_RATE, help="messages/s")
    parser.add_argument("--duration", type=float, default=FULL_DURATION, help="measured s")
    parser.add_argument("--warmup", type=float, default=5.0, help="s at the full rate, not counted")
    parser.add_argument("--drain", type=float, default=10.0, help="s to wait for the last events")
    parser.add_argument("--workers", type=int, default=2, help="voisins serve --workers")
    parser.add_argument(
        "--redis-db", type=int, default=13, help="Redis database of the server (rate limits)"
    )
    parser.add_argument("--receivers", type=int, default=2, help="processes reading the streams")
    parser.add_argument(
        "--small", action="store_true", help="50 conversations, 20 messages/s, 10 s"
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--no-save", action="store_true", help="write no bench/results file")
    args = parser.parse_args(argv)
    if args.small:
        args.conversations, args.rate, args.duration, args.warmup = 50, 20.0, 10.0, 3.0
    return args


def table(result: dict[str, Any]) -> str:
    d, s = result["delivery"], result["send"]
    return "\n".join(
        [
            "| conversations | rate/s | sent | received | lost | errors | "
            "p50 ms | p95 ms | p99 ms | max ms | POST p95 ms |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| {result['conversations']} | {result['rate_achieved']} | {result['sent']} | "
            f"{result['received']} | {result['lost']} | {result['errors']} | {d['p50_ms']} | "
            f"{d['p95_ms']} | {d['p99_ms']} | {d['max_ms']} | {s['p95_ms']} |",
            f"goal p95 ≤ {GOAL_P95_MS:.0f} ms with nothing lost: "
            f"{'met' if result['goal_met'] else 'NOT met'}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    base = load_settings()
    redis_url = base.redis_url.rsplit("/", 1)[0] + f"/{args.redis_db}"
    per_minute = 60 * args.rate / args.conversations
    message_limit = max(20, math.ceil(2 * per_minute))
    started = datetime.now(UTC).replace(microsecond=0)
    info = machine()
    spawn = multiprocessing.get_context("spawn")
    try:
        with bench_database(base, args.keep_db) as (name, dsn):
            t0 = time.monotonic()
            pairs = asyncio.run(seed(dsn, args.conversations))
            seed_s = time.monotonic() - t0
            log(f"seeded {len(pairs)} confirmed matches, {2 * len(pairs)} people in {seed_s:.1f}s")
            server = Server(
                dsn,
                args.workers,
                env={
                    "VOISINS_REDIS_URL": redis_url,
                    "VOISINS_LIMIT_MESSAGE_PER_MINUTE": str(message_limit),
                },
            )
            server.start()
            receivers: list[Any] = []
            counts = [spawn.Value("q", 0, lock=False) for _ in range(args.receivers)]
            stop, ready, out = spawn.Event(), spawn.Queue(), spawn.Queue()
            try:
                for k in range(args.receivers):
                    share = [(p.match_id, p.volunteer_token) for p in pairs[k :: args.receivers]]
                    process = spawn.Process(
                        target=_receiver_process,
                        args=(server.url, share, counts[k], ready, stop, out),
                    )
                    process.start()
                    receivers.append(process)
                opened = sum(ready.get(timeout=90) for _ in receivers)
                log(f"{opened} streams open and subscribed")
                warm: list[Sent] = []
                if args.warmup > 0:
                    log(f"warm-up: {args.rate:g} messages/s for {args.warmup:g} s")
                    sender, go, outcome = sending(spawn, server.url, pairs, args.rate, args.warmup)
                    go.set()
                    warm, _ = outcome.get(timeout=args.warmup + 120)
                    sender.join()
                api_cpu = CpuMeter(server.api_processes)
                pg_cpu = CpuMeter(lambda: postgres_backends(name))
                sender, go, outcome = sending(spawn, server.url, pairs, args.rate, args.duration)
                sender_processes = [psutil.Process(sender.pid)]
                receiver_processes = [psutil.Process(p.pid) for p in receivers]
                sender_cpu = CpuMeter(lambda: sender_processes)
                receivers_cpu = CpuMeter(lambda: receiver_processes)
                meters = {
                    "api": api_cpu,
                    "postgres": pg_cpu,
                    "sender": sender_cpu,
                    "receivers": receivers_cpu,
                }
                for meter in meters.values():
                    meter.start()
                load_before = os.getloadavg()[0]
                log(f"run: {args.rate:g} messages/s for {args.duration:g} s")
                go.set()
                sent, rate_sent = outcome.get(timeout=args.duration + 120)
                sender.join()
                cpu = {
                    label: round(sum(meter.stop().values()), 2) for label, meter in meters.items()
                }
                load_after = os.getloadavg()[0]
                # The last deliveries: until every 201 has arrived, or --drain s.
                expected = sum(s.message_id is not None for s in (*warm, *sent))
                deadline = time.monotonic() + args.drain
                while sum(c.value for c in counts) < expected and time.monotonic() < deadline:
                    time.sleep(0.05)
                stop.set()
                results = [out.get(timeout=60) for _ in receivers]
                rss = [round(p.memory_info().rss / 2**20, 1) for p in server.api_processes()]
            finally:
                stop.set()
                for process in receivers:
                    process.join(timeout=30)
                    if process.is_alive():
                        process.terminate()
                server.stop()
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    arrivals: dict[int, float] = {}
    for part in results:
        arrivals.update(part["arrivals"])
    delivered = [s for s in sent if s.message_id is not None]
    # (sent, its event's arrival) for each message whose event came
    arrived = [(s, arrivals[s.message_id]) for s in delivered if s.message_id in arrivals]
    latencies = [at - s.at for s, at in arrived]
    errors = Counter(s.status for s in sent if s.message_id is None)
    lost = len(delivered) - len(latencies)
    result = {
        "benchmark": "chat",
        "date": started.isoformat(),
        "machine": {**info, "load_avg_run": [round(load_before, 2), round(load_after, 2)]},
        "server": f"voisins serve --workers {args.workers}",
        "conversations": args.conversations,
        "people": 2 * args.conversations,
        "streams": opened,
        "receiver_processes": args.receivers,
        "rate_asked": args.rate,
        "rate_achieved": round(rate_sent, 1),
        "warmup_s": args.warmup,
        "duration_s": args.duration,
        "limit_message_per_minute": {
            "value": message_limit,
            "why": f"raised from 20 for the bench: each requester sends {per_minute:.1f} "
            "messages a minute (rate / conversations), allowed twice that",
        },
        "sent": len(sent),
        "received": len(latencies),
        "lost": lost,
        "errors": sum(errors.values()),
        "error_statuses": dict(errors),
        "duplicates": sum(p["duplicates"] for p in results),
        "streams_reopened": sum(p["reopened"] for p in results),
        "stream_failures": dict(sum((Counter(p["failures"]) for p in results), Counter())),
        "delivery": summary(latencies),
        "send": summary([s.answered - s.at for s in delivered]),
        # The live path alone: from the POST's answer to the event (the push runs after
        # the response; negative when the event won the race to the client).
        "after_answer": summary([at - s.answered for s, at in arrived]),
        # How late the sender itself was (its own CPU): a lag here is the client's.
        "sender_lag": summary([s.at - s.due for s in sent]),
        "cpu_s": cpu,
        "cpu_ms_per_message": {k: round(1000 * v / max(len(sent), 1), 2) for k, v in cpu.items()},
        "api_rss_mb": rss,
        "seed_s": round(seed_s, 1),
        "goal_p95_ms": GOAL_P95_MS,
    }
    result["goal_met"] = (
        result["delivery"]["p95_ms"] <= GOAL_P95_MS and lost == 0 and not result["errors"]
    )
    full = (
        args.conversations >= FULL_CONVERSATIONS
        and args.rate >= FULL_RATE
        and args.duration >= FULL_DURATION
    )
    report(result, "chat" if full else "chat-small", save=not args.no_save, table=table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
