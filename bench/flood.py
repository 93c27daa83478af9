"""A signed-in person while the public search is flooded: ``python -m bench.flood``.

On the enlarged demo (bench/loaddata.py, the data of bench/load.py), ``voisins serve
--workers 2`` runs with its production limits: only the publication quotas, which
nothing here touches, are lifted as in every bench. Two phases, after a warm-up of both
kinds of request:

1. **calm**: one signed-in volunteer reads ``GET /api/v1/me`` and
   ``GET /api/v1/me/propositions`` in turn, ``--person-rate`` requests per second
   (a request every 1/rate s, or at once when the previous one was late), alone;
2. **flood**: the same, while an anonymous client — one address, a process of its own —
   sends ``GET /api/v1/posts?lon&lat&radius_km`` (the public nearby search, a random
   place around the demo's area each time) at ``--flood-rate`` requests per second,
   open loop: a request every 1/rate s whatever the answers, as a flood does.

With ``--addresses N`` the flood comes from N addresses in turn (a botnet, or many
people at once): the server trusts the loopback as its proxy
(``VOISINS_TRUSTED_PROXIES``) and each request names its address in X-Forwarded-For, so
the per-address limit of anonymous search lets most of them through and the server
has to answer them. Its results go to bench/results/flood-spread-latest.json.

Reported: the person's p50/p95/p99 in each phase and the ratio of the p95s, the flood's
answers by status (429 once the per-address limit of anonymous search is reached) and
the rate it achieved. The goal: the person's p95 under the flood stays under 300 ms.
The flooder runs on the same two cores as the server, so it takes CPU from it too.

Progress on stderr; the last line of stdout is one JSON object, also written to
bench/results/flood-latest.json (not by ``--quick``/``--no-save``).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import random
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np

from bench import loaddata
from bench.progress import log
from bench.serving import Server, bench_database, build_data, machine, report
from voisins.settings import load_settings

GOAL_P95_MS = 300.0
PERSON_PATHS = ("/api/v1/me", "/api/v1/me/propositions")
FLOOD_RADII_KM = (1, 2, 3, 5)


def percentile_ms(samples: list[float], q: float) -> float:
    return round(float(np.percentile(samples, q)) * 1000, 1) if samples else math.nan


async def person(url: str, token: str, rate: float, seconds: float) -> dict[str, Any]:
    """The signed-in volunteer: latencies of their requests, and any that failed."""
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as client:
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.perf_counter()
            try:
                answer = await client.get(PERSON_PATHS[i % len(PERSON_PATHS)])
            except httpx.HTTPError as exc:
                failures[type(exc).__name__] += 1
                continue
            latencies.append(time.perf_counter() - sent)
            if answer.status_code != 200:
                failures[str(answer.status_code)] += 1
    return {
        "requests": len(latencies) + sum(failures.values()),
        "failures": dict(failures),
        "p50_ms": percentile_ms(latencies, 50),
        "p95_ms": percentile_ms(latencies, 95),
        "p99_ms": percentile_ms(latencies, 99),
        "max_ms": percentile_ms(latencies, 100),
    }


def flood_path(rng: random.Random, home: tuple[float, float]) -> str:
    lat = home[1] + rng.uniform(-0.02, 0.02)
    lon = home[0] + rng.uniform(-0.03, 0.03)
    return f"/api/v1/posts?lon={lon:.5f}&lat={lat:.5f}&radius_km={rng.choice(FLOOD_RADII_KM)}"


def flood_address(i: int, addresses: int) -> dict[str, str]:
    """The X-Forwarded-For of the i-th request (none from a single address)."""
    if addresses <= 1:
        return {}
    n = i % addresses
    return {"X-Forwarded-For": f"203.0.{n // 250}.{n % 250 + 1}"}


async def flood(
    url: str, home: tuple[float, float], rate: float, seconds: float, addresses: int
) -> dict[str, Any]:
    """Open loop: each request leaves on time whatever the earlier ones are doing."""
    rng = random.Random(20_261_205)
    statuses: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)

    async def one(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> None:
        try:
            statuses[str((await client.get(path, headers=headers)).status_code)] += 1
        except httpx.HTTPError as exc:
            statuses[type(exc).__name__] += 1

    async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as client:
        tasks = []
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            path, headers = flood_path(rng, home), flood_address(i, addresses)
            tasks.append(asyncio.create_task(one(client, path, headers)))
        sending_s = time.perf_counter() - start
        await asyncio.gather(*tasks)
    return {
        "sent": len(tasks),
        "sent_rps": round(len(tasks) / sending_s, 1),
        "statuses": dict(sorted(statuses.items())),
    }


def _flood_process(
    url: str, home: tuple[float, float], rate: float, seconds: float, addresses: int, out: Any
) -> None:
    out.put(asyncio.run(flood(url, home, rate, seconds, addresses)))


def phase(
    url: str, token: str, args: argparse.Namespace, home: tuple[float, float] | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The person for ``args.duration`` s; with ``home``, a flood beside them that
    starts a second earlier (so the person is measured under a flood at full rate)."""
    flooder, results = None, multiprocessing.get_context("fork").Queue()
    if home is not None:
        flooder = multiprocessing.get_context("fork").Process(
            target=_flood_process,
            args=(url, home, args.flood_rate, args.duration + 2, args.addresses, results),
        )
        flooder.start()
        time.sleep(1.0)
    measured = asyncio.run(person(url, token, args.person_rate, args.duration))
    flooded = None
    if flooder is not None:
        flooded = results.get(timeout=120)
        flooder.join(timeout=30)
    return measured, flooded


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.flood", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--flood-rate", type=float, default=200.0, help="anonymous requests/s")
    parser.add_argument("--person-rate", type=float, default=5.0, help="the person's requests/s")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per phase")
    parser.add_argument("--workers", type=int, default=2, help="voisins serve --workers")
    parser.add_argument(
        "--addresses", type=int, default=1, help="addresses the flood comes from, in turn"
    )
    parser.add_argument("--quick", action="store_true", help="check run: small data, 8 s")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--no-save", action="store_true", help="write no bench/results file")
    args = parser.parse_args(argv)
    args.size = loaddata.FULL
    if args.quick:
        args.size, args.duration, args.no_save = loaddata.QUICK, 8.0, True
    return args


