"""The API beside its own SQL: ``python -m bench.api [--quick]``.

On the enlarged demo (bench/loaddata.py, the data of bench/load.py), for the two hot
reads — ``GET /api/v1/posts?lon&lat&radius_km`` (open posts nearby) and
``GET /api/v1/me/propositions`` — in one run:

1. **The exact SQL.** The app runs in this process on a sample of requests (distinct
   places, radii and signed-in volunteers) while a SQLAlchemy listener on every Engine
   records each statement and its parameters: the session lookup of the bearer token,
   then the endpoint's own queries. Each parameter becomes a typed literal (its type is
   the one PostgreSQL infers for the prepared statement), and each request becomes one
   pgbench script.
2. **pgbench** (``-M prepared``, the protocol asyncpg uses) runs those scripts, one
   picked at random per transaction: transactions/s, p50/p99 from its per-transaction
   log, PostgreSQL's CPU per transaction.
3. **voisins**: ``voisins serve --workers 2`` answers the same requests (same paths,
   same tokens), driven by wrk (C, closed loop, the same number of connections as
   pgbench's clients): requests/s, p50/p99, the API processes' and PostgreSQL's CPU per
   request.

4. **A plain peer** (bench/peer.py: raw ASGI + asyncpg under uvicorn, the same number
   of processes) sending the same statements with the same parameters, driven by the
   same wrk; it must answer the same items for every sampled request
   (``peer_same_items``). ``--no-peer`` skips it.

They alternate (``--rounds``: pgbench, voisins, peer) so a change in the machine's load
hits all three; each one's best round is kept. The ratio voisins/pgbench of requests/s
is the goal's measure (≥ 0.6). pgbench sends the statements only: no BEGIN/COMMIT, no
HTTP, no JSON — what is left is the cost of the application around its SQL.

Needs ``wrk`` (``apt-get install wrk``) and pgbench (PostgreSQL's, found in
/usr/lib/postgresql/*/bin when not on PATH). Progress on stderr; the last line of
stdout is one JSON object, also written to bench/results/api-latest.json (not by
``--quick``/``--no-save``).

Over 400 lines as one module on purpose: one benchmark whose four steps (capture,
pgbench, voisins under wrk, the peer) share the sampled requests and are compared in
one result; the shared serving and data pieces are bench/serving.py's and
bench/loaddata.py's already.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import hashlib
import json
import math
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import numpy as np
import psutil
from litestar.testing import AsyncTestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

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
)
from voisins.app import create_app
from voisins.geo.coordinates import LonLat
from voisins.geo.grid import snap
from voisins.settings import Settings, load_settings

TARGET_RATIO = 0.6
PER_PAGE = 20  # the API's default page, asked for one row more to tell if there is more
SAMPLES = 32  # distinct requests per endpoint (= pgbench scripts)
CONNECTIONS = 16
WARM_S = 3


@dataclass
class Endpoint:
    name: str
    paths: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)  # one pgbench script per request
    statements: list[str] = field(default_factory=list)  # the first request's, for the record
    # Per sampled request: its statements with their parameters, and the values the
    # peer can compute for it by name (to learn which parameter is which).
    captured: list[list[tuple[str, tuple[Any, ...]]]] = field(default_factory=list)
    named: list[dict[str, Any]] = field(default_factory=list)


def sample_requests(data: loaddata.Dataset, seed: int) -> list[Endpoint]:
    rng = random.Random(seed)
    nearby = Endpoint("GET /api/v1/posts (nearby)")
    lon0, lat0 = data.home
    for _ in range(SAMPLES):
        r, theta = 2.0 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        lat = round(lat0 + r * math.sin(theta) / 111.32, 6)
        lon = round(lon0 + r * math.cos(theta) / (111.32 * math.cos(math.radians(lat0))), 6)
        nearby.paths.append(
            f"/api/v1/posts?lon={lon}&lat={lat}&radius_km={rng.choice((1, 2, 3, 5))}"
        )
        nearby.tokens.append(rng.choice(data.volunteer_tokens))
    propositions = Endpoint("GET /api/v1/me/propositions")
    # The first volunteers with a session are those the matcher proposed something to.
    for token in data.volunteer_tokens[:SAMPLES]:
        propositions.paths.append("/api/v1/me/propositions")
        propositions.tokens.append(token)
    return [nearby, propositions]


# ------------------------------------------------------------------ capturing the SQL


class Capture:
    """Every statement any Engine sends while ``active`` (asyncpg form: $1, $2, …)."""

    def __init__(self) -> None:
        self.active = False
        self.statements: list[tuple[str, Sequence[Any]]] = []

    # Not the request's: the readiness monitor's probe (a task of the app that runs
    # now and then) and the dialect's first look at PostGIS on a new connection.
    OTHERS = ("schema_migrations", "FROM pg_extension")

    def __call__(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if self.active and not any(mark in statement for mark in self.OTHERS):
            self.statements.append((statement, tuple(params or ())))


async def literal_script(raw: asyncpg.Connection, statements: list[tuple[str, Any]]) -> str:
    """The statements with typed literals for their parameters, as a pgbench script."""
    out = []
    for sql, params in statements:
        types = (await raw.prepare(sql)).get_parameters()
        literals = []
        for value, pg_type in zip(params, types, strict=True):
            # geometry and the like live in public, the built-in types in pg_catalog
            qualified = (
                pg_type.name
                if pg_type.schema == "pg_catalog"
                else f"{pg_type.schema}.{pg_type.name}"
            )
            if value is None:
                literals.append(f"CAST(NULL AS {qualified})")
                continue
            quoted = await raw.fetchval(
                f"SELECT quote_literal(CAST(CAST($1 AS {qualified}) AS text))", value
            )
            literals.append(f"CAST({quoted} AS {qualified})")
        body = re.sub(r"\$(\d+)", lambda m, lit=literals: lit[int(m.group(1)) - 1], sql)
        # pgbench ends a command at its semicolon; comment lines go (they change nothing).
        lines = [line for line in body.splitlines() if not line.strip().startswith("--")]
        out.append("\n".join(lines).strip().rstrip(";") + ";")
    return "\n".join(out) + "\n"


async def named_values(
    raw: asyncpg.Connection, path: str, token: str, cell_size_m: int
) -> dict[str, Any]:
    """What a plain implementation knows of a request, by name."""
    digest = hashlib.sha256(token.encode()).digest()
    values: dict[str, Any] = {
        "token_hash": digest,
        "user_id": await raw.fetchval("SELECT user_id FROM sessions WHERE token_hash = $1", digest),
        "limit": PER_PAGE + 1,
        "offset": 0,
    }
    query = parse_qs(urlsplit(path).query)
    if "lon" in query:
        cell = snap(LonLat(float(query["lon"][0]), float(query["lat"][0])), cell_size_m)
        values.update(
            cell_x=cell.centre_xy[0],
            cell_y=cell.centre_xy[1],
            cell_srid=cell.srid,
            radius_m=float(query["radius_km"][0]) * 1000,
        )
    return values


def parameter_names(endpoint: Endpoint) -> list[tuple[str, list[str]]]:
    """Each statement with the name of each of its parameters: the one name whose value
    equals the captured parameter in every sampled request ("null" when always None)."""
    texts = [[sql for sql, _ in request] for request in endpoint.captured]
    if any(t != texts[0] for t in texts):
        raise ValueError("the requests did not all send the same statements")
    out = []
    for i, sql in enumerate(texts[0]):
        names = []
        for position in range(len(endpoint.captured[0][i][1])):
            seen = [request[i][1][position] for request in endpoint.captured]
            if all(value is None for value in seen):
                names.append("null")
                continue
            fits = [
                name
                for name in endpoint.named[0]
                if all(
                    named.get(name) == value and named.get(name) is not None
                    for named, value in zip(endpoint.named, seen, strict=True)
                )
            ]
            if len(fits) != 1:
                raise ValueError(f"parameter ${position + 1} of a statement: {fits or 'unknown'}")
            names.append(fits[0])
        out.append((sql, names))
    return out


async def capture_sql(dsn: str, settings: Settings, endpoints: list[Endpoint]) -> None:
    """Run each sampled request through the app, in this process, and keep its SQL."""
    capture = Capture()
    event.listen(Engine, "before_cursor_execute", capture)
    raw = await asyncpg.connect(dsn)
    try:
        async with AsyncTestClient(create_app(settings)) as client:
            for endpoint in endpoints:
                # One request first, not kept: the pool's connections are then set up.
                await client.get(
                    endpoint.paths[0], headers={"Authorization": f"Bearer {endpoint.tokens[0]}"}
                )
                for path, token in zip(endpoint.paths, endpoint.tokens, strict=True):
                    capture.statements = []
                    capture.active = True
                    response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
                    capture.active = False
                    if response.status_code != 200:
                        raise RuntimeError(f"{path}: {response.status_code} {response.text}")
                    if not capture.statements:
                        raise RuntimeError(
                            f"{endpoint.name}: no SQL seen through SQLAlchemy; if the path now "
                            "uses asyncpg directly, capture its statements there"
                        )
                    if not endpoint.statements:
                        endpoint.statements = [s for s, _ in capture.statements]
                    endpoint.scripts.append(await literal_script(raw, capture.statements))
                    endpoint.captured.append(list(capture.statements))
                    endpoint.named.append(
                        await named_values(raw, path, token, settings.grid_cell_m)
                    )
    finally:
        event.remove(Engine, "before_cursor_execute", capture)
        await raw.close()


# ------------------------------------------------------------------------- pgbench


def pgbench_binary() -> str:
    found = shutil.which("pgbench") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"), reverse=True)), None
    )
    if not found:
        raise SystemExit("bench.api needs pgbench (PostgreSQL's client tools)")
    return found


def percentile_ms(values_us: np.ndarray, q: float) -> float:
    return round(float(np.percentile(values_us, q)) / 1000, 3)


def run_pgbench(
    endpoint: Endpoint, dsn: str, database: str, seconds: int, workdir: Path
) -> dict[str, Any]:
    files = []
    for i, script in enumerate(endpoint.scripts):
        path = workdir / f"{endpoint.name.split()[1].strip('/').replace('/', '_')}-{i}.sql"
        path.write_text(script, encoding="utf-8")
        files += ["-f", str(path)]
    logs = workdir / f"pgbench-{time.monotonic_ns()}"
    logs.mkdir()
    cmd = [
        pgbench_binary(), "-n", "-M", "prepared", "-c", str(CONNECTIONS), "-j", "2",
        "-T", str(seconds), "-l", "--log-prefix", str(logs / "tx"), *files, dsn,
    ]  # fmt: skip
    meter = CpuMeter(lambda: postgres_backends(database))
    before = psutil.Process().cpu_times()
    # pgbench connects first, then runs: measure the backends once they exist.
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    meter.start()
    out, err = process.communicate(timeout=seconds + 60)
    used = meter.stop()
    after = psutil.Process().cpu_times()
    if process.returncode != 0:
        raise RuntimeError(f"pgbench failed: {err[-2000:]}")
    latencies = np.concatenate(
        [np.loadtxt(f, usecols=2, ndmin=1) for f in logs.glob("tx*") if f.stat().st_size]
    )
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))
    failed = re.search(r"number of failed transactions: (\d+)", out)
    count = len(latencies)
    return {
        "requests_per_s": round(tps, 1),
        "transactions": count,
        "errors": int(failed.group(1)) if failed else 0,
        "p50_ms": percentile_ms(latencies, 50),
        "p99_ms": percentile_ms(latencies, 99),
        "postgresql_cpu_ms_per_request": round(sum(used.values()) * 1000 / max(count, 1), 3),
        "pgbench_cpu_ms_per_request": round(
            (
                (after.children_user + after.children_system)
                - (before.children_user + before.children_system)
            )
            * 1000
            / max(count, 1),
            3,
        ),
    }


# --------------------------------------------------------------------------- voisins

WRK_SCRIPT = """
local paths = {%(paths)s}
local tokens = {%(tokens)s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i], {["Authorization"] = "Bearer " .. tokens[i]})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests":%%d,"duration_us":%%d,"socket_errors":%%d,"status_errors":%%d,' ..
    '"p50_us":%%d,"p99_us":%%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50), latency:percentile(99)))
