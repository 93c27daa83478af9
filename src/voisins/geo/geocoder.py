"""Address search: text in, a WGS84 point out, and suggestions while a person types.

Three choices (``VOISINS_GEOCODER``): the self-hosted addok index (the default: no
address leaves the server), the Base Adresse Nationale's public API, or off.
An address is personal data: it is never logged here, never put in an exception
message, and the query string is cut from httpx's own request log line.
"""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

import anyio.to_thread
import httpx
import msgspec
import redis

from voisins.errors import DomainError, Invalid
from voisins.geo import addresses
from voisins.geo.addresses import Suggestion
from voisins.geo.coordinates import LonLat, validate_point
from voisins.settings import Settings

MIN_QUERY_CHARS = 3
MAX_QUERY_CHARS = 200  # the BAN API refuses longer queries with a 400


class GeocoderUnavailable(DomainError):
    """The address search service could not answer (network, timeout, 5xx, bad reply)."""

    status_code = 503
    code = "geocoder_unavailable"

    def __init__(
        self,
        detail: str = "address search is unavailable; try again or send longitude and latitude",
    ) -> None:
        super().__init__(detail)


class GeocodedAddress(msgspec.Struct, frozen=True):
    """The best match for an address: its normalised label, point and confidence."""

    label: str
    point: LonLat
    score: float
    citycode: str | None  # INSEE code of the commune

    @property
    def lon(self) -> float:
        return self.point.lon

    @property
    def lat(self) -> float:
        return self.point.lat


@runtime_checkable
class Geocoder(Protocol):
    async def geocode(self, query: str) -> GeocodedAddress | None:
        """The best match for ``query``, or None when nothing matches well enough."""
        ...


@runtime_checkable
class AddressSuggester(Protocol):
    async def suggest(self, query: str, limit: int = 5) -> list[Suggestion]:
        """Addresses that complete what was typed so far, best first."""
        ...


class DisabledGeocoder:
    """Used when address search is off: clients must send coordinates."""

    async def geocode(self, query: str) -> GeocodedAddress | None:
        raise Invalid.field(
            "address", "address search is not configured; send longitude and latitude"
        )

    async def suggest(self, query: str, limit: int = 5) -> list[Suggestion]:
        return []


class AddokGeocoder:
    """The self-hosted addok index (``voisins addresses import``) in its Redis database.

    addok is synchronous: each search runs in a worker thread (a few Redis round trips,
    a few milliseconds). An empty index finds nothing; Redis down is ``GeocoderUnavailable``.
    """

    def __init__(self, redis_url: str, min_score: float = 0.5, suggest_min_score: float = 0.4):
        self._url = redis_url
        self._min_score = min_score
        self._suggest_min_score = suggest_min_score

    async def _search(self, text: str, limit: int, autocomplete: bool) -> list[Suggestion]:
        try:
            return await anyio.to_thread.run_sync(
                lambda: addresses.search(self._url, text, limit=limit, autocomplete=autocomplete)
            )
        except redis.RedisError:
            raise GeocoderUnavailable() from None

    async def geocode(self, query: str) -> GeocodedAddress | None:
        text = _checked_query(query)
        found = await self._search(text, 1, autocomplete=False)
        if not found or found[0].score < self._min_score:
            # A person who typed a part of a word and pressed «Continuer»: try again as
            # the suggestions would.
            found = await self._search(text, 1, autocomplete=True)
        if not found or found[0].score < self._min_score:
            return None
        best = found[0]
        return GeocodedAddress(
            label=best.label,
            point=LonLat(lon=best.lon, lat=best.lat),
            score=best.score,
            citycode=best.citycode,
        )

    async def suggest(self, query: str, limit: int = 5) -> list[Suggestion]:
        text = _checked_query(query)
        found = await self._search(text, limit, autocomplete=True)
        return [s for s in found if s.score >= self._suggest_min_score]


# The BAN answer (https://adresse.data.gouv.fr/outils/api-doc/adresse): a GeoJSON
# FeatureCollection; only the fields read here are declared, the rest is ignored.
class _BanGeometry(msgspec.Struct):
    coordinates: tuple[float, float]


class _BanProperties(msgspec.Struct):
    label: str
    score: float
    citycode: str | None = None


