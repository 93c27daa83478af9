"""Issue 14, rate limits on what anyone can repeat for free: registrations per client IP,
password-reset links per address and per IP, reports and blocks per account, searches
of the public listing without signing in per IP, logins and second-factor codes.

Each refusal answers 429 with Retry-After and the error shape (or the 429 page), writes
nothing, and is counted in Redis across app instances. The client's IP comes from
X-Forwarded-For only behind a trusted proxy. Someone else's wrong passwords never lock
the owner out of a device that signed in before, and successful logins are not held
against a network (accounts/ratelimit.py, accounts/known_devices.py).

Over 400 lines: one concern, the rate limits, across every door they guard."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pyotp
import pytest
import uvicorn
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voisins.accounts.ratelimit import ActionLimits, LoginLimiter, network_of
from voisins.api.deps import DEVICE_COOKIE
from voisins.app import create_app
from voisins.cli import SERVE_OPTIONS
from voisins.settings import Settings, SettingsError, load_settings

from .support.csrf import csrf_of
from .support.database import scalar
from .support.people import PASSWORD, Person, fresh_code, register, staff
from .support.refusals import refused
from .support.world import HOME_ALICE, post_body

API = "/api/v1"
# Small limits, each reached in a few calls.
REGISTER = 3
RESET_ADDRESS = 2
RESET_IP = 4
REPORTS = 2
BLOCKS = 2
SEARCHES = 4
LOGIN_ACCOUNT = 3
LOGIN_IP = 6
LOGIN_WINDOW_S = 900
# Said by the 429 page (web/problems.py), without its apostrophe (escaped in HTML).
PAGE_429 = "essais en peu de temps"


@pytest.fixture
def small(settings: Settings) -> Settings:
    return msgspec.structs.replace(
        settings,
        limit_register_per_ip_per_hour=REGISTER,
        limit_reset_per_address_per_hour=RESET_ADDRESS,
        limit_reset_per_ip_per_hour=RESET_IP,
        limit_report_per_hour=REPORTS,
        limit_block_per_hour=BLOCKS,
        limit_anonymous_search_per_ip_per_minute=SEARCHES,
        login_max_attempts=LOGIN_ACCOUNT,
        login_ip_max_attempts=LOGIN_IP,
        login_window_s=LOGIN_WINDOW_S,
    )


@pytest.fixture
async def apps(small: Settings) -> AsyncIterator[tuple[AsyncTestClient, AsyncTestClient]]:
    """Two instances of the app on the same PostgreSQL and Redis, as two processes."""
    async with (
        AsyncTestClient(create_app(small)) as first,
        AsyncTestClient(create_app(small)) as second,
    ):
        yield first, second


def page_refused(response: Any) -> None:
    """The 429 page of the site, with its Retry-After."""
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["content-type"].startswith("text/html")


def signup(n: int) -> dict[str, str]:
    return {"email": f"newcomer{n}@example.org", "password": PASSWORD, "display_name": "Nina"}


async def count(engine: AsyncEngine, table: str) -> int:
    return int(await scalar(engine, f"SELECT count(*) FROM {table}"))


# ---------------------------------------------------------------------------------------
# Registration, password resets
# ---------------------------------------------------------------------------------------


async def test_registrations_from_one_ip_are_limited_across_instances(
    apps: tuple[AsyncTestClient, AsyncTestClient], engine: AsyncEngine
) -> None:
    first, second = apps
    for n in range(REGISTER):
        # A peer that is no trusted proxy: its X-Forwarded-For is not believed.
        response = await (first, second)[n % 2].post(
            f"{API}/auth/register", json=signup(n), headers={"X-Forwarded-For": f"198.51.100.{n}"}
        )
        assert response.status_code == 201, response.text
    users = await count(engine, "users")
    refused(await first.post(f"{API}/auth/register", json=signup(10)))
    refused(
        await second.post(
            f"{API}/auth/register", json=signup(11), headers={"X-Forwarded-For": "198.51.100.77"}
        )
    )
    # The sign-up page shares the count and shows the 429 page.
    form = await first.get("/inscription")
    shown = await first.post(
        "/inscription", data={**signup(12), "_csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )  # fmt: skip
    page_refused(shown)
    assert PAGE_429 in shown.text
    assert await count(engine, "users") == users


async def test_reset_links_are_limited_per_address_and_per_ip(
    apps: tuple[AsyncTestClient, AsyncTestClient],
    client: AsyncTestClient,
    engine: AsyncEngine,
    redis: Redis,
) -> None:
    first, second = apps
    camille = await register(client, "Camille")
    outbox = await count(engine, "outbox")
    for n in range(RESET_ADDRESS):
        asked = await (first, second)[n % 2].post(
            f"{API}/auth/password-reset", json={"email": camille.email}
        )
        assert asked.status_code == 202
    assert await count(engine, "outbox") == outbox + RESET_ADDRESS
    # Her mailbox gets no more links, however the address is written.
    refused(await first.post(f"{API}/auth/password-reset", json={"email": camille.email}))
    refused(await second.post(f"{API}/auth/password-reset", json={"email": camille.email.upper()}))
    form = await first.get("/mot-de-passe/oublie")
    shown = await first.post(
        "/mot-de-passe/oublie", data={"email": camille.email, "_csrf_token": csrf_of(form.text)}
    )
    page_refused(shown)
    assert await count(engine, "outbox") == outbox + RESET_ADDRESS
    # Other addresses from the same network: until the network's own limit, whether or
    # not an account has them (a refusal says nothing about that).
    for n in range(RESET_IP - RESET_ADDRESS):
        asked = await second.post(f"{API}/auth/password-reset", json={"email": f"x{n}@example.org"})
        assert asked.status_code == 202
    refused(await first.post(f"{API}/auth/password-reset", json={"email": "y@example.org"}))
    # The counts name nobody: no address, no IP in Redis's keys.
    keys = [k.decode() for k in await redis.keys("voisins:limit:*")]
    assert keys and not any("@" in k or "testclient" in k for k in keys), keys


# ---------------------------------------------------------------------------------------
# Reports and blocks
# ---------------------------------------------------------------------------------------


async def test_reports_and_blocks_are_limited_per_account_even_when_refused(
    apps: tuple[AsyncTestClient, AsyncTestClient], client: AsyncTestClient, engine: AsyncEngine
) -> None:
    first, second = apps
    alice, bob, carla = [await register(client, name) for name in ("Alice", "Bob", "Carla")]
    published = await client.post(f"{API}/posts", json=post_body(HOME_ALICE), headers=alice.headers)
    assert published.status_code == 201, published.text
    post_id = published.json()["id"]
    report = {"post_id": post_id, "reason": "other"}

    assert (await first.post(f"{API}/reports", json=report, headers=bob.headers)).status_code == 201
    # Walking ids costs as much as reporting: a 404 is counted too.
    missing = {"post_id": 10**12, "reason": "other"}
    assert (
        await second.post(f"{API}/reports", json=missing, headers=bob.headers)
    ).status_code == 404
    refused(await first.post(f"{API}/reports", json=report, headers=bob.headers))
    assert await count(engine, "reports") == 1
    # Another account is not held back.
    assert (
        await second.post(f"{API}/reports", json=report, headers=carla.headers)
    ).status_code == 201

    for app in (first, second):
        walked = await app.post(f"{API}/me/blocks", json={"post_id": 10**12}, headers=bob.headers)
        assert walked.status_code == 404
    refused(await first.post(f"{API}/me/blocks", json={"post_id": post_id}, headers=bob.headers))
    assert await count(engine, "blocks") == 0


# ---------------------------------------------------------------------------------------
# Anonymous search of the public listing
# ---------------------------------------------------------------------------------------


async def test_anonymous_searches_are_limited_per_ip_but_signed_in_people_are_not(
    apps: tuple[AsyncTestClient, AsyncTestClient], client: AsyncTestClient
) -> None:
    first, second = apps
    alice = await register(client, "Alice")
    url = f"{API}/posts?lon={HOME_ALICE[0]}&lat={HOME_ALICE[1]}"
    for n in range(SEARCHES - 1):
        assert (await (first, second)[n % 2].get(url)).status_code == 200
    # The home page is the same search for visitors, on the same count.
    assert (await second.get("/")).status_code == 200
    refused(await first.get(url), window_s=60)
    shown = await second.get("/")
    page_refused(shown)
    assert PAGE_429 in shown.text
    # A made-up token does not make a visitor someone.
    refused(await first.get(url, headers={"Authorization": "Bearer made-up"}), window_s=60)
    # Signed in, one searches on (a centre's many visitors share one address).
    assert (await first.get(url, headers=alice.headers)).status_code == 200


# ---------------------------------------------------------------------------------------
# The client's IP
# ---------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app served by uvicorn with `voisins serve`'s own options, over real HTTP from
    127.0.0.1 (the peer the app sees)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), **SERVE_OPTIONS))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        while not server.started:
            assert not task.done(), "the server stopped"
            await asyncio.sleep(0.05)
        try:
            yield http
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 10)
            sock.close()


async def register_from(http: httpx.AsyncClient, n: int, forwarded: str) -> httpx.Response:
    return await http.post(
        f"{API}/auth/register", json=signup(n), headers={"X-Forwarded-For": forwarded}
    )


async def test_x_forwarded_for_is_believed_only_from_trusted_proxies(
    small: Settings, redis: Redis
) -> None:
    # No proxy trusted (the default): 127.0.0.1 is the client, whatever it forwards.
    async with served(small) as http:
        for n in range(REGISTER):
            assert (await register_from(http, n, f"203.0.113.{n}")).status_code == 201
        refused(await register_from(http, 10, "203.0.113.99"))
    await redis.flushdb()
    # Behind trusted proxies: the right-most address that is not one of them.
    behind = msgspec.structs.replace(small, trusted_proxies="127.0.0.0/8, 10.0.0.0/8")
    async with served(behind) as http:
        for n in range(REGISTER):
            created = await register_from(http, 20 + n, "203.0.113.5, 10.1.1.1")
            assert created.status_code == 201, created.text
        refused(await register_from(http, 30, "203.0.113.5"))
        # What a client writes itself is left of what the proxy saw: not believed.
        refused(await register_from(http, 31, "198.51.100.1, 203.0.113.5"))
        # Another client behind the proxy is not held back.
        assert (await register_from(http, 32, "198.51.100.1")).status_code == 201


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    loaded = load_settings({"VOISINS_TRUSTED_PROXIES": "10.0.0.0/8, ::1"})
    assert [str(n) for n in loaded.trusted_proxy_networks] == ["10.0.0.0/8", "::1/128"]
    with pytest.raises(SettingsError, match="VOISINS_TRUSTED_PROXIES"):
        load_settings({"VOISINS_TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"})


# ---------------------------------------------------------------------------------------
# Login and second-factor codes
# ---------------------------------------------------------------------------------------


async def log_in(app: AsyncTestClient, person: Person, password: str = PASSWORD) -> Any:
    body = {"email": person.email, "password": password}
    return await app.post(f"{API}/auth/login", json=body)


async def page_log_in(app: AsyncTestClient, person: Person) -> Any:
    form = await app.get("/connexion")
    return await app.post(
        "/connexion",
        data={"email": person.email, "password": PASSWORD, "_csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )


async def test_an_attackers_wrong_passwords_never_lock_the_owner_out_of_a_known_device(
    small: Settings, client: AsyncTestClient
) -> None:
    camille = await register(client, "Camille")
    eve = await register(client, "Eve")
    async with (
        AsyncTestClient(create_app(small)) as phone,  # the API from her phone
        AsyncTestClient(create_app(small)) as computer,  # the pages from her computer
        AsyncTestClient(create_app(small)) as attacker,
    ):
        assert (await log_in(phone, camille)).status_code == 200
        assert (await page_log_in(computer, camille)).status_code == 303
        assert phone.cookies.get(DEVICE_COOKIE) and computer.cookies.get(DEVICE_COOKIE)
        # The attacker's own account makes their device known to it, not to hers.
        assert (await log_in(attacker, eve)).status_code == 200
        for _ in range(LOGIN_ACCOUNT):
            assert (await log_in(attacker, camille, "not her password")).status_code == 401
        refused(await log_in(attacker, camille, "still not it"), LOGIN_WINDOW_S)
        # Her account is locked for devices that never signed in to it...
        refused(await log_in(attacker, camille), LOGIN_WINDOW_S)
        tampered = str(phone.cookies[DEVICE_COOKIE])[:-4] + "0000"
        attacker.cookies.set(DEVICE_COOKIE, tampered)
        refused(await log_in(attacker, camille), LOGIN_WINDOW_S)
        # ...not for hers.
        assert (await log_in(phone, camille)).status_code == 200
        assert (await page_log_in(computer, camille)).status_code == 303


async def test_successes_are_not_held_against_a_network_failures_are_even_on_a_known_device(
    small: Settings, client: AsyncTestClient
) -> None:
    camille = await register(client, "Camille")
    async with AsyncTestClient(create_app(small)) as centre:  # a centre's shared computer
        # Many more sign-ins than the network's allowance of failures (and than the
        # four per allowed failure the old limiter counted them against).
        for _ in range(LOGIN_ACCOUNT * 4 + 1):
            assert (await log_in(centre, camille)).status_code == 200
        for _ in range(LOGIN_IP):
            assert (await log_in(centre, camille, "a wrong one")).status_code == 401
        # The known device spares the account's count, never the network's.
        refused(await log_in(centre, camille), LOGIN_WINDOW_S)


@pytest.fixture
async def worker(client: AsyncTestClient, engine: AsyncEngine) -> Person:
    """A social worker, second factor enrolled."""
    person = await staff(client, engine)
    assert person.totp_secret
    return person


def wrong_code(right: str) -> str:
    return "000000" if right != "000000" else "111111"


async def test_second_factor_codes_are_counted_per_account_whatever_the_device(
    small: Settings, worker: Person
) -> None:
    assert worker.totp_secret
    async with AsyncTestClient(create_app(small)) as office:
        # A full sign-in makes the office computer known to the account...
        code = await fresh_code(worker.totp_secret)  # a step no sign-in used yet
        body = {"email": worker.email, "password": PASSWORD, "totp_code": code}
        assert (await office.post(f"{API}/auth/login", json=body)).status_code == 200
        assert office.cookies.get(DEVICE_COOKIE)
        # ...which never spares a guessed code the account's count.
        wrong = {**body, "totp_code": wrong_code(code)}
        for _ in range(LOGIN_ACCOUNT):
            assert (await office.post(f"{API}/auth/login", json=wrong)).status_code == 401
        refused(await office.post(f"{API}/auth/login", json=wrong), LOGIN_WINDOW_S)


async def test_enrolling_a_second_factor_by_the_api_counts_the_codes(
    small: Settings, client: AsyncTestClient, engine: AsyncEngine
) -> None:
    worker = await staff(client, engine)
    not_enrolled = text("UPDATE users SET totp_enabled_at = NULL, totp_secret = NULL WHERE id = :i")
    async with engine.begin() as conn:
        await conn.execute(not_enrolled, {"i": worker.id})
    async with AsyncTestClient(create_app(small)) as app:
        login = await log_in(app, worker)
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        secret = (await app.post(f"{API}/auth/totp/setup", headers=headers)).json()["secret"]
        wrong = {"code": wrong_code(pyotp.TOTP(secret).now())}
        for _ in range(LOGIN_ACCOUNT):
            guessed = await app.post(f"{API}/auth/totp/enable", json=wrong, headers=headers)
            assert guessed.status_code == 422
        right = {"code": pyotp.TOTP(secret).now()}
        refused(
            await app.post(f"{API}/auth/totp/enable", json=right, headers=headers), LOGIN_WINDOW_S
        )
    enabled = await scalar(engine, "SELECT totp_enabled_at FROM users WHERE id = :i", i=worker.id)
    assert enabled is None


async def test_the_code_page_says_when_to_try_again(small: Settings, worker: Person) -> None:
    assert worker.totp_secret
    async with AsyncTestClient(create_app(small)) as office:
        assert (await page_log_in(office, worker)).status_code == 303  # on to the code page
        code_page = await office.get("/securite/code")
        wrong = wrong_code(pyotp.TOTP(worker.totp_secret).now())
        sent = {"code": wrong, "_csrf_token": csrf_of(code_page.text)}
        for _ in range(LOGIN_ACCOUNT):
            assert (await office.post("/securite/code", data=sent)).status_code == 400
        right = {**sent, "code": pyotp.TOTP(worker.totp_secret).now()}
        page_refused(await office.post("/securite/code", data=right))
        # The password alone is counted apart from the codes (accounts/second_factor.py).
        assert (await page_log_in(office, worker)).status_code == 303


# ---------------------------------------------------------------------------------------
# Redis down
# ---------------------------------------------------------------------------------------


async def test_limits_fail_open_when_redis_is_unreachable(free_port: int, small: Settings) -> None:
    """As the quotas: a Redis outage must not stop anyone signing up, in or asking for
    a link (the readiness probe reports it)."""
    down = Redis.from_url(f"redis://127.0.0.1:{free_port}/0", socket_connect_timeout=0.5)
    try:
        limits = ActionLimits.from_settings(down, small)
        limiter = LoginLimiter(down, small.secret_key, 1, 60, ip_max_attempts=1)
        for _ in range(3):
            await limits.register("192.0.2.1")
            await limits.reset_request("camille@example.org", "192.0.2.1")
            await limits.by_account("report", 1)
            await limits.anonymous_search("192.0.2.1")
            await limiter.hit("camille@example.org", "192.0.2.1")
        await limiter.clear_account("camille@example.org", "192.0.2.1")
    finally:
        await down.aclose()


def test_an_ipv6_host_counts_as_its_whole_64_and_a_mapped_address_as_ipv4() -> None:
    # A home is given a /64 and picks its source address in it at will: counted per
    # address, one household would have as many budgets as it likes.
    assert network_of("2001:db8:1:2::1") == network_of("2001:db8:1:2:ffff:1:2:3")
    assert network_of("2001:db8:1:2::1") != network_of("2001:db8:1:3::1")
    assert network_of("::ffff:192.0.2.7") == network_of("192.0.2.7") == "192.0.2.7"
    assert network_of("192.0.2.7") != network_of("192.0.2.8")
    assert network_of("unknown") == "unknown"


def test_a_proxy_seen_as_an_ipv4_mapped_address_is_trusted() -> None:
    # A dual-stack listener sees an IPv4 proxy as ::ffff:a.b.c.d: not trusting it made
    # every visitor share the proxy's budgets.
    from ipaddress import ip_network

    from voisins.api.deps import is_trusted

    proxies = (ip_network("10.0.0.0/8"),)
    assert is_trusted("::ffff:10.0.0.1", proxies) and is_trusted("10.0.0.1", proxies)
    assert not is_trusted("::ffff:11.0.0.1", proxies)
