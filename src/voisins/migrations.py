"""Apply the numbered SQL files of ``sql/`` — the only source of the schema.

Each file runs in its own transaction; the whole upgrade holds a PostgreSQL
advisory lock so two upgrades started at once never both apply a file. Applied
files are recorded with a checksum, and an upgrade refuses to run when an
already-applied file was edited (write a new file instead).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

# Arbitrary but fixed: every voisins process agrees on it.
ADVISORY_LOCK_KEY = 0x766F6973  # "vois"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name       text PRIMARY KEY,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(Exception):
    """The schema cannot be brought up to date safely."""


@dataclass(frozen=True)
class MigrationFile:
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Status:
    applied: list[str]
    pending: list[str]


def default_sql_dir() -> Path:
    """``sql/`` of a source checkout, or the copy packaged into the wheel."""
    source = Path(__file__).resolve().parents[2] / "sql"
    if source.is_dir():
        return source
    return Path(__file__).resolve().parent / "_sql"


def discover(sql_dir: Path) -> list[MigrationFile]:
    files = []
    for path in sorted(sql_dir.glob("*.sql")):
        if not _NAME.match(path.name):
            raise MigrationError(f"{path.name}: migration names look like 0001_what_it_does.sql")
        files.append(MigrationFile(path.name, path))
    numbers = [f.name[:4] for f in files]
    if len(numbers) != len(set(numbers)):
        raise MigrationError("two migration files share a number")
    return files


async def _applied(conn: asyncpg.Connection) -> dict[str, str]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return {}
    rows = await conn.fetch("SELECT name, checksum FROM schema_migrations ORDER BY name")
    return {r["name"]: r["checksum"] for r in rows}


def _check_history(files: list[MigrationFile], applied: dict[str, str]) -> None:
    on_disk = {f.name: f for f in files}
    for name, checksum in applied.items():
        if name not in on_disk:
            raise MigrationError(f"{name} was applied but is missing from sql/")
        if on_disk[name].checksum != checksum:
            raise MigrationError(
                f"{name} was edited after it was applied (checksum differs); "
                "restore it and put the change in a new numbered file"
            )
    pending = [f.name for f in files if f.name not in applied]
    if pending and applied and pending[0] < max(applied):
        raise MigrationError(f"{pending[0]} is numbered before an already-applied file")


async def status(dsn: str, sql_dir: Path | None = None) -> Status:
    files = discover(sql_dir or default_sql_dir())
    conn = await asyncpg.connect(dsn)
    try:
        applied = await _applied(conn)
    finally:
        await conn.close()
    return Status(
        applied=[f.name for f in files if f.name in applied],
        pending=[f.name for f in files if f.name not in applied],
    )


async def upgrade(dsn: str, sql_dir: Path | None = None) -> list[str]:
    """Apply pending files in order; return the names applied by this call."""
    files = discover(sql_dir or default_sql_dir())
    conn = await asyncpg.connect(dsn)
    done: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
        try:
            await conn.execute(_LEDGER)
            # Read the ledger only once the lock is ours: a concurrent upgrade may
            # have applied files while we waited.
            applied = await _applied(conn)
            _check_history(files, applied)
            for migration in files:
                if migration.name in applied:
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                        migration.name,
                        migration.checksum,
                    )
                done.append(migration.name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)
    finally:
        await conn.close()
    return done
