"""Signed webhooks to partner associations.

Each POST carries ``X-Voisins-Timestamp`` (unix seconds), ``X-Voisins-Delivery`` (the
delivery id, for de-duplication on the receiver's side) and ``X-Voisins-Signature:
sha256=<hex>``, the HMAC-SHA256 of ``f"{timestamp}."`` followed by the exact body bytes.
Signing the timestamp lets receivers refuse replays of an old request
(``verify_signature`` does both checks).
"""

from __future__ import annotations

import hmac
import time
from types import TracebackType
from typing import Any

import httpx
import msgspec

from voisins.notify.channels import http
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


class WebhookChannel:
    """POSTs JSON events; one HTTP client (connection pool) for all partners."""

    def __init__(self, timeout_s: float = 10.0, *, client: httpx.AsyncClient | None = None):
        self._own_client = client is None
        self._client = client if client is not None else http.new_client(timeout_s)

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def __aenter__(self) -> WebhookChannel:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

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
        await http.post("webhook", self._client, url, content=body, headers=headers)