class _BanFeature(msgspec.Struct):
    geometry: _BanGeometry
    properties: _BanProperties


class _BanResponse(msgspec.Struct):
    features: list[_BanFeature]


class _HideQueryStrings(logging.Filter):
    """httpx logs every request URL at INFO; the BAN query string holds an address."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(arg, httpx.URL) and arg.query for arg in record.args
        ):
            record.args = tuple(
                arg.copy_with(query=None) if isinstance(arg, httpx.URL) else arg
                for arg in record.args
            )
        return True


def _hide_query_strings_in_httpx_logs() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(existing, _HideQueryStrings) for existing in logger.filters):
        logger.addFilter(_HideQueryStrings())


def _checked_query(query: str) -> str:
    text = query.strip() if isinstance(query, str) else ""
    if not MIN_QUERY_CHARS <= len(text) <= MAX_QUERY_CHARS:
        raise Invalid.field(
            "address", f"must be {MIN_QUERY_CHARS} to {MAX_QUERY_CHARS} characters long"
        )
    if not text[0].isalnum():  # the BAN API refuses other first characters with a 400
        raise Invalid.field("address", "must start with a letter or a digit")
    return text


class BanGeocoder:
    """Adapter for the BAN search API (``GET {url}?q=...&limit=1``).

    Returns None when nothing matches or the best score is below ``min_score``;
    raises ``GeocoderUnavailable`` on network errors, timeouts, non-200 answers and
    answers that are not the expected GeoJSON. A ``client`` passed in stays the
    caller's to close; otherwise ``aclose`` closes the one created here.
    """

    def __init__(
        self,
        url: str,
        timeout_s: float,
        client: httpx.AsyncClient | None = None,
        min_score: float = 0.5,
    ) -> None:
        if httpx.URL(url).scheme not in ("http", "https"):
            raise ValueError("the geocoder URL must be an http(s) URL")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self._url = url
        self._timeout = httpx.Timeout(timeout_s)
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=self._timeout)
        self._min_score = min_score
        _hide_query_strings_in_httpx_logs()

    async def _features(self, params: dict[str, str]) -> list[_BanFeature]:
        # "from None" everywhere: httpx messages and tracebacks may quote the URL.
        try:
            response = await self._client.get(self._url, params=params, timeout=self._timeout)
        except httpx.HTTPError:
            raise GeocoderUnavailable() from None
        if response.status_code != 200:
            raise GeocoderUnavailable()
        try:
            answer = msgspec.json.decode(response.content, type=_BanResponse)
        except msgspec.DecodeError:
            raise GeocoderUnavailable() from None
        return answer.features

    async def suggest(self, query: str, limit: int = 5) -> list[Suggestion]:
        text = _checked_query(query)
        features = await self._features({"q": text, "limit": str(limit), "autocomplete": "1"})
        found = []
        for feature in features:
            lon, lat = feature.geometry.coordinates
            try:
                validate_point(lon, lat)
            except Invalid:
                continue
            found.append(Suggestion(label=feature.properties.label, lon=lon, lat=lat,
                                    score=feature.properties.score,
                                    citycode=feature.properties.citycode))  # fmt: skip
        return found

    async def geocode(self, query: str) -> GeocodedAddress | None:
        text = _checked_query(query)
        features = await self._features({"q": text, "limit": "1"})
        if not features:
            return None
        best = features[0]
        if best.properties.score < self._min_score:
            return None
        lon, lat = best.geometry.coordinates
        try:
            point = validate_point(lon, lat)
        except Invalid:
            return None  # not a usable French position
        return GeocodedAddress(
            label=best.properties.label,
            point=point,
            score=best.properties.score,
            citycode=best.properties.citycode,
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


def geocoder_from_settings(settings: Settings) -> Geocoder:
    """addok (the default), the BAN API at ``settings.geocoder_url``, or off."""
    chosen = settings.address_search
    if chosen == "addok":
        return AddokGeocoder(settings.addok_redis_dsn)
    if chosen == "ban" and settings.geocoder_url:
        return BanGeocoder(settings.geocoder_url, settings.geocoder_timeout_s)
    return DisabledGeocoder()