end
"""


def lua_list(values: list[str]) -> str:
    return ", ".join(json.dumps(v) for v in values)


def run_wrk(endpoint: Endpoint, server: Server, seconds: int, workdir: Path) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if not wrk:
        raise SystemExit("bench.api needs wrk (apt-get install wrk)")
    script = workdir / "wrk.lua"
    script.write_text(
        WRK_SCRIPT % {"paths": lua_list(endpoint.paths), "tokens": lua_list(endpoint.tokens)},
        encoding="utf-8",
    )
    base = [wrk, "-t", "2", "-c", str(CONNECTIONS), "-s", str(script), "--timeout", "10s"]
    subprocess.run([*base, "-d", f"{WARM_S}s", server.url], capture_output=True, check=True)
    api = server.api_processes()
    api_meter = CpuMeter(lambda: api)
    pg_meter = CpuMeter(lambda: postgres_backends(server_database(server)))
    before = psutil.Process().cpu_times()
    api_meter.start()
    pg_meter.start()
    done = subprocess.run(
        [*base, "-d", f"{seconds}s", server.url], capture_output=True, text=True, check=True
    )
    api_used = api_meter.stop()
    pg_used = pg_meter.stop()
    after = psutil.Process().cpu_times()
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK "))
    stats = json.loads(line[4:])
    count = stats["requests"]
    return {
        "requests_per_s": round(count / (stats["duration_us"] / 1e6), 1),
        "requests": count,
        "errors": stats["socket_errors"] + stats["status_errors"],
        "p50_ms": round(stats["p50_us"] / 1000, 3),
        "p99_ms": round(stats["p99_us"] / 1000, 3),
        "api_cpu_ms_per_request": round(sum(api_used.values()) * 1000 / max(count, 1), 3),
        "postgresql_cpu_ms_per_request": round(sum(pg_used.values()) * 1000 / max(count, 1), 3),
        "wrk_cpu_ms_per_request": round(
            (
                (after.children_user + after.children_system)
                - (before.children_user + before.children_system)
            )
            * 1000
            / max(count, 1),
            3,
        ),
    }


def peer_server(
    dsn: str, endpoints: list[Endpoint], workers: int, cell_size_m: int, workdir: Path
) -> Server | None:
    """bench/peer.py on the same SQL, or None (with the reason) when the captured
    statements do not fit its plain shape (a session lookup, then the read)."""
    spec: dict[str, Any] = {"dsn": dsn, "cell_size_m": cell_size_m, "endpoints": {}}
    try:
        for endpoint in endpoints:
            statements = parameter_names(endpoint)
            if len(statements) != 2:
                raise ValueError(f"{len(statements)} statements, the peer sends 2")
            path = urlsplit(endpoint.paths[0]).path
            spec["endpoints"][path] = {"statements": statements}
    except ValueError as exc:
        log(f"no peer run: {exc}")
        return None
    path = workdir / "peer.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    uvicorn = str(Path(sys.executable).parent / "uvicorn")
    return Server(
        dsn,
        workers,
        command=[uvicorn, "bench.peer:app", "--log-level", "warning", "--no-access-log"],
        env={"BENCH_PEER_SPEC": str(path)},
        label="uvicorn bench.peer:app",
        ready_path="/",
        ready_status=404,
    )


def server_database(server: Server) -> str:
    return server.dsn.rsplit("/", 1)[-1].split("?", 1)[0]


# ----------------------------------------------------------------------------- main


def best_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the most requests/s (the least disturbed by the machine)."""
    return max(runs, key=lambda r: r["requests_per_s"])


