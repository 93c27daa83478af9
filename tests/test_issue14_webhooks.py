"""Issue 14: partner webhooks reach public addresses only — refused at registration,
and again at each call on the addresses the name resolves to then (DNS rebinding)."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.burst_worker import relay_outbox, run_worker
from tests.support.http_sink import WEBHOOK_SECRET, HttpSink
from tests.support.world import admin_and_centre, publish_request
from voisins.app import create_app
from voisins.notify.channels import PermanentError, WebhookChannel
from voisins.notify.safe_urls import (
    AddressPolicy,
    RefusedAddress,
    check_url,
    is_public,
    parse_networks,
)
from voisins.settings import Settings, load_settings

EVENT = {"delivery_id": 7, "kind": "match.proposed", "post_id": 1, "centre_id": 1}
DEV = AddressPolicy(require_https=False)
LOOPBACK = AddressPolicy(require_https=False, allowed_networks=parse_networks("127.0.0.0/8"))

# Each names the loopback, a private network, link-local or metadata service, or an
# address no server should be asked to call, in a form a naive check would miss.
BAD_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://localhost:6379/",
    "http://10.0.0.1/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://127.1/",
    "http://0177.0.0.1/",
    "http://127.0.0.1./hook",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::a00:1]/",
    "http://[2002:a00:1::]/",
    "http://[fe80::1]/",
    "http://[fd00:ec2::254]/",
    "http://[fc00::1]/",
    "http://192.168.1.10/",
    "http://172.16.0.1/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://evil.example@127.0.0.1/",
    "ftp://partner.example.org/hook",
]


def worker_settings(settings: Settings, allow: str) -> Settings:
    return load_settings(
        environment="test",
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        log_level="WARNING",
        webhook_allow_networks=allow,
    )


async def _scalar(engine: AsyncEngine, sql: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar()


# ---------------------------------------------------------------------------------------
# At registration
# ---------------------------------------------------------------------------------------


async def test_every_internal_address_is_refused_at_registration_naming_the_url(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    admin, centre_id = await admin_and_centre(client, engine)
    for url in BAD_URLS:
        refused = await client.post(
            f"/api/v1/centres/{centre_id}/webhooks",
            json={"url": url, "secret": WEBHOOK_SECRET, "topics": []},
            headers=admin.headers,
        )
        assert refused.status_code == 422, (url, refused.text)
        body = refused.json()
        assert body["error"] == "invalid" and set(body["fields"]) == {"url"}, (url, body)
    # A line break after the address (Python's "$" lets one through before the end).
    trailing = await client.post(
        f"/api/v1/centres/{centre_id}/webhooks",
        json={"url": "http://93.184.216.34/hook\n", "secret": WEBHOOK_SECRET},
        headers=admin.headers,
    )
    assert trailing.status_code == 422 and set(trailing.json()["fields"]) == {"url"}
    assert await _scalar(engine, "SELECT count(*) FROM webhooks") == 0
    # A public address is still welcome, over http outside production.
    accepted = await client.post(
        f"/api/v1/centres/{centre_id}/webhooks",
        json={"url": "http://93.184.216.34/hook", "secret": WEBHOOK_SECRET},
        headers=admin.headers,
    )
    assert accepted.status_code == 201, accepted.text


async def test_the_admin_page_says_why_an_internal_address_is_refused(
    client: AsyncTestClient, engine: AsyncEngine
) -> None:
    admin, centre_id = await admin_and_centre(client, engine)
    client.cookies.set("voisins_session", admin.token)
    path = f"/admin/centres/{centre_id}/webhooks"
    page = await client.get(path)
    token = page.text.split('name="_csrf_token" value="', 1)[1].split('"', 1)[0]
    refused = await client.post(
        path, data={"_csrf_token": token, "url": "http://169.254.169.254/latest/meta-data/"}
    )
    assert refused.status_code == 422
    assert 'id="url-error"' in refused.text and "machine locale ou interne" in refused.text
    assert await _scalar(engine, "SELECT count(*) FROM webhooks") == 0


@pytest.mark.parametrize("url", BAD_URLS)
async def test_check_url_refuses_internal_addresses(url: str) -> None:
    with pytest.raises(RefusedAddress):
        await check_url(url, DEV)


async def test_production_wants_https_and_the_allow_list_never_opens_metadata() -> None:
    with pytest.raises(RefusedAddress, match="https://"):
        await check_url("http://93.184.216.34/hook", AddressPolicy(require_https=True))
    await check_url("https://93.184.216.34/hook", AddressPolicy(require_https=True))
    await check_url("https://[2606:4700::1111]/hook", AddressPolicy(require_https=True))
    # A name nobody can resolve yet passes registration: each call checks again.
    await check_url("https://partenaire.example.invalid/hook", AddressPolicy())
    everything = AddressPolicy(
        require_https=False, allowed_networks=parse_networks("0.0.0.0/0, ::/0")
    )
    await check_url("http://10.0.0.1/", everything)
    for metadata in ("http://169.254.169.254/", "http://[fd00:ec2::254]/"):
        with pytest.raises(RefusedAddress):
            await check_url(metadata, everything)


def test_public_means_the_public_internet() -> None:
    assert is_public(ipaddress.ip_address("93.184.216.34"))
    assert is_public(ipaddress.ip_address("2606:4700::1111"))
    assert is_public(ipaddress.ip_address("64:ff9b::5db8:d822"))  # NAT64 of a public one
    for address in ("127.0.0.1", "10.1.2.3", "169.254.1.1", "100.64.0.1", "224.0.0.251",
                    "0.0.0.0", "192.0.2.1", "::1", "fe80::1", "fec0::1", "fc00::1", "ff02::1",
                    "::ffff:10.0.0.1", "2001::1", "2002:c0a8:101::1"):  # fmt: skip
        assert not is_public(ipaddress.ip_address(address)), address


# ---------------------------------------------------------------------------------------
# At each call
# ---------------------------------------------------------------------------------------


async def test_a_name_resolving_to_the_loopback_is_refused_when_called(
    http_sink: HttpSink,
) -> None:
    port = http_sink.base_url.rsplit(":", 1)[1]
    async with WebhookChannel(timeout_s=5, policy=DEV) as hooks:
        for host in ("localhost", "127.0.0.1", "2130706433", "0x7f.1"):
            with pytest.raises(PermanentError, match=r"^webhook address refused$"):
                await hooks.send(f"http://{host}:{port}/hooks/partner", WEBHOOK_SECRET, EVENT)
    assert http_sink.received == []
    # The same receiver, once the operator opens the loopback, gets the event.
    async with WebhookChannel(timeout_s=5, policy=LOOPBACK) as hooks:
        await hooks.send(f"http://localhost:{port}/hooks/partner", WEBHOOK_SECRET, EVENT)
    assert [r.json() for r in http_sink.received] == [EVENT]


async def test_http_is_refused_when_production_wants_https(
    http_sink: HttpSink,
) -> None:
    strict = AddressPolicy(require_https=True, allowed_networks=LOOPBACK.allowed_networks)
    async with WebhookChannel(timeout_s=5, policy=strict) as hooks:
        with pytest.raises(PermanentError, match="address refused"):
            await hooks.send(http_sink.base_url + "/hooks/partner", WEBHOOK_SECRET, EVENT)
    assert http_sink.received == []


@pytest.mark.parametrize(
    ("worker_allow", "status", "reached"),
    [("", "dead", False), ("127.0.0.0/8, ::1/128", "sent", True)],
)
async def test_a_delivery_to_a_name_now_resolving_inside_is_refused_and_recorded(
    settings: Settings,
    engine: AsyncEngine,
    http_sink: HttpSink,
    worker_allow: str,
    status: str,
    reached: bool,
) -> None:
    """Registered while the name was acceptable (here: the loopback opened), called
    once it is not (the worker's settings): the worker resolves, refuses, records the
    delivery as a dead letter, and no request reaches the address."""
    port = http_sink.base_url.rsplit(":", 1)[1]
    registering = worker_settings(settings, "127.0.0.0/8, ::1/128")
    async with AsyncTestClient(create_app(registering)) as client:
        admin, centre_id = await admin_and_centre(client, engine)
        hook = await client.post(
            f"/api/v1/centres/{centre_id}/webhooks",
            json={
                "url": f"http://localhost:{port}/hooks/partner",
                "secret": WEBHOOK_SECRET,
                "topics": ["match.proposed"],
            },
            headers=admin.headers,
        )
        assert hook.status_code == 201, hook.text
        await publish_request(client)
    if reached:  # one address for the sink, which listens on IPv4
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE webhooks SET url = :u"), {"u": f"{http_sink.base_url}/hooks/partner"}
            )
    await relay_outbox(engine, settings)
    await run_worker(worker_settings(settings, worker_allow))
    async with engine.connect() as conn:
        delivery = (
            await conn.execute(
                text("SELECT status, last_error FROM deliveries WHERE channel = 'webhook'")
            )
        ).one()
    assert delivery.status == status, delivery
    if not reached:
        assert delivery.last_error == "webhook address refused"
        assert http_sink.received == []
    else:
        assert [r.path for r in http_sink.received] == ["/hooks/partner"]
