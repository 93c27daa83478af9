from __future__ import annotations

import pytest

from tests.notify.samples import message
from tests.support.http_sink import HttpSink
from voisins.notify.channels import PermanentError, SmsChannel, SmsConfig, TransientError
from voisins.typography import french_spaces

BASE = "https://voisins.example.org"


def config(sink: HttpSink, **overrides: object) -> SmsConfig:
    values: dict[str, object] = {
        "url": sink.base_url + "/sms",
        "token": "provider-token",
        "sender": "Voisins",
        "timeout_s": 5.0,
    }
    values.update(overrides)
    return SmsConfig(**values)  # type: ignore[arg-type]


async def test_provider_receives_json_and_bearer_token(http_sink: HttpSink) -> None:
    async with SmsChannel(config(http_sink), BASE) as sms:
        await sms.send(message("match.confirmed", "fr"), "+33 6 12 34 56 78")

    (request,) = http_sink.received
    assert request.path == "/sms"
    assert request.headers["Authorization"] == "Bearer provider-token"
    assert request.headers["Content-Type"] == "application/json"
    payload = request.json()
    assert set(payload) == {"to", "from", "text"}
    assert payload["to"] == "+33612345678"
    assert payload["from"] == "Voisins"
    typed = french_spaces("Voisins : la mise en relation pour « Courses pour Mme")
    assert payload["text"].startswith(typed)
    assert payload["text"].endswith(BASE + "/matches/12")


async def test_no_authorization_header_without_a_token(http_sink: HttpSink) -> None:
    async with SmsChannel(config(http_sink, token=None), BASE) as sms:
        await sms.send(message("reminder", "en"), "0612345678")
    (request,) = http_sink.received
    assert "Authorization" not in request.headers


def test_sms_is_off_by_default() -> None:
    assert not SmsConfig().enabled


async def test_sending_while_off_is_a_permanent_error() -> None:
    async with SmsChannel(SmsConfig(), BASE) as sms:
        with pytest.raises(PermanentError, match="off"):
            await sms.send(message("reminder"), "0612345678")


@pytest.mark.parametrize("phone", ["", "12", "06 12 34 56 78 90 12 34 56", "+33 6 12 ab 56"])
async def test_malformed_phone_is_permanent_and_not_sent(http_sink: HttpSink, phone: str) -> None:
    async with SmsChannel(config(http_sink), BASE) as sms:
        with pytest.raises(PermanentError) as caught:
            await sms.send(message("reminder"), phone)
    assert str(caught.value) == "invalid phone number"
    assert http_sink.received == []


@pytest.mark.parametrize(
    ("status", "error"), [(500, TransientError), (429, TransientError), (401, PermanentError)]
)
async def test_provider_errors_map_to_transient_or_permanent(
    http_sink: HttpSink, status: int, error: type[Exception]
) -> None:
    http_sink.responses["/sms"] = (status, {})
    async with SmsChannel(config(http_sink), BASE) as sms:
        with pytest.raises(error) as caught:
            await sms.send(message("reminder"), "0612345678")
    assert str(caught.value) == f"sms HTTP {status}"
