"""Matching benchmark: ``python -m bench.match [--sizes 10000,100000,1000000] [--quick]``.

Builds a synthetic France of volunteers (bench/synthetic.py) in a throwaway database,
publishes requests around Châtelet (the densest spot), and times one call of
``voisins.matching.engine.match_request`` per request — candidate search, scoring and
the INSERT of proposals and outbox rows — in a transaction that is rolled back, so
every request sees the same data. The plain ``ST_DWithin`` + ``ORDER BY ST_Distance``
matcher (bench/naive.py) runs on the same data and requests in the same run, and both
must name the same candidates.

At each size the volunteers are first timed as loaded (in id order, so neighbours are
scattered over the whole table), then the table is CLUSTERed on its cell index and
everything is measured: the physical order's effect is part of the result.

Progress goes to stderr; the last line on stdout is one JSON object, also written to
bench/results/match-<date>.json and match-latest.json, and the EXPLAIN (ANALYZE,
BUFFERS) of the engine's queries goes to bench/results/match-explain.txt (``--quick``
and ``--no-save`` write no file: a smoke run never replaces committed results).

What is timed: ``match_request`` only, from the call to its return, on a warm
connection whose transaction is already open; the COMMIT (a WAL flush on a real
server) is not included since every run rolls back. Warm means what a production
pool's connections are after a while: every statement text the timed path can send
(the walk and the sweep of every category, sensitive or not, the engine's other
statements, the follow-up path) has run at least ``PLAN_RUNS`` times on the timed
connection, past the five executions after which PostgreSQL may switch a prepared
statement to its generic plan.

Over 400 lines as one module on purpose: one benchmark whose steps (load, warm-up,
timing, breakdown, naive comparison, EXPLAIN) share the same warm connection and
statement trace and end in one result; the throwaway databases and the progress log
that other benchmarks use too are bench/databases.py's and bench/progress.py's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
from sqlalchemy import event, text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bench import naive, synthetic
from bench.databases import CHUNK, create_database, drop_database, secondary_indexes, with_database
from bench.progress import log
from voisins.categories import CATEGORIES
from voisins.db import create_engine
from voisins.migrations import upgrade
from voisins.settings import Settings, load_settings

RESULTS = Path(__file__).resolve().parent / "results"
WARMUP = 20  # engine calls on the first requests before any timing
# PostgreSQL plans the first five executions of a prepared statement with the values
# (custom plans) and may keep its generic plan from the sixth on: warm-up runs every
# search text this many times.
PLAN_RUNS = 6
CLUSTER_INDEX = "volunteers_cell"
# Above this size the naive query (seconds each) is timed on the first requests only.
NAIVE_ALL_UP_TO = 1_000_000
NAIVE_SAMPLE = 20
TARGET_P95_MS = 10.0
TARGET_SPEEDUP = 20.0
TARGET_GROWTH = 3.0


def percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    a = np.asarray(values_ms)
    return {
        "p50_ms": round(float(np.percentile(a, 50)), 3),
        "p95_ms": round(float(np.percentile(a, 95)), 3),
        "p99_ms": round(float(np.percentile(a, 99)), 3),
        "max_ms": round(float(a.max()), 3),
    }


async def machine(raw: asyncpg.Connection) -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "pg_version": await raw.fetchval("SHOW server_version"),
        "postgis_version": await raw.fetchval("SELECT postgis_lib_version()"),
        "shared_buffers": await raw.fetchval("SHOW shared_buffers"),
        "jit": "off",
    }


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
    ids = np.arange(volunteer_ids.start, volunteer_ids.stop)  # once: 10M ids are 80 MB
    rows = set()
    for r in authors:
        for v in rng.choice(ids, size=2, replace=False).tolist():
            pair = (r["author_id"], v) if rng.random() < 0.5 else (v, r["author_id"])
            rows.add(pair)
    await raw.copy_records_to_table(
        "blocks", records=sorted(rows), columns=("blocker_id", "blocked_id")
    )


async def density(raw: asyncpg.Connection, grid: synthetic.Grid) -> dict[str, int]:
    """Volunteers whose public cell centre lies within 1, 3, 5 km of Châtelet's cell."""
    x, y = grid.centre_xy(*synthetic.CHATELET)
    out = {}
    for km in (1, 3, 5):
        out[f"within_{km}km_of_chatelet"] = await raw.fetchval(
            "SELECT count(*) FROM volunteers "
            "WHERE ST_DWithin(cell_xy, ST_SetSRID(ST_MakePoint($1, $2), 0), $3)",
            x,
            y,
            km * 1000.0,
        )
    return out


