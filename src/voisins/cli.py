"""The ``voisins`` command: ``db upgrade``, ``db status``, ``serve [--workers N]``, ``worker``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from voisins.migrations import MigrationError
from voisins.settings import Settings, SettingsError, load_settings


def _db_upgrade(settings: Settings, _: argparse.Namespace) -> int:
    from voisins.migrations import upgrade

    applied = asyncio.run(upgrade(settings.asyncpg_dsn))
    for name in applied:
        print(f"applied {name}")
    print(f"database is up to date ({len(applied)} applied now)")
    return 0


def _db_status(settings: Settings, _: argparse.Namespace) -> int:
    from voisins.migrations import status

    result = asyncio.run(status(settings.asyncpg_dsn))
    for name in result.applied:
        print(f"applied  {name}")
    for name in result.pending:
        print(f"pending  {name}")
    print(f"{len(result.applied)} applied, {len(result.pending)} pending")
    return 0


# How long a stopping server lets requests in flight (and open live-event streams)
# finish before it closes them: a SIGTERM must end the process, not wait on a browser.
GRACEFUL_SHUTDOWN_S = 10


def default_workers() -> int:
    """One API process per core: a process runs Python on one core at a time."""
    return os.cpu_count() or 1


# How uvicorn serves the app, whatever the number of processes (tests serve with the
# same options).
SERVE_OPTIONS: dict[str, Any] = {
    "log_config": None,
    "access_log": False,
    # The client's address is worked out by the app alone (api/deps.py, client_ip), from
    # X-Forwarded-For only behind VOISINS_TRUSTED_PROXIES: uvicorn must not rewrite it
    # first from its own list of trusted peers (127.0.0.1 by default).
    "proxy_headers": False,
    "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
}


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from voisins.metrics import prepare_metrics_dir

    workers = args.workers or default_workers()
    # Before any worker starts: each one's Prometheus client then writes its series to a
    # directory the others share, and /metrics on any process adds them all up.
    prepare_metrics_dir(workers)
    if workers > 1:
        # Several processes: uvicorn's supervisor starts each one from the import string,
        # and each builds its own app (settings read again from the same environment),
        # its own pool and Redis clients. Sessions, rate limits, idempotency keys and
        # live events live in PostgreSQL and Redis, so any process can answer anyone.
        app: Any = "voisins.app:create_app"
    else:
        from voisins.app import create_app

        app = create_app(settings)
    uvicorn.run(
        app,
        factory=workers > 1,
        workers=workers if workers > 1 else None,
        host=args.host or settings.host,
        port=args.port or settings.port,
        **SERVE_OPTIONS,
    )
    return 0


def _worker(settings: Settings, _: argparse.Namespace) -> int:
    from voisins.worker import run_workers

    asyncio.run(run_workers(settings))
    return 0


def _demo(settings: Settings, _: argparse.Namespace) -> int:
    from voisins.db import create_engine
    from voisins.demo import DEMO_PASSWORD, DEMO_TOTP, load_demo

    async def run() -> None:
        engine = create_engine(settings, pool_size=1)
        try:
            summary = await load_demo(engine, settings)
        finally:
            await engine.dispose()
        if summary.created:
            print(
                f"demo loaded: {summary.residents} residents, {summary.volunteers} volunteers, "
                f"{summary.posts} posts"
            )
        else:
            print("demo already loaded")

    asyncio.run(run())
    if settings.address_search == "addok":  # typed addresses work in the demo
        from voisins.geo.addresses import import_file, sample_file

        found = import_file(settings.addok_redis_dsn, sample_file())
        print(f"demo addresses: {found.addresses} in La Chapelle (Paris 18e)")
    print(
        f"demo accounts (password {DEMO_PASSWORD!r}): fatou@voisins.demo (volunteer), "
        "gisele@voisins.demo (resident), hugo@voisins.demo (young person in a housing "
        "trial with bernadette@voisins.demo), travailleur1@voisins.demo (social worker, "
        f"TOTP secret {DEMO_TOTP['sw1']}), admin@voisins.demo (TOTP {DEMO_TOTP['admin']})"
    )
    return 0


def _addresses_import(settings: Settings, args: argparse.Namespace) -> int:
    from voisins.geo.addresses import AddressFileError, import_file, sample_file

    if bool(args.file) == bool(args.sample):
        print("voisins: name one FILE, or --sample", file=sys.stderr)
        return 2
    try:
        path = args.file or sample_file()
        summary = import_file(settings.addok_redis_dsn, path, reset=args.reset)
    except AddressFileError as exc:
        print(f"voisins: address file refused: {exc}", file=sys.stderr)
        return 1
    print(f"addresses imported: {summary.streets} streets, {summary.addresses} addresses")
    return 0


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voisins", description="voisins service commands")
    commands = parser.add_subparsers(dest="command", required=True)
    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="apply pending sql/ files").set_defaults(run=_db_upgrade)
    db.add_parser("status", help="list applied and pending files").set_defaults(run=_db_status)
    serve = commands.add_parser(
        "serve",
        help="run the HTTP API",
        description="Run the HTTP API (uvicorn). Several worker processes share the port; "
        "everything they share lives in PostgreSQL and Redis.",
    )
    serve.add_argument("--host", help="address to bind (default: VOISINS_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: VOISINS_PORT, 8000)")
    serve.add_argument(
        "--workers",
        type=_positive,
        metavar="N",
        help=f"API processes (default: one per core, here {default_workers()})",
    )
    serve.set_defaults(run=_serve)
    commands.add_parser("worker", help="run the workers (events, sends)").set_defaults(run=_worker)
    commands.add_parser("demo", help="load the demo neighbourhood (idempotent)").set_defaults(
        run=_demo
    )
    addresses = commands.add_parser("addresses", help="the self-hosted address search (addok)")
    imports = addresses.add_subparsers(dest="addresses", required=True).add_parser(
        "import", help="import a BAN file (addok .ndjson or .csv, gzipped or not); again replaces"
    )
    imports.add_argument("file", nargs="?")
    imports.add_argument("--sample", action="store_true", help="the demo neighbourhood's sample")
    imports.add_argument("--reset", action="store_true", help="empty the address index first")
    imports.set_defaults(run=_addresses_import)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"voisins: {exc}", file=sys.stderr)
        return 2
    run: Callable[[Settings, argparse.Namespace], int] = args.run
    try:
        return run(settings, args)
    except MigrationError as exc:
        print(f"voisins: migration refused: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"voisins: cannot reach a service: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
