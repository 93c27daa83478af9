"""`voisins db upgrade`: ordered, checksummed, one transaction per file, under a lock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from voisins.migrations import MigrationError, default_sql_dir, discover, status, upgrade
from voisins.settings import Settings

from .support.database import with_database


@pytest.fixture
async def scratch(base_settings: Settings) -> AsyncIterator[str]:
    """An empty database of its own for each migration test."""
    name = f"voisins_mig_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(base_settings.asyncpg_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    yield with_database(base_settings.asyncpg_dsn, name)
    admin = await asyncpg.connect(base_settings.asyncpg_dsn)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


def _write(directory: Path, name: str, sql: str) -> Path:
    path = directory / name
    path.write_text(sql)
    return path


async def _fetch(dsn: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(query)
    finally:
        await conn.close()


async def test_files_apply_in_numeric_order_and_only_once(scratch: str, tmp_path: Path) -> None:
    _write(tmp_path, "0002_second.sql", "INSERT INTO log VALUES ('second');")
    _write(
        tmp_path,
        "0001_first.sql",
        "CREATE TABLE log (what text); INSERT INTO log VALUES ('first');",
    )
    assert await upgrade(scratch, tmp_path) == ["0001_first.sql", "0002_second.sql"]
    assert await upgrade(scratch, tmp_path) == []
    rows = await _fetch(scratch, "SELECT what FROM log")
    assert [r["what"] for r in rows] == ["first", "second"]
    result = await status(scratch, tmp_path)
    assert result.applied == ["0001_first.sql", "0002_second.sql"]
    assert result.pending == []


async def test_status_lists_pending_files(scratch: str, tmp_path: Path) -> None:
    _write(tmp_path, "0001_first.sql", "CREATE TABLE a (x int);")
    await upgrade(scratch, tmp_path)
    _write(tmp_path, "0002_more.sql", "CREATE TABLE b (x int);")
    result = await status(scratch, tmp_path)
    assert result.applied == ["0001_first.sql"]
    assert result.pending == ["0002_more.sql"]


async def test_an_edited_applied_file_is_refused(scratch: str, tmp_path: Path) -> None:
    first = _write(tmp_path, "0001_first.sql", "CREATE TABLE a (x int);")
    await upgrade(scratch, tmp_path)
    first.write_text("CREATE TABLE a (x bigint);")
    _write(tmp_path, "0002_more.sql", "CREATE TABLE b (x int);")
    with pytest.raises(MigrationError, match=r"0001_first\.sql was edited"):
        await upgrade(scratch, tmp_path)
    rows = await _fetch(scratch, "SELECT to_regclass('b') IS NULL AS absent")
    assert rows[0]["absent"], "nothing may be applied after a refused check"


async def test_a_failing_file_rolls_back_alone(scratch: str, tmp_path: Path) -> None:
    _write(tmp_path, "0001_ok.sql", "CREATE TABLE a (x int);")
    _write(tmp_path, "0002_broken.sql", "CREATE TABLE b (x int); SELECT no_such_function();")
    with pytest.raises(asyncpg.PostgresError):
        await upgrade(scratch, tmp_path)
    result = await status(scratch, tmp_path)
    assert result.applied == ["0001_ok.sql"]
    rows = await _fetch(scratch, "SELECT to_regclass('b') IS NULL AS absent")
    assert rows[0]["absent"], "the broken file's first statement must be rolled back"


async def test_badly_named_file_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "first.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match="0001_what_it_does"):
        discover(tmp_path)


async def test_two_concurrent_upgrades_apply_each_file_once(scratch: str, tmp_path: Path) -> None:
    # A slow file keeps the first upgrade inside the lock while the second one starts;
    # the counter table would get two rows if both applied 0002.
    _write(tmp_path, "0001_counter.sql", "CREATE TABLE applied (n int);")
    _write(tmp_path, "0002_slow.sql", "SELECT pg_sleep(0.5); INSERT INTO applied VALUES (2);")
    results = await asyncio.gather(upgrade(scratch, tmp_path), upgrade(scratch, tmp_path))
    assert sorted(len(r) for r in results) == [0, 2]
    rows = await _fetch(scratch, "SELECT count(*) AS n FROM applied")
    assert rows[0]["n"] == 1


async def test_project_migrations_start_with_postgis(scratch: str) -> None:
    files = discover(default_sql_dir())
    assert files[0].name == "0001_postgis.sql"
    assert "CREATE EXTENSION IF NOT EXISTS postgis" in files[0].sql
    await upgrade(scratch)
    rows = await _fetch(scratch, "SELECT postgis_version() AS v")
    assert rows[0]["v"]