async def cluster_volunteers(raw: asyncpg.Connection) -> float:
    """Rewrite the table in the order of the cell index (a Hilbert-ordered GiST build,
    PostGIS >= 3.1), so that neighbours share pages; indexes are rebuilt too."""
    t0 = time.perf_counter()
    await raw.execute("SET maintenance_work_mem = '1GB'")
    await raw.execute(f"CLUSTER volunteers USING {CLUSTER_INDEX}")
    await raw.execute("VACUUM ANALYZE volunteers")
    return round(time.perf_counter() - t0, 1)


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


def search_arguments(params: dict[str, Any], settings: Settings, now: datetime) -> dict[str, Any]:
    """The engine's search arguments for a request's first batch, from the naive
    matcher's ``search_params``: both search the same radius and window."""
    return {
        "radius_m": params["radius_m"],
        "window": params["window"],
        "now": now,
        "cooldown_s": settings.match_cooldown_s,
    }


class StatementTrace:
    """Records the SQL statements an engine call sends, with their parameters and times,
    so the slow ones can be named and EXPLAINed without knowing the engine's internals.
    A statement's time runs from the driver call to its rows (asyncpg fetches them all
    within the call): server time plus one round trip."""

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

    async def match_request(
        self, conn: AsyncConnection, post_id: int, settings: Settings, now: datetime
    ) -> float:
        """``match_request`` on one request, rolled back, its statements (and theirs only)
        recorded; its milliseconds."""
        match_request, _ = engine_api()

        async def traced() -> None:
            self.active = True
            try:
                await match_request(conn, post_id, settings, now=now)
            finally:
                self.active = False

        elapsed, _ = await timed_rollback(conn, traced)
        return elapsed


# Names for the statements the timed path sends (the search queries name themselves
# in a first comment line, "-- voisins: candidates.walk").
STATEMENT_LABELS = (
    ("SELECT p.id, p.author_id", "load post"),
    ("SELECT 1 FROM volunteers WHERE user_id = ANY", "lock volunteers"),
    ("INSERT INTO matches", "insert matches"),
    ("UPDATE volunteers SET last_proposed_at", "update volunteers"),
    ("UPDATE posts SET match_batch", "update post"),
    ("INSERT INTO outbox", "insert outbox"),
    ("INSERT INTO followups", "insert follow-ups"),
    ("UPDATE posts SET match_exhausted_at", "post exhausted"),
)


def statement_label(statement: str) -> str:
    first = statement.lstrip()
    if first.startswith("-- "):
        return first.split("\n", 1)[0].split(":", 1)[-1].strip()
    flat = " ".join(first.split())
    for prefix, label in STATEMENT_LABELS:
        if flat.startswith(prefix):
            return label
    return flat[:48]


def search_texts() -> list[tuple[str, str]]:
    """(label, SQL) of every search statement the engine can send: the walk and the
    sweep of each category, for sensitive requests and the others."""
    from voisins.matching.candidates import sweep_sql, walk_sql

    out = []
    for category in CATEGORIES:
        for sensitive in (False, True):
            kind = "sensitive" if sensitive else "plain"
            out.append((f"walk {category} {kind}", walk_sql(category, sensitive)))
            out.append((f"sweep {category} {kind}", sweep_sql(category, sensitive)))
    return out


