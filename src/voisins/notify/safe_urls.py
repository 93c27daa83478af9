"""Where partner webhooks may point: public addresses only, checked when a URL is
registered and again, on the addresses it resolves to, each time it is called.

A webhook is a request the server makes to an address an administrator typed: left
open, it reaches what only the server can reach — the cloud's metadata service
(169.254.169.254), Redis on localhost:6379, the internal network. So a webhook's host
must resolve to public addresses only; the operator may open chosen networks
(``VOISINS_WEBHOOK_ALLOW_NETWORKS``, e.g. a partner on the same private network, or
the tests' local receivers). Metadata addresses stay closed whatever that says.

DNS rebinding — a name that resolves to a public address when it is checked, then to
127.0.0.1 when it is called — is why the check belongs in the connection itself:
``VettingBackend`` resolves the name once, checks every address, and connects to the
vetted one, while TLS still verifies the certificate for the name.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud metadata services, refused even inside an allowed network: they hand out the
# machine's credentials. (Each is also link-local, private or shared address space.)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# A host written as a number in any of the forms inet_aton accepts (2130706433,
# 0x7f.1, 0177.0.0.1, 127.1): the resolver would read it as an IPv4 address.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$", re.IGNORECASE)
RESOLVE_TIMEOUT_S = 5.0

# Why a URL is refused, in French (English in the pages' catalogues); administrators
# read them on the API and on the admin page.
NOT_HTTPS = "L'adresse du webhook doit commencer par https://."
NOT_HTTP = "L'adresse du webhook doit commencer par https:// (ou http:// hors production)."
NO_HOST = "L'adresse du webhook doit nommer un serveur."
NOT_PUBLIC = (
    "Cette adresse mène à une machine locale ou interne (boucle locale, réseau privé, "
    "service de métadonnées) : un webhook doit viser un serveur public."
)


class RefusedAddress(Exception):
    """A webhook URL (or the address its name resolves to) the server must not call.
    The message is one of the reasons above: it never repeats the URL."""


class NameNotFound(Exception):
    """The resolver found no address (yet): not a refusal, the name may be set up later
    or the resolver may be down for a moment."""


@dataclass(frozen=True)
class AddressPolicy:
    """What webhooks may reach: https only in production, public addresses, plus the
    networks the operator opened."""

    require_https: bool = True
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, settings: Any) -> AddressPolicy:
        return cls(
            require_https=settings.environment == "production",
            allowed_networks=parse_networks(settings.webhook_allow_networks),
        )

    def check_address(self, address: IPAddress) -> None:
        """Refuse ``address`` unless it is public or in an allowed network."""
        if not self.address_allowed(address):
            raise RefusedAddress(NOT_PUBLIC)

    def address_allowed(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address):
            address = address.ipv4_mapped or address
        if address in METADATA_ADDRESSES:
            return False
        if any(address in network for network in self.allowed_networks):
            return True
        return is_public(address)


def parse_networks(value: str) -> tuple[IPNetwork, ...]:
    """``"127.0.0.0/8, ::1/128"`` → networks; ValueError names a bad one."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False)
        for part in value.split(",")
        if part.strip()
    )


def is_public(address: IPAddress) -> bool:
    """True for an address of the public Internet: not loopback, private, link-local,
    shared (100.64/10), multicast, reserved, unspecified or documentation space; an
    IPv6 address carrying an IPv4 one (mapped, 6to4, NAT64) is judged by that one too."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if address.teredo is not None:
            return False
        if address in _NAT64:
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None and not is_public(address.sixtofour):
            return False
        if address.is_site_local:
            return False
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP literal stands for (IPv6, dotted IPv4, or
    the decimal, octal and hexadecimal forms the resolver also reads); None for a name.
    RefusedAddress for a numeric host the resolver would not read either."""
    host = host.rstrip(".")
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:  # a zone index (fe80::1%eth0) or garbage
            raise RefusedAddress(NOT_PUBLIC) from None
    if _NUMERIC_HOST.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise RefusedAddress(NOT_PUBLIC) from None
    return None


async def resolve(host: str, port: int, timeout_s: float = RESOLVE_TIMEOUT_S) -> list[IPAddress]:
    """Every address ``host`` resolves to; NameNotFound when none."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout_s
        )
    except (OSError, TimeoutError, UnicodeError):
        raise NameNotFound from None
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in found:
            found.append(address)
    if not found:
        raise NameNotFound
    return found


async def vetted_address(host: str, port: int, policy: AddressPolicy) -> IPAddress:
    """The one address to connect to for ``host``: every address it resolves to must
    pass ``policy`` (one bad answer among good ones is a rebinding attempt too)."""
    literal = literal_address(host)
    addresses = [literal] if literal is not None else await resolve(host, port)
    for address in addresses:
        policy.check_address(address)
    return addresses[0]


def _target(url: str, policy: AddressPolicy) -> tuple[str, int]:
    """The host and port of ``url`` once its form is acceptable."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise RefusedAddress(NO_HOST) from None
    schemes = ("https",) if policy.require_https else ("https", "http")
    if parsed.scheme not in schemes:
        raise RefusedAddress(NOT_HTTPS if policy.require_https else NOT_HTTP)
    if not parsed.host:
        raise RefusedAddress(NO_HOST)
    return parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80)


async def check_url(url: str, policy: AddressPolicy) -> None:
    """Refuse (RefusedAddress) a webhook URL that is not https where required, or whose
    host is or resolves to an address ``policy`` refuses. A name that does not resolve
    (yet) passes: each call checks again."""
    host, port = _target(url, policy)
    with contextlib.suppress(NameNotFound):
        await vetted_address(host, port, policy)


def check_scheme(url: str, policy: AddressPolicy) -> None:
    """The part of ``check_url`` that needs no resolver, for each call of a webhook."""
    _target(url, policy)


class VettingBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with one more step before each TCP connection:
    resolve, vet, then connect to that very address. The request keeps its URL, so the
    Host header, SNI and certificate check use the name, and the pool keys connections
    by name."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            address = await vetted_address(host, port, self._policy)
        except NameNotFound:
            # As httpx says it without us: a connection error, tried again later.
            raise httpcore.ConnectError("name not resolved") from None
        return await self._inner.connect_tcp(
            str(address), port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedAddress(NOT_PUBLIC)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class VettingTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over ``VettingBackend``. No proxy: a proxy would resolve the
    name itself, after our check."""

    def __init__(self, policy: AddressPolicy, limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        super().__init__(limits=limits, trust_env=False)
        # httpx builds its pool without a way to give it a network backend: the same
        # pool again, with ours (the pool httpx made holds no connection yet).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=VettingBackend(policy),
        )
