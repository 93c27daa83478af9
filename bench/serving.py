"""A throwaway benchmark database with the enlarged demo, and `voisins serve` on it:
shared by bench/load.py and bench/api.py."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench import loaddata
from bench.databases import create_database, drop_database, with_database
from bench.progress import log
from voisins.migrations import upgrade
from voisins.settings import Settings, load_settings

VOISINS = Path(sys.executable).parent / "voisins"
# The bench publishes far more often per person than the anti-probing quotas allow
# a real one; they are lifted so that a quota's 429 never counts as an error.
SERVER_ENV = {
    "VOISINS_LOG_LEVEL": "WARNING",
    "VOISINS_QUOTA_PUBLISH_PER_HOUR": "10000",
    "VOISINS_QUOTA_PUBLISH_PER_DAY": "100000",
}


RESULTS = Path(__file__).resolve().parent / "results"


def report(result: dict[str, Any], name: str, *, save: bool, table: str) -> None:
    """End a run: the summary table on stderr, ``bench/results/<name>-latest.json`` when
    ``save``, and the result as the last line of stdout (one JSON object)."""
    if save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{name}-latest.json").write_text(
            json.dumps(result, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    log("summary:\n" + table)
    print(json.dumps(result, ensure_ascii=False), flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def bench_database(settings: Settings, keep: bool) -> Iterator[tuple[str, str]]:
    """(name, dsn) of a new migrated database, dropped at the end (also on Ctrl-C or
    SIGTERM, which is made to unwind like Ctrl-C)."""
    name = f"voisins_bench_{secrets.token_hex(4)}"
    dsn = with_database(settings.asyncpg_dsn, name)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    log(f"creating database {name}")
    asyncio.run(create_database(settings.asyncpg_dsn, name))
    try:
        asyncio.run(upgrade(dsn))
        yield name, dsn
    finally:
        if keep:
            log(f"kept database {name}")
        else:
            asyncio.run(drop_database(settings.asyncpg_dsn, name))
            log(f"dropped database {name}")


def build_data(dsn: str, size: loaddata.Size) -> tuple[Settings, loaddata.Dataset]:
    settings = load_settings(database_url=dsn)
    data = asyncio.run(loaddata.build(dsn, settings, size))
    log(f"data: {data.summary()}")
    return settings, data


@dataclass
class Server:
    """`voisins serve --workers N` in a process group of its own."""

    dsn: str
    workers: int
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    # Another ASGI server instead (bench/peer.py): its command and environment.
    command: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    label: str = "voisins serve"
    ready_path: str = "/health/ready"
    ready_status: int = 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, **SERVER_ENV, "VOISINS_DATABASE_URL": self.dsn, **self.env}
        cmd = self.command or [str(VOISINS), "serve"]
        cmd = [*cmd, "--workers", str(self.workers), "--port", str(self.port)]
        self.process = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.label} exited with {self.process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                answer = httpx.get(self.url + self.ready_path, timeout=2)
                if answer.status_code == self.ready_status:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"{self.label} was not ready within 60 s")
        # Every worker must be up before any timing: wait until each has its own
        # connections (the supervisor starts them one after the other).
        while len(self.api_processes()) < self.workers:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.label}: fewer than {self.workers} workers after 60 s")
            time.sleep(0.1)
        log(f"{self.label} --workers {self.workers} on {self.url}")

    def api_processes(self) -> list[psutil.Process]:
        """The worker processes: the supervisor's children that listen on the port."""
        assert self.process is not None
        out = []
        for child in psutil.Process(self.process.pid).children():
            with contextlib.suppress(psutil.Error):
                if any(
                    c.status == psutil.CONN_LISTEN and c.laddr.port == self.port
                    for c in child.net_connections(kind="tcp")
                ):
                    out.append(child)
        return out if self.workers > 1 else [psutil.Process(self.process.pid)]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def postgres_backends(database: str) -> list[psutil.Process]:
    """The PostgreSQL backends serving ``database`` (their title names it)."""
    out = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        with contextlib.suppress(psutil.Error):
            title = " ".join(proc.info["cmdline"] or [])
            if title.startswith("postgres: ") and f" {database} " in title:
                out.append(proc)
    return out


class CpuMeter:
    """CPU seconds used between ``start`` and ``stop`` by the processes ``find`` lists.

    Polled in a thread: a process that starts meanwhile counts from zero, and one that
    ends meanwhile (a pool's overflow connection, pgbench's backends as it exits) keeps
    what it had used at the last poll, a quarter of a second before at most."""

    PERIOD_S = 0.25

    def __init__(self, find: Callable[[], list[psutil.Process]]) -> None:
        self.find = find
        self.before: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def _poll(self) -> None:
        for process in self.find():
            with contextlib.suppress(psutil.Error):
                self.last[process.pid] = cpu_seconds(process)

    def _loop(self) -> None:
        while not self._halt.wait(self.PERIOD_S):
            self._poll()

    def start(self) -> None:
        self.last = {}
        self._poll()
        self.before = dict(self.last)
        self._halt.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> dict[int, float]:
        self._halt.set()
        if self._thread is not None:
            self._thread.join()
        self._poll()
        return {pid: round(cpu - self.before.get(pid, 0.0), 3) for pid, cpu in self.last.items()}


def rss_mb(process: psutil.Process) -> float:
    try:
        return round(process.memory_info().rss / 2**20, 1)
    except psutil.Error:
        return 0.0


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
    }