async def warm_up(
    engine: AsyncEngine,
    conn: AsyncConnection,
    post_ids: list[int],
    settings: Settings,
    now: datetime,
    *,
    naive_too: bool,
) -> set[str]:
    """Bring the timed connection where a production pool's connections are after a
    while: every statement text of the timed path prepared and run ``PLAN_RUNS``
    times or more. Returns the statement texts sent."""
    from voisins.matching import engine as matching

    match_request, window_factor = engine_api()
    with StatementTrace(engine) as trace:
        trace.active = True
        for pid in post_ids[:WARMUP]:
            await timed_rollback(conn, partial(match_request, conn, pid, settings, now=now))
        trans = await conn.begin()
        try:
            request, row = await naive.load_request(conn, post_ids[0])
            params = naive.search_params(request, row, settings, now, window_factor)
            for _, sql in search_texts():
                for _ in range(PLAN_RUNS):
                    await conn.execute(text(sql), params)
            # The path of a request nobody can answer (the centre's follow-up list).
            for _ in range(PLAN_RUNS):
                await matching.to_followup(conn, post_ids[0], now)
        finally:
            await trans.rollback()
        if naive_too:
            for pid in post_ids[:PLAN_RUNS]:
                await timed_rollback(
                    conn,
                    partial(
                        naive.naive_match, conn, pid, settings, now=now, window_factor=window_factor
                    ),
                )
    return {statement for statement, _, _ in trace.statements}


async def time_engine(
    conn: AsyncConnection, post_ids: list[int], settings: Settings, now: datetime
) -> tuple[list[float], list[int]]:
    match_request, _ = engine_api()
    engine_ms: list[float] = []
    proposals: list[int] = []
    for pid in post_ids:
        ms, outcome = await timed_rollback(
            conn, partial(match_request, conn, pid, settings, now=now)
        )
        engine_ms.append(ms)
        proposals.append(len(outcome.proposed))
    return engine_ms, proposals


async def candidate_pages(
    conn: AsyncConnection, post_ids: list[int], settings: Settings, now: datetime
) -> list[int]:
    """Distinct heap pages holding each request's first-batch candidates: what the
    table's physical order decides (as loaded, in id order, about one page per
    candidate; clustered by cell, the people of a cell share a few pages)."""
    from voisins.matching.candidates import find_candidates

    _, window_factor = engine_api()
    out = []
    trans = await conn.begin()
    try:
        for pid in post_ids:
            request, row = await naive.load_request(conn, pid)
            params = naive.search_params(request, row, settings, now, window_factor)
            found = await find_candidates(conn, request, **search_arguments(params, settings, now))
            pages = await conn.execute(
                text(
                    "SELECT count(DISTINCT (CAST(CAST(ctid AS text) AS point))[0]) "
                    "FROM volunteers WHERE user_id = ANY(CAST(:ids AS bigint[]))"
                ),
                {"ids": [f.volunteer_id for f in found]},
            )
            out.append(int(pages.scalar_one()))
    finally:
        await trans.rollback()
    return out


async def breakdown(
    engine: AsyncEngine,
    conn: AsyncConnection,
    post_ids: list[int],
    settings: Settings,
    now: datetime,
) -> tuple[dict[str, Any], set[str]]:
    """One more pass with every statement traced: where each request's time goes (SQL
    statement by statement, the rest being Python: scoring, rows to objects,
    SQLAlchemy), how many requests needed the sweep, and the statement texts sent."""
    per_label: dict[str, list[float]] = {}
    python_ms: list[float] = []
    sql_ms: list[float] = []
    sent: set[str] = set()
    with StatementTrace(engine) as trace:
        for pid in post_ids:
            trace.statements = []
            total = await trace.match_request(conn, pid, settings, now)
            spent: dict[str, float] = {}
            for statement, _, ms in trace.statements:
                sent.add(statement)
                label = statement_label(statement)
                spent[label] = spent.get(label, 0.0) + ms
            for label, ms in spent.items():
                per_label.setdefault(label, []).append(ms)
            sql_ms.append(sum(spent.values()))
            python_ms.append(total - sum(spent.values()))
    n = len(post_ids)
    statements = {
        label: {
            "requests": len(values),
            "p50_ms": round(float(np.percentile(values, 50)), 3),
            "p95_ms": round(float(np.percentile(values, 95)), 3),
            "mean_ms_per_request": round(float(np.sum(values)) / n, 3),
        }
        for label, values in sorted(per_label.items(), key=lambda kv: -sum(kv[1]))
    }
    return {
        "sql_p50_ms": round(float(np.percentile(sql_ms, 50)), 3),
        "sql_p95_ms": round(float(np.percentile(sql_ms, 95)), 3),
        "python_p50_ms": round(float(np.percentile(python_ms, 50)), 3),
        "python_p95_ms": round(float(np.percentile(python_ms, 95)), 3),
        "requests_that_swept": len(per_label.get("candidates.sweep", [])),
        "statements": statements,
    }, sent


