"""The BAN adapter against a real local HTTP server that speaks the BAN format."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.support.ban import BanStub, ban_answer
from voisins.errors import DomainError, Invalid
from voisins.geo.coordinates import LonLat
from voisins.geo.geocoder import (
    BanGeocoder,
    DisabledGeocoder,
    GeocodedAddress,
    GeocoderUnavailable,
    geocoder_from_settings,
)
from voisins.settings import load_settings

ADDRESS = "18 rue Léon 75018 Paris"


async def geocode(
    url: str, query: str = ADDRESS, *, timeout_s: float = 2.0, min_score: float = 0.5
) -> GeocodedAddress | None:
    geocoder = BanGeocoder(url, timeout_s, min_score=min_score)
    try:
        return await geocoder.geocode(query)
    finally:
        await geocoder.aclose()


async def test_a_found_address_gives_label_point_score_and_citycode(ban: BanStub) -> None:
    found = await geocode(ban.url)
    assert found == GeocodedAddress(
        label="18 Rue Léon 75018 Paris",
        point=LonLat(2.353609, 48.889147),
        score=0.97,
        citycode="75118",
    )
    assert (found.lon, found.lat) == (2.353609, 48.889147)
    assert ban.queries == [{"path": ["/search/"], "q": [ADDRESS], "limit": ["1"]}]


async def test_surrounding_spaces_are_not_sent(ban: BanStub) -> None:
    await geocode(ban.url, f"  {ADDRESS}\n")
    assert ban.queries[0]["q"] == [ADDRESS]


async def test_a_score_below_the_minimum_means_not_found(ban: BanStub) -> None:
    ban.body = ban_answer(score=0.42)
    assert await geocode(ban.url) is None
    assert await geocode(ban.url, min_score=0.4) is not None


async def test_no_feature_means_not_found(ban: BanStub) -> None:
    ban.body = ban_answer(found=False)
    assert await geocode(ban.url) is None


async def test_a_point_outside_france_means_not_found(ban: BanStub) -> None:
    ban.body = ban_answer(lon=13.405, lat=52.52)
    assert await geocode(ban.url) is None


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_server_errors_make_the_geocoder_unavailable(ban: BanStub, status: int) -> None:
    ban.status = status
    ban.body = b'{"code": 500, "message": "oops"}'
    with pytest.raises(GeocoderUnavailable) as exc:
        await geocode(ban.url)
    assert isinstance(exc.value, DomainError)
    assert (exc.value.status_code, exc.value.code) == (503, "geocoder_unavailable")


@pytest.mark.parametrize("body", [b"<html>maintenance</html>", b'{"features": [{"type": 1}]}'])
async def test_an_answer_not_in_the_ban_format_makes_it_unavailable(
    ban: BanStub, body: bytes
) -> None:
    ban.body = body
    with pytest.raises(GeocoderUnavailable):
        await geocode(ban.url)


async def test_a_slow_server_times_out_as_unavailable(ban: BanStub) -> None:
    ban.delay_s = 5.0
    with pytest.raises(GeocoderUnavailable) as exc:
        await geocode(ban.url, timeout_s=0.2)
    assert ban.queries  # the request did reach the server
    # The address must not travel in the exception (messages and causes may be logged).
    assert ADDRESS not in str(exc.value) and exc.value.__cause__ is None
    assert exc.value.__suppress_context__


async def test_a_refused_connection_makes_it_unavailable(free_port: int) -> None:
    with pytest.raises(GeocoderUnavailable):
        await geocode(f"http://127.0.0.1:{free_port}/search/")


@pytest.mark.parametrize("query", ["", "  ab  ", "x" * 201, "-- 18 rue Léon", "?"])
async def test_bad_queries_are_invalid_and_never_sent(ban: BanStub, query: str) -> None:
    with pytest.raises(Invalid) as exc:
        await geocode(ban.url, query)
    assert list(exc.value.fields) == ["address"]
    assert ban.queries == []


async def test_the_address_never_reaches_the_logs(
    ban: BanStub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # The app's logging set-up quiets httpx (voisins.logs): the test turns it back up,
    # whichever test ran before, so that a leak would show.
    caplog.set_level(logging.DEBUG, logger="httpx")
    await geocode(ban.url)
    assert "HTTP Request: GET" in caplog.text  # httpx did log the request...
    assert "L%C3%A9on" not in caplog.text and "Léon" not in caplog.text  # ...without the query
    assert "q=" not in caplog.text


async def test_a_client_passed_in_is_used_and_left_open(ban: BanStub) -> None:
    async with httpx.AsyncClient() as client:
        geocoder = BanGeocoder(ban.url, 2.0, client=client)
        assert await geocoder.geocode(ADDRESS) is not None
        await geocoder.aclose()
        assert not client.is_closed


def test_the_url_must_be_http() -> None:
    with pytest.raises(ValueError):
        BanGeocoder("ftp://example.org/search/", 2.0)


async def test_the_disabled_geocoder_asks_for_coordinates() -> None:
    with pytest.raises(Invalid) as exc:
        await DisabledGeocoder().geocode(ADDRESS)
    assert exc.value.fields == {
        "address": "address search is not configured; send longitude and latitude"
    }


async def test_settings_choose_the_geocoder(ban: BanStub) -> None:
    # Off only when asked: the default is the self-hosted addok (tests/geo/test_addresses.py).
    assert isinstance(geocoder_from_settings(load_settings({}, geocoder="off")), DisabledGeocoder)
    geocoder = geocoder_from_settings(
        load_settings({}, geocoder_url=ban.url, geocoder_timeout_s=0.2)
    )
    assert isinstance(geocoder, BanGeocoder)
    ban.delay_s = 5.0  # the configured timeout is the one used
    with pytest.raises(GeocoderUnavailable):
        await geocoder.geocode(ADDRESS)
    await geocoder.aclose()


async def test_the_ban_api_suggests_with_autocomplete(ban: BanStub) -> None:
    geocoder = BanGeocoder(ban.url, 2.0)
    found = await geocoder.suggest("18 rue leo", 4)
    assert [(s.label, s.lon, s.lat) for s in found] == [
        ("18 Rue Léon 75018 Paris", 2.353609, 48.889147)
    ]
    assert ban.queries[-1]["q"] == ["18 rue leo"]
    assert ban.queries[-1]["autocomplete"] == ["1"] and ban.queries[-1]["limit"] == ["4"]
    ban.body = ban_answer(lon=-0.1276, lat=51.5072)  # London: of no use here
    assert await geocoder.suggest("18 rue leo") == []
    ban.status = 502
    with pytest.raises(GeocoderUnavailable):
        await geocoder.suggest("18 rue leo")
    await geocoder.aclose()


async def test_the_disabled_geocoder_suggests_nothing() -> None:
    assert await DisabledGeocoder().suggest("18 rue leon") == []
