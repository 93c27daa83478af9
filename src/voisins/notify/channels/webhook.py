"""Signed webhooks to partner associations: the delivery channel that sends one event
to one URL (the endpoints themselves are stored by notify/webhook_endpoints.py; the
HMAC is notify/signing.py's).

Each POST carries ``X-Voisins-Timestamp`` (unix seconds), ``X-Voisins-Delivery`` (the
delivery id, for de-duplication on the receiver's side) and ``X-Voisins-Signature:
sha256=<hex>``, the HMAC-SHA256 of ``f"{timestamp}."`` followed by the exact body bytes.
Signing the timestamp lets receivers refuse replays of an old request
(``verify_signature`` does both checks).

Every call goes through ``safe_urls``: only to public addresses (or networks the
operator opened), vetted on the addresses the name resolves to at that moment, and
the connection made to the vetted address; redirects are never followed.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

import httpx
import msgspec

from voisins.notify import safe_urls
from voisins.notify.channels import http
from voisins.notify.channels.base import PermanentError
from voisins.notify.safe_urls import AddressPolicy, RefusedAddress, VettingTransport, check_scheme
from voisins.notify.signing import webhook_signature

TIMESTAMP_HEADER = "X-Voisins-Timestamp"
SIGNATURE_HEADER = "X-Voisins-Signature"
DELIVERY_HEADER = "X-Voisins-Delivery"
EVENT_HEADER = "X-Voisins-Event"


def verify_signature(
    secret: str,
    timestamp: str | int,
    body: bytes,
    signature: str,
    *,
    tolerance_s: int = 300,
    now: float | None = None,
) -> bool:
    """True when ``signature`` was made with ``secret`` over this timestamp and body,
    and the timestamp is within ``tolerance_s`` of ``now`` (either side)."""
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance_s:
        return False
    expected = webhook_signature(secret, sent_at, body)
    return hmac.compare_digest(expected.encode(), signature.strip().encode())


class WebhookChannel(http.HttpChannel):
    """POSTs JSON events; one HTTP client (connection pool) for all partners, which
    connects only to addresses ``policy`` lets through (by default: public ones, over
    https)."""

    def __init__(self, timeout_s: float = 10.0, *, policy: AddressPolicy | None = None):
        self._policy = policy if policy is not None else AddressPolicy()
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            headers={"User-Agent": http.USER_AGENT},
            transport=VettingTransport(self._policy),
            trust_env=False,
        )

    async def send(
        self, url: str, secret: str, event: dict[str, Any], *, delivery_id: int | None = None
    ) -> None:
        """Deliver ``event``; its ``delivery_id`` key (or the argument) names the delivery."""
        delivery = delivery_id if delivery_id is not None else event.get("delivery_id")
        if not isinstance(delivery, int):
            raise ValueError("a webhook needs an integer delivery id")
        body = msgspec.json.encode(event)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: webhook_signature(secret, timestamp, body),
            DELIVERY_HEADER: str(delivery),
        }
        kind = event.get("kind")
        if isinstance(kind, str):
            headers[EVENT_HEADER] = kind
        try:
            check_scheme(url, self._policy)
            await http.post("webhook", self._client, url, content=body, headers=headers)
        except RefusedAddress as exc:
            # Permanent: the same URL will be refused again. Neither the URL nor the
            # address goes into the delivery's last_error.
            malformed = str(exc) in (safe_urls.NOT_HTTP, safe_urls.NO_HOST)
            reason = "invalid URL" if malformed else "address refused"
            raise PermanentError(f"webhook {reason}") from None
