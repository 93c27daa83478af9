"""The ``voisins`` command: ``db upgrade``, ``db status``, ``serve``, ``worker``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence

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


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from voisins.app import create_app

    uvicorn.run(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
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
        "gisele@voisins.demo (resident), travailleur1@voisins.demo (social worker, "
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voisins", description="voisins service commands")
    commands = parser.add_subparsers(dest="command", required=True)
    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="apply pending sql/ files").set_defaults(run=_db_upgrade)
    db.add_parser("status", help="list applied and pending files").set_defaults(run=_db_status)
    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
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
