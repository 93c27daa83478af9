"""Test fixtures on the real services: a throwaway PostgreSQL+PostGIS database per run
(every migration applied, dropped at the end) and a Redis database number of its own.

Connection settings come from the same ``VOISINS_*`` variables as the service;
``VOISINS_TEST_REDIS_DB`` chooses the Redis database the tests may flush (default 13).
Real servers any test may ask for: ``smtp_server``, ``http_sink``, and a ``free_port``.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.database import empty_database, with_database
from tests.support.http_sink import HttpSink, running_http_sink
from tests.support.mail import SmtpServer
from tests.support.mail import smtp_server as running_smtp_server
from tests.support.ports import free_port
from voisins.app import create_app
from voisins.db import create_engine
from voisins.migrations import upgrade
from voisins.settings import Settings, load_settings

# The local BAN geocoder (``ban`` fixture), for every test that types an address.
pytest_plugins = ("tests.support.ban",)


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
async def database(base_settings: Settings) -> AsyncIterator[str]:
    """Create ``voisins_test_<random>``, migrate it, drop it at the end."""
    name = f"voisins_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(base_settings.asyncpg_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = with_database(base_settings.asyncpg_dsn, name)
    await upgrade(dsn)
    yield dsn
    admin = await asyncpg.connect(base_settings.asyncpg_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def redis_url(base_settings: Settings) -> str:
    db = int(os.environ.get("VOISINS_TEST_REDIS_DB", "13"))
    return re.sub(r"(/\d+)?$", f"/{db}", base_settings.redis_url, count=1)


@pytest.fixture(scope="session")
def settings(base_settings: Settings, database: str, redis_url: str) -> Settings:
    return load_settings(
        environment="test",
        database_url=database,
        redis_url=redis_url,
        log_json=True,
        log_level="WARNING",
        # Tests about something else publish, withdraw and pause many times in a row;
        # tests/test_quotas.py builds its apps with small limits of its own.
        quota_publish_per_hour=10_000,
        quota_publish_per_day=100_000,
        quota_republish_per_hour=10_000,
        quota_withdraw_per_hour=10_000,
        quota_pause_per_hour=10_000,
        # Likewise for the rate limits (tests/test_issue14_limits.py builds its own);
        # the login limits stay as deployed: tests/test_auth.py relies on them.
        limit_register_per_ip_per_hour=100_000,
        limit_reset_per_address_per_hour=100,
        limit_reset_per_ip_per_hour=100_000,
        limit_report_per_hour=100_000,
        limit_block_per_hour=100_000,
        limit_anonymous_search_per_ip_per_minute=1_000_000,
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture(autouse=True)
async def _clean(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Empty every table and the test Redis database after each test that used them."""
    yield
    if "database" in request.fixturenames:
        await empty_database(request.getfixturevalue("database"))
    if "redis_url" in request.fixturenames:
        client = Redis.from_url(request.getfixturevalue("redis_url"))
        await client.flushdb()
        await client.aclose()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(name="free_port")
def free_port_fixture() -> int:
    return free_port()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free port, keeping what it received."""
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def http_sink() -> Iterator[HttpSink]:
    """A partner's webhook receiver and the SMS provider (tests/support/http_sink.py)."""
    with running_http_sink() as sink:
        yield sink
