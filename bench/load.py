"""Mixed-traffic load benchmark: ``python -m bench.load [--quick]``.

Builds the enlarged demo (bench/loaddata.py: 100,000 volunteers and 10,000 open posts
around la Goutte d'Or, real propositions and inboxes, sessions for 2,000 volunteers and
1,000 residents) in a throwaway database, starts ``voisins serve --workers 2`` on it,
and drives it with locust, headless (bench/locustfile.py: nearby posts, propositions,
inbox, /me, my posts, and about 5 % writes — publishing a request, marking the inbox
read), each simulated person sending one request per second:

1. warm-up: 10 s at 50 requests/s (pools filled, statements prepared), not counted;
2. the run: 60 s at 200 requests/s — errors, p50/p95/p99, requests/s achieved, the CPU
   seconds of each API process, of PostgreSQL and of locust, and the RSS of each API
   process;
3. the step search: 20 s steps up from the run's rate by 50 requests/s while p99 stays
   under 200 ms without errors (down by 50 when the run's rate already misses), to
   name the highest rate that holds.

Everything runs on this machine: locust takes CPU from the server too (reported).
Progress goes to stderr; the last line of stdout is one JSON object, also written to
bench/results/load-latest.json (not by ``--quick``/``--no-save``).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench import loaddata
from bench.progress import log
from bench.serving import (
    CpuMeter,
    Server,
    bench_database,
    build_data,
    machine,
    postgres_backends,
    report,
    rss_mb,
)
from voisins.settings import load_settings

LOCUST = Path(sys.executable).parent / "locust"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
TARGET_RPS = 200
TARGET_P99_MS = 200.0
STEP_RPS = 50
MAX_STEPS = 6


class RssSampler(threading.Thread):
    """Peak RSS of each process, sampled every half second."""

    def __init__(self, processes: list[psutil.Process]) -> None:
        super().__init__(daemon=True)
        self.processes = processes
        self.peak: dict[int, float] = {p.pid: rss_mb(p) for p in processes}
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.5):
            for p in self.processes:
                self.peak[p.pid] = max(self.peak[p.pid], rss_mb(p))

    def stop(self) -> dict[int, float]:
        self.halt.set()
        self.join()
        return self.peak


# People arrive over this many seconds, then the measurement starts (locust's
# --reset-stats): the figures are those of the rate held, not of 200 people opening
# their connections within the same instant.
RAMP_S = 5


def run_locust(url: str, tokens: Path, rate: int, seconds: int, workdir: Path) -> dict[str, Any]:
    """One headless locust run of ``rate`` people at one request per second each,
    measured for ``seconds`` once they have all arrived."""
    prefix = workdir / f"rate{rate}-{seconds}s"
    cmd = [
        str(LOCUST), "-f", str(LOCUSTFILE), "--headless", "--host", url,
        "-u", str(rate), "-r", str(max(1, math.ceil(rate / RAMP_S))),
        "-t", f"{seconds + RAMP_S}s", "--reset-stats", "--stop-timeout", "5",
        "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    env = {**os.environ, "BENCH_LOAD_TOKENS": str(tokens)}
    started = time.monotonic()
    with open(f"{prefix}.log", "wb") as out:
        process = psutil.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        process.wait(timeout=seconds + RAMP_S + 120)
    with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by_name = {}
    for row in rows:
        count = int(row["Request Count"])
        entry = {
            "requests": count,
            "failures": int(row["Failure Count"]),
            "rps": round(float(row["Requests/s"]), 1),
            "p50_ms": float(row["50%"]) if count else None,
            "p95_ms": float(row["95%"]) if count else None,
            "p99_ms": float(row["99%"]) if count else None,
            "max_ms": round(float(row["Max Response Time"]), 1) if count else None,
        }
        label = "all" if row["Name"] == "Aggregated" else f"{row['Type']} {row['Name']}"
        by_name[label.replace("GET GET ", "GET ")] = entry
    failures: list[dict[str, Any]] = []
    with open(f"{prefix}_failures.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            failures.append(
                {"request": f"{row['Method']} {row['Name']}".replace("GET GET ", "GET "),
                 "error": row["Error"][:200],
                 "count": int(row["Occurrences"])}
            )  # fmt: skip
    total = by_name["all"]
    return {
        "target_rps": rate,
        "seconds": seconds,
        "wall_s": round(time.monotonic() - started, 1),
        "requests": total["requests"],
        "errors": total["failures"],
        "achieved_rps": total["rps"],
        "p50_ms": total["p50_ms"],
        "p95_ms": total["p95_ms"],
        "p99_ms": total["p99_ms"],
        "max_ms": total["max_ms"],
        "by_request": {k: v for k, v in by_name.items() if k != "all"},
        "failures": failures,
    }


def holds(result: dict[str, Any]) -> bool:
    return (
        result["errors"] == 0
        and result["p99_ms"] is not None
        and result["p99_ms"] < TARGET_P99_MS
        and result["achieved_rps"] >= 0.95 * result["target_rps"]
    )


def measured_run(
    server: Server, database: str, tokens: Path, rate: int, seconds: int, workdir: Path
) -> dict[str, Any]:
    """A locust run with the server's CPU and memory watched."""
    api = server.api_processes()
    supervisor = psutil.Process(server.process.pid) if server.process else None
    api_cpu = CpuMeter(lambda: api)
    pg_cpu = CpuMeter(lambda: postgres_backends(database))
    rss = RssSampler(api)
    children_before = psutil.Process().cpu_times()
    api_cpu.start()
    pg_cpu.start()
    rss.start()
    result = run_locust(server.url, tokens, rate, seconds, workdir)
    peaks = rss.stop()
    api_used = api_cpu.stop()
    pg_used = pg_cpu.stop()
    children_after = psutil.Process().cpu_times()
    locust_cpu = (children_after.children_user + children_after.children_system) - (
        children_before.children_user + children_before.children_system
    )
    result["cpu_s"] = {
        "api_processes": round(sum(api_used.values()), 1),
        "postgresql": round(sum(pg_used.values()), 1),
        "locust": round(locust_cpu, 1),
    }
    # Connections opened during the run (pool overflow opens and closes them).
    result["postgresql_backends"] = {
        "at_start": len(pg_cpu.before),
        "seen": len(pg_used),
        "new_during_run": len(set(pg_used) - set(pg_cpu.before)),
    }
    result["api_processes"] = [
        {"pid": p.pid, "cpu_s": api_used.get(p.pid), "rss_mb_peak": peaks[p.pid]} for p in api
    ]
    if supervisor is not None and server.workers > 1:
        result["supervisor_rss_mb"] = rss_mb(supervisor)
    return result


