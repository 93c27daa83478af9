from __future__ import annotations

import json
import time

import pytest

from tests.support.http_sink import WEBHOOK_SECRET, HttpSink
from tests.support.ports import free_port
from voisins.notify.channels import PermanentError, TransientError, WebhookChannel
from voisins.notify.channels.webhook import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify_signature,
)
from voisins.notify.safe_urls import AddressPolicy, parse_networks
from voisins.notify.signing import webhook_signature

# The partner stands in on this machine: http and loopback let through on purpose
# (tests/test_issue14_webhooks.py proves both are refused otherwise).
LOCAL = AddressPolicy(require_https=False, allowed_networks=parse_networks("127.0.0.0/8"))
EVENT = {"delivery_id": 31, "kind": "match.confirmed", "match_id": 12, "centre_id": 3}


async def test_partner_receives_a_signed_event_it_can_verify(http_sink: HttpSink) -> None:
    before = int(time.time())
    async with WebhookChannel(timeout_s=5, policy=LOCAL) as hooks:
        await hooks.send(http_sink.base_url + "/hooks/partner", WEBHOOK_SECRET, EVENT)

    (request,) = http_sink.received
    assert request.json() == EVENT
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers[DELIVERY_HEADER] == "31"
    assert request.headers[EVENT_HEADER] == "match.confirmed"
    timestamp = int(request.headers[TIMESTAMP_HEADER])
    assert before <= timestamp <= int(time.time())
    signature = request.headers[SIGNATURE_HEADER]
    assert signature == webhook_signature(WEBHOOK_SECRET, timestamp, request.body)
    assert verify_signature(WEBHOOK_SECRET, str(timestamp), request.body, signature)


async def test_event_signed_with_the_wrong_secret_is_refused_by_the_partner(
    http_sink: HttpSink,
) -> None:
    async with WebhookChannel(timeout_s=5, policy=LOCAL) as hooks:
        with pytest.raises(PermanentError, match="401"):
            await hooks.send(http_sink.base_url + "/hooks/partner", "not-the-secret", EVENT)


async def test_delivery_id_can_be_given_apart_from_the_event(http_sink: HttpSink) -> None:
    async with WebhookChannel(timeout_s=5, policy=LOCAL) as hooks:
        await hooks.send(
            http_sink.base_url + "/hooks/partner", WEBHOOK_SECRET, {"kind": "x"}, delivery_id=5
        )
        with pytest.raises(ValueError):
            await hooks.send(http_sink.base_url + "/hooks/partner", WEBHOOK_SECRET, {})
    assert [r.headers[DELIVERY_HEADER] for r in http_sink.received] == ["5"]


def test_verify_signature_rejects_tampering_staleness_and_garbage() -> None:
    body = json.dumps(EVENT).encode()
    now = 1_700_000_000
    good = webhook_signature("s3cret", now, body)
    assert verify_signature("s3cret", now, body, good, now=now)
    assert verify_signature("s3cret", str(now), body, good, now=now + 300)
    assert not verify_signature("s3cret", now, body + b" ", good, now=now)
    assert not verify_signature("other", now, body, good, now=now)
    assert not verify_signature("s3cret", now + 1, body, good, now=now)
    # Replayed too late, or dated in the future beyond the tolerance.
    assert not verify_signature("s3cret", now, body, good, now=now + 301)
    assert not verify_signature("s3cret", now, body, good, now=now - 301)
    assert verify_signature("s3cret", now, body, good, now=now + 3000, tolerance_s=3600)
    assert not verify_signature("s3cret", "yesterday", body, good, now=now)
    assert not verify_signature("s3cret", now, body, good.removeprefix("sha256="), now=now)
    assert not verify_signature("s3cret", now, body, "", now=now)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, TransientError),
        (503, TransientError),
        (408, TransientError),
        (400, PermanentError),
        (404, PermanentError),
        (410, PermanentError),
        (302, PermanentError),
    ],
)
async def test_http_status_maps_to_transient_or_permanent(
    http_sink: HttpSink, status: int, error: type[Exception]
) -> None:
    headers = {"Location": "http://elsewhere.example/"} if status == 302 else {}
    http_sink.responses["/status"] = (status, headers)
    async with WebhookChannel(timeout_s=5, policy=LOCAL) as hooks:
        with pytest.raises(error, match=f"webhook HTTP {status}$"):
            await hooks.send(http_sink.base_url + "/status", WEBHOOK_SECRET, EVENT)
    assert len(http_sink.received) == 1  # the redirect was not followed


async def test_too_many_requests_is_transient_with_the_servers_delay(http_sink: HttpSink) -> None:
    http_sink.responses["/busy"] = (429, {"Retry-After": "7"})
    async with WebhookChannel(timeout_s=5, policy=LOCAL) as hooks:
        with pytest.raises(TransientError) as caught:
            await hooks.send(http_sink.base_url + "/busy", WEBHOOK_SECRET, EVENT)
    assert caught.value.retry_after_s == 7


async def test_nothing_listening_is_transient() -> None:
    url = f"http://127.0.0.1:{free_port()}/hooks/partner"
    async with WebhookChannel(timeout_s=5, policy=LOCAL) as hooks:
        with pytest.raises(TransientError) as caught:
            await hooks.send(url, WEBHOOK_SECRET, EVENT)
    assert "127.0.0.1" not in str(caught.value)
    assert caught.value.__cause__ is None


async def test_slow_partner_times_out_as_transient(http_sink: HttpSink) -> None:
    http_sink.delay_s["/slow"] = 1.0
    async with WebhookChannel(timeout_s=0.2, policy=LOCAL) as hooks:
        with pytest.raises(TransientError, match="Timeout"):
            await hooks.send(http_sink.base_url + "/slow", WEBHOOK_SECRET, EVENT)


async def test_unusable_url_is_permanent() -> None:
    async with WebhookChannel(timeout_s=5, policy=LOCAL) as hooks:
        with pytest.raises(PermanentError, match="invalid URL"):
            await hooks.send("ftp://partner.example/hook", WEBHOOK_SECRET, EVENT)