async def compare_with_naive(
    conn: AsyncConnection,
    post_ids: list[int],
    settings: Settings,
    now: datetime,
    naive_requests: int,
) -> dict[str, Any]:
    """The engine's search alone (first batch, full window), the Python scoring of its
    candidates, and the naive matcher timed on the same requests (the first
    ``naive_requests`` of them); both searches must name the same volunteers."""
    from voisins.matching.candidates import find_candidates
    from voisins.matching.scoring import ranked
    from voisins.matching.scoring import total as score_total

    _, window_factor = engine_api()
    query_ms: list[float] = []
    scoring_ms: list[float] = []
    candidates: list[int] = []
    engine_sets: list[set[int]] = []
    for pid in post_ids:
        trans = await conn.begin()
        try:
            request, row = await naive.load_request(conn, pid)
            params = naive.search_params(request, row, settings, now, window_factor)
            t0 = time.perf_counter()
            found = await find_candidates(conn, request, **search_arguments(params, settings, now))
            t1 = time.perf_counter()
            ranked(pid, {f.volunteer_id: score_total(f, settings, now) for f in found})
            t2 = time.perf_counter()
        finally:
            await trans.rollback()
        query_ms.append((t1 - t0) * 1000)
        scoring_ms.append((t2 - t1) * 1000)
        candidates.append(len(found))
        engine_sets.append({f.volunteer_id for f in found})

    naive_ms: list[float] = []
    naive_sets: list[set[int]] = []
    for pid in post_ids[:naive_requests]:
        ms, (_, found_ids) = await timed_rollback(
            conn,
            partial(naive.naive_match, conn, pid, settings, now=now, window_factor=window_factor),
        )
        naive_ms.append(ms)
        naive_sets.append(found_ids)
    compared = engine_sets[: len(naive_sets)]
    same = sum(a == b for a, b in zip(compared, naive_sets, strict=True))
    jaccard = [
        len(a & b) / len(a | b) if a | b else 1.0 for a, b in zip(compared, naive_sets, strict=True)
    ]
    q, sc, nv = percentiles(query_ms), percentiles(scoring_ms), percentiles(naive_ms)
    return {
        "naive_p50_ms": nv["p50_ms"],
        "naive_p95_ms": nv["p95_ms"],
        "naive_p99_ms": nv["p99_ms"],
        "candidate_query_p50_ms": q["p50_ms"],
        "candidate_query_p95_ms": q["p95_ms"],
        "scoring_p50_ms": sc["p50_ms"],
        "scoring_p95_ms": sc["p95_ms"],
        "mean_candidates": round(float(np.mean(candidates)), 1),
        "max_candidates": int(np.max(candidates)),
        "naive_requests": len(naive_sets),
        "same_candidates_as_naive": round(same / len(naive_sets), 3),
        "mean_jaccard_vs_naive": round(float(np.mean(jaccard)), 4),
    }


async def vacuum_churn(raw: asyncpg.Connection) -> None:
    """Every timed call writes proposals that are rolled back: dead rows pile up in
    the small tables that each request reads again (a post's earlier propositions,
    the unique checks of matches), more with every pass. Production's autovacuum
    keeps them clear; here they are vacuumed before each timed pass."""
    await raw.execute("VACUUM matches, match_history, outbox, posts, followups")