def table(result: dict[str, Any]) -> str:
    calm, flooded = result["calm"], result["flooded"]
    return "\n".join(
        [
            "| phase | person p50 ms | p95 ms | p99 ms | failures |",
            "| --- | --- | --- | --- | --- |",
            f"| calm | {calm['p50_ms']} | {calm['p95_ms']} | {calm['p99_ms']} | "
            f"{calm['failures']} |",
            f"| flood {result['flood']['sent_rps']} rps | {flooded['p50_ms']} | "
            f"{flooded['p95_ms']} | {flooded['p99_ms']} | {flooded['failures']} |",
            f"flood answers: {result['flood']['statuses']}; p95 ratio {result['p95_ratio']}; "
            f"goal p95 < {GOAL_P95_MS:.0f} ms: {'met' if result['goal_met'] else 'NOT met'}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = load_settings()
    started = datetime.now(UTC).replace(microsecond=0)
    info = machine()
    try:
        with bench_database(settings, args.keep_db) as (_, dsn):
            _, data = build_data(dsn, args.size)
            token = data.volunteer_tokens[0]
            proxy = {"VOISINS_TRUSTED_PROXIES": "127.0.0.1"} if args.addresses > 1 else {}
            server = Server(dsn, args.workers, env=proxy)
            server.start()
            try:
                log("warm-up: the person's reads and the public search, 5 s")
                warm = argparse.Namespace(**{**vars(args), "duration": 5.0, "flood_rate": 20.0})
                phase(server.url, token, warm, data.home)
                log(f"calm: the person alone, {args.duration:.0f} s")
                calm, _ = phase(server.url, token, args, None)
                log(f"flood: {args.flood_rate:.0f} anonymous searches/s beside the person")
                flooded, flood_answers = phase(server.url, token, args, data.home)
            finally:
                server.stop()
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    assert flood_answers is not None
    result = {
        "benchmark": "flood",
        "date": started.isoformat(),
        "machine": info,
        "server": f"voisins serve --workers {args.workers}",
        "data": data.summary(),
        "person": f"one volunteer, {' and '.join(PERSON_PATHS)} in turn, "
        f"{args.person_rate:g} requests/s",
        "flood": {"rate_asked": args.flood_rate, "addresses": args.addresses, **flood_answers},
        "calm": calm,
        "flooded": flooded,
        "p95_ratio": round(flooded["p95_ms"] / calm["p95_ms"], 2),
        "goal_p95_ms": GOAL_P95_MS,
        "goal_met": flooded["p95_ms"] < GOAL_P95_MS and not flooded["failures"],
    }
    name = "flood-spread" if args.addresses > 1 else "flood"
    report(result, name, save=not args.no_save, table=table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