def step_search(
    server: Server, database: str, tokens: Path, start: dict[str, Any], seconds: int,
    workdir: Path,
) -> tuple[int | None, list[dict[str, Any]]]:  # fmt: skip
    """The highest rate (in steps of STEP_RPS) whose p99 stays under the target."""
    steps: list[dict[str, Any]] = []
    best: int | None = start["target_rps"] if holds(start) else None
    rate = start["target_rps"]
    direction = 1 if holds(start) else -1
    for _ in range(MAX_STEPS):
        rate += direction * STEP_RPS
        if rate <= 0:
            break
        log(f"step: {rate} requests/s for {seconds} s")
        step = measured_run(server, database, tokens, rate, seconds, workdir)
        brief = {k: step[k] for k in ("target_rps", "achieved_rps", "errors", "p50_ms",
                                      "p95_ms", "p99_ms", "cpu_s")}  # fmt: skip
        brief["holds"] = holds(step)
        steps.append(brief)
        log(f"  {brief}")
        if direction > 0 and not brief["holds"]:
            break
        if brief["holds"]:
            best = rate if best is None else max(best, rate)
            if direction < 0:
                break
    return best, steps


def markdown_table(result: dict[str, Any]) -> str:
    """The README's summary row, from a result object."""
    run, data = result["run"], result["data"]
    return "\n".join(
        [
            "| data | server | asked rps | achieved rps | errors | p50 ms | p95 ms | p99 ms "
            "| highest rps with p99 < 200 ms | RSS per API process MB |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {data['volunteers']:,} volunteers, {data['open_posts']:,} posts "
            f"| {result['server']} | {run['target_rps']} | {run['achieved_rps']} | {run['errors']} "
            f"| {run['p50_ms']} | {run['p95_ms']} | {run['p99_ms']} "
            f"| {result['highest_rps_with_p99_under_200ms']} "
            f"| {', '.join(str(x) for x in result['rss_mb_per_api_process'])} |",
        ]
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rate", type=int, default=TARGET_RPS, help="requests/s of the run")
    parser.add_argument("--duration", type=int, default=60, help="seconds of the run")
    parser.add_argument("--step-duration", type=int, default=20, help="seconds per search step")
    parser.add_argument("--no-search", action="store_true", help="skip the step search")
    parser.add_argument("--workers", type=int, default=2, help="voisins serve --workers")
    parser.add_argument("--volunteers", type=int, default=loaddata.FULL.volunteers)
    parser.add_argument("--posts", type=int, default=loaddata.FULL.posts)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="check run: 10k volunteers, 1k posts, 10 s, 5 s steps; no file",
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--no-save", action="store_true", help="write no bench/results file")
    args = parser.parse_args(argv)
    args.size = loaddata.FULL
    if args.quick:
        args.size = loaddata.QUICK
        args.duration, args.step_duration = 10, 5
    else:
        args.size = loaddata.Size(
            args.volunteers, args.posts, loaddata.FULL.matched,
            loaddata.FULL.volunteer_sessions, loaddata.FULL.resident_sessions,
        )  # fmt: skip
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = load_settings()
    started = datetime.now(UTC).replace(microsecond=0)
    info = machine()
    try:
        with (
            bench_database(settings, args.keep_db) as (name, dsn),
            tempfile.TemporaryDirectory(prefix="voisins-load-") as tmp,
        ):
            workdir = Path(tmp)
            _, data = build_data(dsn, args.size)
            tokens = workdir / "tokens.json"
            tokens.write_text(
                json.dumps(
                    {
                        "volunteers": data.volunteer_tokens,
                        "residents": data.resident_tokens,
                        "home": list(data.home),
                    }
                ),
                encoding="utf-8",
            )
            server = Server(dsn, args.workers)
            server.start()
            try:
                warm_s = 3 if args.quick else 10
                log(f"warm-up: 50 requests/s for {warm_s} s")
                run_locust(server.url, tokens, 50, warm_s, workdir)
                log(f"run: {args.rate} requests/s for {args.duration} s")
                run = measured_run(server, name, tokens, args.rate, args.duration, workdir)
                log(
                    f"  {run['requests']} requests, {run['errors']} errors, "
                    f"{run['achieved_rps']} requests/s, p50 {run['p50_ms']} p95 {run['p95_ms']} "
                    f"p99 {run['p99_ms']} ms; CPU s {run['cpu_s']}"
                )
                best, steps = (None, [])
                if not args.no_search:
                    best, steps = step_search(
                        server, name, tokens, run, args.step_duration, workdir
                    )
            finally:
                server.stop()
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    result = {
        "benchmark": "load",
        "date": started.isoformat(),
        "machine": info,
        "server": f"voisins serve --workers {args.workers}",
        "data": data.summary(),
        "mix": "bench/locustfile.py: volunteers 2/3 (nearby 40, propositions 30, inbox 20, "
        "/me 8, mark read 2), residents 1/3 (nearby 30, /me 25, inbox 20, my posts 15, "
        "publish 10); one request per second per person",
        "run": run,
        "errors": run["errors"],
        "achieved_rps": run["achieved_rps"],
        "p50_ms": run["p50_ms"],
        "p95_ms": run["p95_ms"],
        "p99_ms": run["p99_ms"],
        "rss_mb_per_api_process": [p["rss_mb_peak"] for p in run["api_processes"]],
        "highest_rps_with_p99_under_200ms": best,
        "step_search": {"step_rps": STEP_RPS, "step_s": args.step_duration, "steps": steps},
        "targets": {
            "rps": TARGET_RPS,
            "p99_ms_max": TARGET_P99_MS,
            "met": holds(run) and args.rate >= TARGET_RPS,
        },
        "quick": args.quick,
    }
    report(result, "load", save=not (args.quick or args.no_save), table=markdown_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
