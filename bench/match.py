"""Matching benchmark: ``python -m bench.match [--sizes 10000,100000,1000000] [--quick]``.

Builds a synthetic France of volunteers (bench/synthetic.py) in a throwaway database,
publishes requests around Châtelet (the densest spot), and times one call of
``voisins.matching.engine.match_request`` per request — candidate search, scoring and
the INSERT of proposals and outbox rows — in a transaction that is rolled back, so
every request sees the same data. The plain ``ST_DWithin`` + ``ORDER BY ST_Distance``
matcher (bench/naive.py) runs on the same data and requests in the same run, and on
the largest dataset the geography column is measured against a Lambert-93 geometry
column (bench/representation.py).

Progress goes to stderr; the last line on stdout is one JSON object, also written to
bench/results/match-<date>.json and match-latest.json, and the EXPLAIN (ANALYZE,
BUFFERS) of the engine's candidate query goes to bench/results/match-explain.txt
(``--quick`` writes no file: a smoke run never replaces committed results).

What is timed: ``match_request`` only, from the call to its return, on a warm
connection whose transaction is already open; the COMMIT (a WAL flush on a real
server) is not included since every run rolls back.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import numpy as np
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bench import naive, representation, synthetic
from voisins.db import create_engine
from voisins.migrations import upgrade
from voisins.settings import Settings, load_settings

RESULTS = Path(__file__).resolve().parent / "results"
CHUNK = 100_000
WARMUP = 20
TARGET_P95_MS = 10.0
TARGET_SPEEDUP = 20.0
TARGET_GROWTH = 3.0
START = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - START:7.1f}s] {message}", file=sys.stderr, flush=True)


def percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    a = np.asarray(values_ms)
    return {
        "p50_ms": round(float(np.percentile(a, 50)), 3),
        "p95_ms": round(float(np.percentile(a, 95)), 3),
        "p99_ms": round(float(np.percentile(a, 99)), 3),
        "max_ms": round(float(a.max()), 3),
    }


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))


# ------------------------------------------------------------------------ database


async def create_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        # A cheap OLTP query never reaches the JIT threshold; the naive one does, and
        # compiling would add tens of milliseconds to it. Off: the baseline is not
        # handicapped by it.
        await conn.execute(f'ALTER DATABASE "{name}" SET jit = off')
    finally:
        await conn.close()


async def drop_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def machine(raw: asyncpg.Connection) -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "pg_version": await raw.fetchval("SHOW server_version"),
        "postgis_version": await raw.fetchval("SELECT postgis_lib_version()"),
        "shared_buffers": await raw.fetchval("SHOW shared_buffers"),
        "jit": "off",
    }


async def secondary_indexes(raw: asyncpg.Connection, table: str) -> list[tuple[str, str]]:
    """(name, definition) of the indexes that back no constraint."""
    rows = await raw.fetch(
        """
        SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = CAST($1 AS regclass)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        ORDER BY i.relname
        """,
        table,
    )
    return [(r["name"], r["def"]) for r in rows]


async def load_volunteers(
    raw: asyncpg.Connection, population: synthetic.Population, first_id: int, n: int
) -> dict[str, float]:
    """Append ``n`` volunteers; secondary indexes are dropped first and rebuilt after
    (one bulk build beats a million GiST insertions)."""
    indexes = await secondary_indexes(raw, "volunteers")
    for name, _ in indexes:
        await raw.execute(f'DROP INDEX "{name}"')
    t0 = time.perf_counter()
    gen_s = 0.0
    for start, size in synthetic.id_chunks(first_id, n, CHUNK):
        g0 = time.perf_counter()
        users, vols = population.rows(start, size)
        gen_s += time.perf_counter() - g0
        await synthetic.copy_volunteers(raw, users, vols)
        log(f"  loaded {start + size - first_id:,}/{n:,} volunteers")
    copy_s = time.perf_counter() - t0 - gen_s
    await raw.execute(
        "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))"
    )
    t1 = time.perf_counter()
    await raw.execute("SET maintenance_work_mem = '1GB'")
    for name, definition in indexes:
        await raw.execute(definition)
        log(f"  rebuilt index {name}")
    index_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    await raw.execute("VACUUM ANALYZE users")
    await raw.execute("VACUUM ANALYZE volunteers")
    vacuum_s = time.perf_counter() - t2
    return {
        "generate_s": round(gen_s, 1),
        "copy_s": round(copy_s, 1),
        "index_s": round(index_s, 1),
        "vacuum_analyze_s": round(vacuum_s, 1),
    }


async def add_blocks(
    raw: asyncpg.Connection, seed: int, post_ids: list[int], volunteer_ids: range
) -> None:
    """Each request author blocks (or is blocked by) a couple of volunteers."""
    rng = np.random.default_rng([seed, 11])
    authors = await raw.fetch("SELECT author_id FROM posts WHERE id = ANY($1)", post_ids)
    rows = set()
    for r in authors:
        for v in rng.choice(volunteer_ids, size=2, replace=False).tolist():
            pair = (r["author_id"], v) if rng.random() < 0.5 else (v, r["author_id"])
            rows.add(pair)
    await raw.copy_records_to_table(
        "blocks", records=sorted(rows), columns=("blocker_id", "blocked_id")
    )


async def density(raw: asyncpg.Connection) -> dict[str, int]:
    lon, lat = synthetic.CHATELET
    out = {}
    for km in (1, 3, 5):
        out[f"within_{km}km_of_chatelet"] = await raw.fetchval(
            "SELECT count(*) FROM volunteers "
            "WHERE ST_DWithin(geog, CAST(ST_SetSRID(ST_MakePoint($1, $2), 4326) AS geography), $3)",
            lon,
            lat,
            km * 1000.0,
        )
    return out


# ------------------------------------------------------------------------- timing


def engine_api() -> tuple[Callable[..., Any], int]:
    from voisins.matching import engine

    return engine.match_request, int(getattr(engine, "WINDOW_FACTOR", 3))


async def timed_rollback(conn: AsyncConnection, call: Callable[[], Any]) -> tuple[float, Any]:
    """Run ``call`` in a transaction that is already open when the clock starts and
    rolled back after it stops."""
    trans = await conn.begin()
    try:
        await conn.execute(text("SELECT 1"))  # BEGIN is sent lazily: send it now
        t0 = time.perf_counter()
        result = await call()
        elapsed = (time.perf_counter() - t0) * 1000
    finally:
        await trans.rollback()
    return elapsed, result


async def measure_size(
    conn: AsyncConnection,
    post_ids: list[int],
    settings: Settings,
    now: datetime,
) -> dict[str, Any]:
    from voisins.matching.candidates import find_candidates

    match_request, window_factor = engine_api()

    async def engine_call(pid: int) -> Any:
        return await match_request(conn, pid, settings, now=now)

    async def naive_call(pid: int) -> Any:
        return await naive.naive_match(conn, pid, settings, now=now, window_factor=window_factor)

    for pid in post_ids[:WARMUP]:
        await timed_rollback(conn, lambda pid=pid: engine_call(pid))
    for pid in post_ids[:3]:
        await timed_rollback(conn, lambda pid=pid: naive_call(pid))

    engine_ms: list[float] = []
    proposals: list[int] = []
    for pid in post_ids:
        ms, outcome = await timed_rollback(conn, lambda pid=pid: engine_call(pid))
        engine_ms.append(ms)
        proposals.append(len(outcome.proposed))
    log(
        f"  engine: p50 {np.percentile(engine_ms, 50):.2f} ms, "
        f"p95 {np.percentile(engine_ms, 95):.2f} ms"
    )

    # The engine's candidate query alone (first batch), and the naive query's
    # candidates for the same parameters: both must name the same volunteers.
    query_ms: list[float] = []
    engine_sets: list[set[int]] = []
    for pid in post_ids:
        trans = await conn.begin()
        try:
            request, row = await naive.load_request(conn, pid)
            params = naive.search_params(request, row, settings, now, window_factor)
            t0 = time.perf_counter()
            found = await find_candidates(
                conn,
                request,
                radius_m=params["radius_m"],
                window=params["window"],
                now=now,
                cooldown_s=settings.match_cooldown_s,
            )
            query_ms.append((time.perf_counter() - t0) * 1000)
            engine_sets.append({f.volunteer_id for f in found})
        finally:
            await trans.rollback()

    naive_ms: list[float] = []
    naive_sets: list[set[int]] = []
    for pid in post_ids:
        ms, _ = await timed_rollback(conn, lambda pid=pid: naive_call(pid))
        naive_ms.append(ms)
        trans = await conn.begin()
        try:
            request, row = await naive.load_request(conn, pid)
            params = naive.search_params(request, row, settings, now, window_factor)
            ids = (
                (await conn.execute(text(naive.NAIVE_SQL), naive.bind(naive.NAIVE_SQL, params)))
                .scalars()
                .all()
            )
            naive_sets.append(set(ids))
        finally:
            await trans.rollback()
    log(
        f"  naive: p50 {np.percentile(naive_ms, 50):.2f} ms, "
        f"p95 {np.percentile(naive_ms, 95):.2f} ms"
    )

    same = sum(a == b for a, b in zip(engine_sets, naive_sets, strict=True))
    jaccard = [
        len(a & b) / len(a | b) if a | b else 1.0
        for a, b in zip(engine_sets, naive_sets, strict=True)
    ]
    e, nv, q = percentiles(engine_ms), percentiles(naive_ms), percentiles(query_ms)
    return {
        **e,
        "naive_p50_ms": nv["p50_ms"],
        "naive_p95_ms": nv["p95_ms"],
        "naive_p99_ms": nv["p99_ms"],
        "speedup_p95": round(nv["p95_ms"] / e["p95_ms"], 1),
        "candidate_query_p50_ms": q["p50_ms"],
        "candidate_query_p95_ms": q["p95_ms"],
        "mean_proposals": round(float(np.mean(proposals)), 2),
        "requests_without_proposal": int(sum(p == 0 for p in proposals)),
        "same_candidates_as_naive": round(same / len(post_ids), 3),
        "mean_jaccard_vs_naive": round(float(np.mean(jaccard)), 4),
        "_engine_ms": engine_ms,
    }


async def measure_representation(
    raw: asyncpg.Connection,
    conn: AsyncConnection,
    post_ids: list[int],
    settings: Settings,
    now: datetime,
    volunteers: int,
) -> dict[str, Any]:
    _, window_factor = engine_api()
    await representation.build_table(raw, log)
    params_of: list[dict[str, Any]] = []
    trans = await conn.begin()
    try:
        for pid in post_ids:
            request, row = await naive.load_request(conn, pid)
            params = naive.search_params(request, row, settings, now, window_factor)
            params_of.append(representation.knn_params(params))
    finally:
        await trans.rollback()
    queries = {
        "geography_4326": text(representation.KNN_GEOGRAPHY_SQL),
        "geometry_2154": text(representation.KNN_2154_SQL),
    }
    for setting in representation.FORCE_KNN:
        await conn.execute(text(setting))
    for params in params_of[:WARMUP]:
        for q in queries.values():
            await conn.execute(q, params)
    times: dict[str, list[float]] = {name: [] for name in queries}
    differ = 0
    for i, params in enumerate(params_of):
        order = list(queries) if i % 2 == 0 else list(reversed(queries))
        got: dict[str, list[int]] = {}
        for name in order:
            t0 = time.perf_counter()
            got[name] = list((await conn.execute(queries[name], params)).scalars())
            times[name].append((time.perf_counter() - t0) * 1000)
        # Same volunteers? (Order may differ: planar vs spheroid near-ties.)
        differ += set(got["geography_4326"]) != set(got["geometry_2154"])
    await conn.rollback()
    scale = await representation.scale_error(conn, synthetic.CITIES)
    await conn.rollback()
    out: dict[str, Any] = {
        "volunteers": volunteers,
        "query": (
            f"ORDER BY col <-> q LIMIT {representation.KNN_LIMIT} with the engine's filters, "
            "index-ordered walk forced, on a copy table with one GiST index per column"
        ),
    }
    for name, values in times.items():
        p = percentiles(values)
        out[name] = {"p50_ms": p["p50_ms"], "p95_ms": p["p95_ms"]}
    out["different_volunteers_share"] = round(differ / len(params_of), 3)
    out["lambert93_max_scale_error"] = round(scale, 5)
    g, l93 = out["geography_4326"], out["geometry_2154"]
    extra = (g["p50_ms"] / l93["p50_ms"] - 1) * 100
    out["schema_uses"] = "geography_4326"
    out["why"] = (
        f"geography costs {extra:+.0f} % at p50 ({g['p50_ms']} vs {l93['p50_ms']} ms; p95 "
        f"{g['p95_ms']} vs {l93['p95_ms']} ms) on the same walk. Lambert-93 is only defined "
        "for metropolitan France and Corsica (the overseas grids use other CRSs, so one "
        "projected column cannot serve every zone with one index), and its planar metres "
        f"drift up to {scale * 100:.2f} % from the spheroid in the 20 cities. One geography "
        "column serves every zone with metre-true radius filters; the measured price is "
        "the one above."
    )
    return out


class StatementTrace:
    """Records the SQL statements an engine call sends, with their parameters and times,
    so the slow ones can be named and EXPLAINed without knowing the engine's internals."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.sync_engine
        self.active = False
        self.statements: list[tuple[str, Any, float]] = []
        self._t0 = 0.0

    def _before(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        self._t0 = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if self.active:
            self.statements.append((statement, params, (time.perf_counter() - self._t0) * 1000))

    def __enter__(self) -> StatementTrace:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


async def explain(
    engine: AsyncEngine,
    conn: AsyncConnection,
    post_ids: list[int],
    engine_ms: list[float],
    settings: Settings,
    now: datetime,
    volunteers: int,
) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of ``candidate_query_sql`` for the median and the
    slowest request, the naive query for the same, and a trace of every statement
    ``match_request`` sent for them."""
    from voisins.matching.candidates import candidate_query_sql

    match_request, window_factor = engine_api()
    order = np.argsort(engine_ms)
    picks = {
        "median request": post_ids[int(order[len(order) // 2])],
        "slowest request": post_ids[int(order[-1])],
    }
    parts = [
        f"# EXPLAIN (ANALYZE, BUFFERS) at {volunteers:,} volunteers, {datetime.now(UTC):%Y-%m-%d}",
        "# Written by `python -m bench.match`. The engine's query is what",
        "# voisins.matching.candidates.candidate_query_sql returns for the request's first",
        "# batch; the trace lists every statement match_request sent for the same request.",
        "",
    ]
    sql_text = ""
    for label, pid in picks.items():
        async with conn.begin():
            request, row = await naive.load_request(conn, pid)
        params = naive.search_params(request, row, settings, now, window_factor)
        sql_text, engine_params = candidate_query_sql(
            request,
            radius_m=params["radius_m"],
            window=params["window"],
            now=now,
            cooldown_s=settings.match_cooldown_s,
        )
        described = (
            f"post {pid}: category={request.category} sensitive={request.sensitive} "
            f"languages={request.languages} skills={request.skill_tags} "
            f"radius={params['radius_m']} m window={params['window']}"
        )
        for name, sql, bound in (
            ("engine candidate query", sql_text, engine_params),
            ("naive query", naive.NAIVE_SQL, naive.bind(naive.NAIVE_SQL, params)),
        ):
            trans = await conn.begin()
            try:
                plan = (
                    await conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql), bound)
                ).scalars()
                parts += [f"## {name} — {label} ({described})", *plan, ""]
            finally:
                await trans.rollback()
        with StatementTrace(engine) as trace:
            trans = await conn.begin()
            try:
                trace.active = True
                t0 = time.perf_counter()
                await match_request(conn, pid, settings, now=now)
                total = (time.perf_counter() - t0) * 1000
                trace.active = False
            finally:
                await trans.rollback()
        parts.append(f"## statements sent by match_request — {label}: {total:.2f} ms in all")
        for statement, _, ms in trace.statements:
            first = " ".join(statement.split())[:110]
            parts.append(f"{ms:9.2f} ms  {first}")
        parts.append("")
    parts += ["## engine candidate query text (candidate_query_sql)", sql_text.strip(), ""]
    return "\n".join(parts)


# --------------------------------------------------------------------------- main


async def run(args: argparse.Namespace, settings: Settings, name: str) -> dict[str, Any]:
    admin_dsn = settings.asyncpg_dsn
    bench_dsn = with_database(admin_dsn, name)
    log(f"creating database {name}")
    await create_database(admin_dsn, name)
    await upgrade(bench_dsn)
    bench_settings = load_settings(database_url=bench_dsn)
    raw = await asyncpg.connect(bench_dsn)
    engine: AsyncEngine | None = None
    try:
        await synthetic.register_geometry_codec(raw)
        await raw.execute("SET synchronous_commit = off")
        info = await machine(raw)
        now = synthetic.utcnow()
        staff_id = await raw.fetchval(
            "INSERT INTO users (email, password_hash, display_name, role) "
            "VALUES ('bench-sw@example.org', 'x', 'Bench social worker', 'social_worker') "
            "RETURNING id"
        )
        grid = synthetic.Grid(settings.grid_cell_m)
        specs = synthetic.request_specs(args.seed, args.requests, now)
        post_ids = await synthetic.insert_requests(raw, specs, grid, staff_id, now)
        log(f"{len(post_ids)} published requests within 3 km of Châtelet")
        population = synthetic.Population(args.seed, grid, staff_id, now)
        first_id = int(await raw.fetchval("SELECT max(id) FROM users")) + 1
        engine = create_engine(bench_settings, pool_size=1)
        sizes_out: list[dict[str, Any]] = []
        loaded = 0
        rep: dict[str, Any] | None = None
        explain_text = ""
        for i, size in enumerate(args.sizes):
            log(f"size {size:,}: loading {size - loaded:,} more volunteers")
            load = await load_volunteers(raw, population, first_id + loaded, size - loaded)
            if loaded == 0:
                await add_blocks(raw, args.seed, post_ids, range(first_id, first_id + size))
                await raw.execute("ANALYZE blocks")
            loaded = size
            dens = await density(raw)
            log(f"  load {load}; {dens}")
            async with engine.connect() as conn:
                result = await measure_size(conn, post_ids, bench_settings, now)
                engine_ms = result.pop("_engine_ms")
                if i == len(args.sizes) - 1:
                    explain_text = await explain(
                        engine, conn, post_ids, engine_ms, bench_settings, now, size
                    )
                    rep = await measure_representation(
                        raw, conn, post_ids, bench_settings, now, size
                    )
            sizes_out.append({"volunteers": size, **result, "dataset": dens, "load": load})
        by_size = {s["volunteers"]: s for s in sizes_out}
        growth = None
        if 10_000 in by_size and 1_000_000 in by_size:
            growth = round(by_size[1_000_000]["p95_ms"] / by_size[10_000]["p95_ms"], 2)
        big = by_size.get(1_000_000)
        targets: dict[str, Any] = {
            "p95_ms_at_1m_max": TARGET_P95_MS,
            "speedup_p95_at_1m_min": TARGET_SPEEDUP,
            "growth_p95_10k_to_1m_max": TARGET_GROWTH,
            "p95_at_1m_met": None if big is None else big["p95_ms"] <= TARGET_P95_MS,
            "speedup_met": None if big is None else big["speedup_p95"] >= TARGET_SPEEDUP,
            "growth_met": None if growth is None else growth <= TARGET_GROWTH,
        }
        return {
            "benchmark": "match",
            "date": now.isoformat(),
            "machine": info,
            "requests": len(post_ids),
            "seed": args.seed,
            "sizes": sizes_out,
            "growth_p95_10k_to_1m": growth,
            "representation": rep,
            "targets": targets,
            "_explain": explain_text,
        }
    finally:
        if engine is not None:
            await engine.dispose()
        await raw.close()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.match", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--sizes", default="10000,100000,1000000", help="volunteer counts")
    parser.add_argument("--requests", type=int, default=200, help="requests timed per size")
    parser.add_argument("--quick", action="store_true", help="smoke run: 10k, 50 requests")
    parser.add_argument("--seed", type=int, default=20_240_601)
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument(
        "--no-save", action="store_true", help="print the result only (no bench/results files)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.requests = "10000", 50
    args.sizes = sorted({int(s) for s in str(args.sizes).split(",") if s.strip()})
    if not args.sizes or args.sizes[0] < 1:
        parser.error("--sizes must list positive counts")
    return args


def save(result: dict[str, Any], explain_text: str, skip: bool) -> None:
    if skip:  # a smoke run never replaces committed results
        return
    RESULTS.mkdir(exist_ok=True)
    line = json.dumps(result, ensure_ascii=False)
    day = result["date"][:10]
    (RESULTS / f"match-{day}.json").write_text(line + "\n", encoding="utf-8")
    (RESULTS / "match-latest.json").write_text(line + "\n", encoding="utf-8")
    (RESULTS / "match-explain.txt").write_text(explain_text, encoding="utf-8")


def markdown_table(result: dict[str, Any]) -> str:
    """The README's summary table, from a result object."""
    rows = [
        "| volunteers | p50 ms | p95 ms | p99 ms | naive p50 ms | naive p95 ms | speed-up p95 "
        "| mean proposals |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in result["sizes"]:
        rows.append(
            f"| {s['volunteers']:,} | {s['p50_ms']:.2f} | {s['p95_ms']:.2f} | {s['p99_ms']:.2f} "
            f"| {s['naive_p50_ms']:.1f} | {s['naive_p95_ms']:.1f} | {s['speedup_p95']}× "
            f"| {s['mean_proposals']} |"
        )
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = load_settings()
    name = f"voisins_bench_{secrets.token_hex(4)}"
    # A plain `kill` must drop the database too: make SIGTERM unwind like Ctrl-C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        result = asyncio.run(run(args, settings, name))
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if args.keep_db:
            log(f"kept database {name}")
        else:
            asyncio.run(drop_database(settings.asyncpg_dsn, name))
            log(f"dropped database {name}")
    explain_text = result.pop("_explain")
    save(result, explain_text, args.quick or args.no_save)
    log("summary:\n" + markdown_table(result))
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