def markdown_table(result: dict[str, Any]) -> str:
    """The README's summary table, from a result object."""
    rows = [
        "| endpoint | run | requests/s | p50 ms | p99 ms | server CPU ms/req | PG CPU ms/req "
        "| voisins/this |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, e in result["endpoints"].items():
        for who in ("voisins", "pgbench", "peer"):
            if who not in e:
                continue
            r = e[who]
            cpu = r.get("api_cpu_ms_per_request", r.get("pgbench_cpu_ms_per_request"))
            ratio = round(e["voisins"]["requests_per_s"] / r["requests_per_s"], 2)
            rows.append(
                f"| {name} | {who} | {r['requests_per_s']} | {r['p50_ms']} | {r['p99_ms']} "
                f"| {cpu} | {r['postgresql_cpu_ms_per_request']} | {ratio} |"
            )
    return "\n".join(rows)


def same_answers(endpoint: Endpoint, server: Server, peer: Server) -> int:
    """How many sampled requests both answer with the same items (ids, in order)."""
    same = 0
    with httpx.Client() as client:
        for path, token in zip(endpoint.paths, endpoint.tokens, strict=True):
            headers = {"Authorization": f"Bearer {token}"}
            ours = client.get(server.url + path, headers=headers).json()
            theirs = client.get(peer.url + path, headers=headers).json()
            same += [i["id"] for i in ours["items"]] == [i["id"] for i in theirs["items"]]
    return same


def compare(
    endpoint: Endpoint,
    server: Server,
    peer: Server | None,
    dsn: str,
    database: str,
    args: argparse.Namespace,
    workdir: Path,
) -> dict[str, Any]:
    """pgbench, voisins (and the peer), alternating for ``args.rounds`` rounds."""
    runs: dict[str, list[dict[str, Any]]] = {"pgbench": [], "voisins": []}
    if peer is not None:
        runs["peer"] = []
    for round_no in range(1, args.rounds + 1):
        runs["pgbench"].append(run_pgbench(endpoint, dsn, database, args.duration, workdir))
        runs["voisins"].append(run_wrk(endpoint, server, args.duration, workdir))
        if peer is not None:
            runs["peer"].append(run_wrk(endpoint, peer, args.duration, workdir))
        for who, done in runs.items():
            log(f"{endpoint.name} round {round_no} {who}: {done[-1]}")
    best = {who: best_of(done) for who, done in runs.items()}
    ratio = round(best["voisins"]["requests_per_s"] / best["pgbench"]["requests_per_s"], 3)
    log(f"{endpoint.name}: voisins/pgbench = {ratio}")
    out: dict[str, Any] = {
        **best,
        "ratio_voisins_to_pgbench": ratio,
        "ratio_per_round": [
            round(a["requests_per_s"] / p["requests_per_s"], 3)
            for a, p in zip(runs["voisins"], runs["pgbench"], strict=True)
        ],
        "rounds": runs,
        "sql": endpoint.statements,
        "sample_pgbench_script": endpoint.scripts[0],
    }
    if peer is not None:
        out["peer_same_items"] = f"{same_answers(endpoint, server, peer)}/{len(endpoint.paths)}"
        log(f"{endpoint.name}: the peer answers the same items for {out['peer_same_items']}")
        out["ratio_voisins_to_peer"] = round(
            best["voisins"]["requests_per_s"] / best["peer"]["requests_per_s"], 3
        )
        log(f"{endpoint.name}: voisins/peer = {out['ratio_voisins_to_peer']}")
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="pgbench/voisins alternations")
    parser.add_argument("--workers", type=int, default=2, help="voisins serve --workers")
    parser.add_argument(
        "--quick", action="store_true", help="check run: 10k volunteers, 5 s, one round; no file"
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--no-save", action="store_true", help="write no bench/results file")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--no-peer", action="store_true", help="skip the plain ASGI + asyncpg peer (bench/peer.py)"
    )
    args = parser.parse_args(argv)
    args.size = loaddata.QUICK if args.quick else loaddata.FULL
    if args.quick:
        args.duration, args.rounds = 5, 1
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = load_settings()
    started = datetime.now(UTC).replace(microsecond=0)
    info = machine()
    endpoints_out: dict[str, Any] = {}
    try:
        with (
            bench_database(settings, args.keep_db) as (name, dsn),
            tempfile.TemporaryDirectory(prefix="voisins-api-") as tmp,
        ):
            workdir = Path(tmp)
            bench_settings, data = build_data(dsn, args.size)
            endpoints = sample_requests(data, args.seed)
            asyncio.run(capture_sql(dsn, bench_settings, endpoints))
            for endpoint in endpoints:
                log(f"{endpoint.name}: {len(endpoint.statements)} statements per request")
            server = Server(dsn, args.workers)
            peer = None
            if not args.no_peer:
                peer = peer_server(
                    dsn, endpoints, args.workers, bench_settings.grid_cell_m, workdir
                )
            server.start()
            try:
                if peer is not None:
                    peer.start()
                for endpoint in endpoints:
                    endpoints_out[endpoint.name] = compare(
                        endpoint, server, peer, dsn, name, args, workdir
                    )
            finally:
                server.stop()
                if peer is not None:
                    peer.stop()
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    result = {
        "benchmark": "api",
        "date": started.isoformat(),
        "machine": info,
        "server": f"voisins serve --workers {args.workers}",
        "load": f"wrk -t 2 -c {CONNECTIONS}; pgbench -M prepared -c {CONNECTIONS} -j 2",
        "seconds_per_measurement": args.duration,
        "rounds": args.rounds,
        "data": data.summary(),
        "endpoints": endpoints_out,
        "ratios": {k: v["ratio_voisins_to_pgbench"] for k, v in endpoints_out.items()},
        "ratios_to_peer": {k: v.get("ratio_voisins_to_peer") for k, v in endpoints_out.items()},
        "targets": {
            "ratio_min": TARGET_RATIO,
            "met": all(
                v["ratio_voisins_to_pgbench"] >= TARGET_RATIO for v in endpoints_out.values()
            ),
        },
        "quick": args.quick,
    }
    report(result, "api", save=not (args.quick or args.no_save), table=markdown_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