async def measure_size(
    engine: AsyncEngine,
    raw: asyncpg.Connection,
    post_ids: list[int],
    settings: Settings,
    now: datetime,
    passes: int,
    naive_too: bool = True,
    naive_requests: int | None = None,
) -> dict[str, Any]:
    """Everything timed at one size, on one fresh, warmed connection."""
    await engine.dispose()  # a new connection: nothing prepared before this size
    async with engine.connect() as conn:
        warmed = await warm_up(engine, conn, post_ids, settings, now, naive_too=naive_too)
        runs: list[list[float]] = []
        proposals: list[int] = []
        for i in range(passes):
            await vacuum_churn(raw)
            engine_ms, proposals = await time_engine(conn, post_ids, settings, now)
            runs.append(engine_ms)
            log(
                f"  engine pass {i + 1}/{passes}: p50 {np.percentile(engine_ms, 50):.2f} ms, "
                f"p95 {np.percentile(engine_ms, 95):.2f} ms, "
                f"p99 {np.percentile(engine_ms, 99):.2f} ms"
            )
        pooled = [ms for run in runs for ms in run]
        out: dict[str, Any] = {
            **percentiles(pooled),
            "passes": [
                {k: v for k, v in percentiles(run).items() if k != "max_ms"} for run in runs
            ],
            "mean_proposals": round(float(np.mean(proposals)), 2),
            "requests_without_proposal": int(sum(p == 0 for p in proposals)),
        }
        await vacuum_churn(raw)
        parts, sent = await breakdown(engine, conn, post_ids, settings, now)
        out["breakdown"] = parts
        out["warm_up"] = {
            "statement_texts": len(warmed),
            "timed_texts_not_warmed": len(sent - warmed),
        }
        out["candidate_heap_pages_p50"] = int(
            np.percentile(await candidate_pages(conn, post_ids, settings, now), 50)
        )
        if naive_too:
            await vacuum_churn(raw)
            out.update(
                await compare_with_naive(
                    conn, post_ids, settings, now, naive_requests or len(post_ids)
                )
            )
            out["speedup_p95"] = round(out["naive_p95_ms"] / out["p95_ms"], 1)
            log(
                f"  naive: p50 {out['naive_p50_ms']:.2f} ms, p95 {out['naive_p95_ms']:.2f} ms; "
                f"same candidates {out['same_candidates_as_naive']:.0%}"
            )
        out["_engine_ms"] = runs[-1]
    return out


# --------------------------------------------------------------------------- plans


def _positional(sql: str) -> tuple[str, list[str]]:
    """``sql`` as asyncpg receives it ($1, $2, …) and the parameter names in order."""
    compiled = text(sql).compile(dialect=asyncpg_dialect())
    return compiled.string, list(dict.fromkeys(compiled.positiontup or []))


async def prepared_plan(
    raw: asyncpg.Connection, sql: str, params: dict[str, Any], mode: str, analyze: bool = False
) -> list[str]:
    """The plan PostgreSQL uses for ``sql`` as a prepared statement under
    ``plan_cache_mode = mode`` (force_custom_plan or force_generic_plan)."""
    positional, names = _positional(sql)
    types = [t.name for t in (await raw.prepare(positional)).get_parameters()]
    literals = [
        await raw.fetchval(f"SELECT quote_literal(CAST(CAST($1 AS {t}) AS text))", params[n])
        + f"::{t}"
        for n, t in zip(names, types, strict=True)
    ]
    await raw.execute(f"SET plan_cache_mode = {mode}")
    await raw.execute(f"PREPARE bench_plan AS {positional}")
    try:
        options = "ANALYZE, BUFFERS" if analyze else "COSTS OFF"
        rows = await raw.fetch(f"EXPLAIN ({options}) EXECUTE bench_plan({', '.join(literals)})")
    finally:
        await raw.execute("DEALLOCATE bench_plan")
        await raw.execute("RESET plan_cache_mode")
    return [r[0] for r in rows]


DETAIL_LINES = ("Index Cond", "Filter", "Order By", "Recheck", "Sort Key", "Join Filter")


def plan_shape(lines: list[str]) -> list[str]:
    """The plan's nodes and indexes, without costs, values or timings (nor the order of
    the two branches of the skills' INTERSECT, which follows the request's tags)."""
    shape = []
    for line in lines:
        node = line.strip().removeprefix("->").strip()
        if "  (" in node:
            node = node.split("  (", 1)[0]
        node = node.split(" (returns", 1)[0]
        if node and not node.startswith(DETAIL_LINES) and '"*SELECT* ' not in node:
            shape.append(node)
    return shape


async def generic_vs_custom(
    raw: asyncpg.Connection, conn: AsyncConnection, post_id: int, settings: Settings, now: datetime
) -> dict[str, Any]:
    """For every search text: does the generic plan have the same shape as the custom
    plan? (If so, a cold connection and a warm one run the same plan.)"""
    _, window_factor = engine_api()
    async with conn.begin():
        request, row = await naive.load_request(conn, post_id)
    params = naive.search_params(request, row, settings, now, window_factor)
    differ = []
    for label, sql in search_texts():
        custom = plan_shape(await prepared_plan(raw, sql, params, "force_custom_plan"))
        generic = plan_shape(await prepared_plan(raw, sql, params, "force_generic_plan"))
        if custom != generic:
            differ.append(label)
    total = len(search_texts())
    return {"texts": total, "same_plan": total - len(differ), "different": differ}


async def explain(
    engine: AsyncEngine,
    raw: asyncpg.Connection,
    conn: AsyncConnection,
    post_ids: list[int],
    engine_ms: list[float],
    settings: Settings,
    now: datetime,
    volunteers: int,
    plans: dict[str, Any],
) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the walk (``candidate_query_sql``) for the median
    and the slowest request, of the sweep for a request that needed it, of the naive
    query for the same, the generic plan of the median walk, a trace of every
    statement ``match_request`` sent, and the Python scoring time."""
    from voisins.matching.candidates import (
        candidate_query_sql,
        find_candidates,
        sweep_sql,
        walk_sql,
    )
    from voisins.matching.scoring import ranked
    from voisins.matching.scoring import total as score_total

    _, window_factor = engine_api()
    order = np.argsort(engine_ms)
    picks = {
        "median request": post_ids[int(order[len(order) // 2])],
        "slowest request": post_ids[int(order[-1])],
    }
    parts = [
        f"# EXPLAIN (ANALYZE, BUFFERS) at {volunteers:,} volunteers, {datetime.now(UTC):%Y-%m-%d}",
        "# Written by `python -m bench.match`, after CLUSTER volunteers USING volunteers_cell,",
        "# on the warm timed connection. The first search query is what",
        "# voisins.matching.candidates.candidate_query_sql returns for the request's first",
        "# batch (the walk, or the sweep when a language is required); the trace lists every",
        "# statement match_request sent for the same request (driver call to rows: server",
        "# time plus one round trip; the rest is Python).",
        "",
        f"# Generic plan = custom plan for {plans['same_plan']} of {plans['texts']} search "
        f"texts (walk and sweep, 10 categories, sensitive or not)"
        + (f"; different: {', '.join(plans['different'])}" if plans["different"] else "."),
        "",
    ]
    sql_text = ""

    async def analyzed(title: str, sql: str, bound: dict[str, Any]) -> None:
        trans = await conn.begin()
        try:
            plan = (await conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql), bound)).scalars()
            parts.extend([f"## {title}", *plan, ""])
        finally:
            await trans.rollback()

    for label, pid in picks.items():
        async with conn.begin():
            request, row = await naive.load_request(conn, pid)
        params = naive.search_params(request, row, settings, now, window_factor)
        sql_text, engine_params = candidate_query_sql(
            request, **search_arguments(params, settings, now)
        )
        described = (
            f"post {pid}: category={request.category} sensitive={request.sensitive} "
            f"languages={request.languages} required={request.language_required} "
            f"skills={request.skill_tags} radius={params['radius_m']} m "
            f"window={params['window']}"
        )
        first = "sweep" if "candidates.sweep" in sql_text.split("\n", 1)[0] else "walk"
        await analyzed(f"{first} — {label} ({described})", sql_text, engine_params)
        await analyzed(
            f"naive query — {label} ({described})",
            naive.NAIVE_SQL,
            naive.bind(naive.NAIVE_SQL, params),
        )
        with StatementTrace(engine) as trace:
            total = await trace.match_request(conn, pid, settings, now)
        parts.append(f"## statements sent by match_request — {label}: {total:.2f} ms in all")
        for statement, _, ms in trace.statements:
            parts.append(f"{ms:9.2f} ms  {statement_label(statement)}")
        parts.append(f"{total - sum(ms for _, _, ms in trace.statements):9.2f} ms  (Python)")
        trans = await conn.begin()
        try:
            found = await find_candidates(conn, request, **search_arguments(params, settings, now))
            samples = []
            for _ in range(5):  # one sample may hold a garbage-collector pause
                t0 = time.perf_counter()
                ranked(pid, {f.volunteer_id: score_total(f, settings, now) for f in found})
                samples.append((time.perf_counter() - t0) * 1000)
            scoring = float(np.median(samples))
        finally:
            await trans.rollback()
        parts += [
            f"{scoring:9.2f} ms  of it scoring and ranking {len(found)} candidates "
            "(median of 5 repeats)",
            "",
        ]
        if label == "median request":
            generic = await prepared_plan(
                raw, sql_text, engine_params, "force_generic_plan", analyze=True
            )
            parts += [f"## {first} — {label}, generic plan (PREPARE; EXECUTE)", *generic, ""]

    # A request whose walk fell short (no marker from beyond the radius), if any; else
    # a request that needs a language (straight to the sweep); else the median's.
    swept = None
    needs_language = None
    for pid in post_ids:
        async with conn.begin():
            request, row = await naive.load_request(conn, pid)
            params = naive.search_params(request, row, settings, now, window_factor)
            if params["language_required"]:
                needs_language = needs_language or (pid, request, params)
                continue
            size = naive.batch_size(row, settings)
            walked = (
                await conn.execute(text(walk_sql(request.category, request.sensitive)), params)
            ).all()
            if sum(not r.beyond for r in walked) < size and not any(r.beyond for r in walked):
                swept = (pid, request, params)
                break
    title = "sweep — a request whose walk fell short"
    if swept is None and needs_language is not None:
        swept, title = needs_language, "sweep — no walk fell short; a request that needs a language"
    if swept is None:
        async with conn.begin():
            request, row = await naive.load_request(conn, picks["median request"])
        params = naive.search_params(request, row, settings, now, window_factor)
        swept = (picks["median request"], request, params)
        title = "sweep — no request swept; the median request's sweep"
    pid, request, params = swept
    bound = params
    await analyzed(
        f"{title} (post {pid}: category={request.category} sensitive={request.sensitive} "
        f"languages={request.languages} required={request.language_required} "
        f"radius={params['radius_m']} m window={params['window']})",
        sweep_sql(request.category, request.sensitive),
        bound,
    )
    parts += [
        "## walk text (walk_sql)",
        walk_sql(request.category, request.sensitive).strip(),
        "",
        "## sweep text (sweep_sql)",
        sweep_sql(request.category, request.sensitive).strip(),
        "",
    ]
    return "\n".join(parts)


# --------------------------------------------------------------------------- main


def order_summary(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "p50_ms": result["p50_ms"],
        "p95_ms": result["p95_ms"],
        "p99_ms": result["p99_ms"],
        "candidate_heap_pages_p50": result["candidate_heap_pages_p50"],
    }


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
        log(
            f"{len(post_ids)} published requests within 3 km of Châtelet "
            f"({sum(s.language_required for s in specs)} need a language)"
        )
        population = synthetic.Population(args.seed, grid, staff_id, now)
        first_id = int(await raw.fetchval("SELECT max(id) FROM users")) + 1
        engine = create_engine(bench_settings, pool_size=1)
        sizes_out: list[dict[str, Any]] = []
        loaded = 0
        explain_text = ""
        plans: dict[str, Any] | None = None
        for i, size in enumerate(args.sizes):
            log(f"size {size:,}: loading {size - loaded:,} more volunteers")
            load = await load_volunteers(raw, population, first_id + loaded, size - loaded)
            if loaded == 0:
                await add_blocks(raw, args.seed, post_ids, range(first_id, first_id + size))
                await raw.execute("ANALYZE blocks")
            loaded = size
            dens = await density(raw, grid)
            log(f"  load {load}; {dens}")
            physical: dict[str, Any] = {}
            if args.cluster:
                log("  as loaded (id order): one engine pass")
                before = await measure_size(
                    engine, raw, post_ids, bench_settings, now, passes=1, naive_too=False
                )
                physical["as_loaded"] = order_summary(before)
                physical["cluster_s"] = await cluster_volunteers(raw)
                log(f"  CLUSTER volunteers USING {CLUSTER_INDEX}: {physical['cluster_s']} s")
            result = await measure_size(
                engine,
                raw,
                post_ids,
                bench_settings,
                now,
                args.passes,
                naive_requests=None if size <= NAIVE_ALL_UP_TO else NAIVE_SAMPLE,
            )
            engine_ms = result.pop("_engine_ms")
            if args.cluster:
                physical["clustered"] = order_summary(result)
            if i == len(args.sizes) - 1:
                await vacuum_churn(raw)
                async with engine.connect() as conn:
                    plans = await generic_vs_custom(raw, conn, post_ids[0], bench_settings, now)
                    log(f"  generic plan = custom plan: {plans['same_plan']}/{plans['texts']}")
                    explain_text = await explain(
                        engine, raw, conn, post_ids, engine_ms, bench_settings, now, size, plans
                    )
            sizes_out.append(
                {
                    "volunteers": size,
                    **result,
                    "physical_order": physical,
                    "dataset": dens,
                    "load": load,
                }
            )
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
            "language_required_requests": sum(s.language_required for s in specs),
            "seed": args.seed,
            "passes": args.passes,
            "clustered": args.cluster,
            "sizes": sizes_out,
            "growth_p95_10k_to_1m": growth,
            "plans_generic_equals_custom": plans,
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
    parser.add_argument(
        "--passes", type=int, default=3, help="timed passes over the requests per size"
    )
    parser.add_argument(
        "--no-cluster",
        dest="cluster",
        action="store_false",
        help="measure the table as loaded only (no CLUSTER)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 10k, 50 requests")
    parser.add_argument("--seed", type=int, default=20_240_601)
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument(
        "--no-save", action="store_true", help="print the result only (no bench/results files)"
    )
    parser.add_argument(
        "--tag",
        help="write bench/results/match-TAG-<date>.json and match-TAG-explain.txt instead "
        "of the latest results",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.requests, args.passes = "10000", 50, 1
    args.sizes = sorted({int(s) for s in str(args.sizes).split(",") if s.strip()})
    if not args.sizes or args.sizes[0] < 1:
        parser.error("--sizes must list positive counts")
    if args.passes < 1:
        parser.error("--passes must be at least 1")
    return args


def save(result: dict[str, Any], explain_text: str, skip: bool, tag: str | None) -> None:
    if skip:  # a smoke run never replaces committed results
        return
    RESULTS.mkdir(exist_ok=True)
    line = json.dumps(result, ensure_ascii=False)
    day = result["date"][:10]
    if tag:  # a side run (say, 10M volunteers once) leaves the latest results alone
        (RESULTS / f"match-{tag}-{day}.json").write_text(line + "\n", encoding="utf-8")
        (RESULTS / f"match-{tag}-explain.txt").write_text(explain_text, encoding="utf-8")
        return
    (RESULTS / f"match-{day}.json").write_text(line + "\n", encoding="utf-8")
    (RESULTS / "match-latest.json").write_text(line + "\n", encoding="utf-8")
    (RESULTS / "match-explain.txt").write_text(explain_text, encoding="utf-8")


def markdown_table(result: dict[str, Any]) -> str:
    """The README's summary table, from a result object."""
    rows = [
        "| volunteers | within 5 km of Châtelet | p50 ms | p95 ms | p99 ms | naive p50 ms "
        "| naive p95 ms | speed-up p95 | mean proposals |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in result["sizes"]:
        rows.append(
            f"| {s['volunteers']:,} | {s['dataset']['within_5km_of_chatelet']:,} "
            f"| {s['p50_ms']:.2f} | {s['p95_ms']:.2f} | {s['p99_ms']:.2f} "
            f"| {s.get('naive_p50_ms', float('nan')):.1f} "
            f"| {s.get('naive_p95_ms', float('nan')):.1f} | {s.get('speedup_p95')}× "
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
    save(result, explain_text, args.quick or args.no_save, args.tag)
    log("summary:\n" + markdown_table(result))
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
