"""HMAC-SHA256 signatures the notifications hand out: unsubscribe links in mails
and the signature header of partner webhooks — the arithmetic only, no I/O.

Each use has its own label inside the signed bytes, so a value signed for one purpose
can never be replayed as another. Its neighbours: channels/webhook.py sends the signed
POST (and lets a receiver check it), webhook_endpoints.py keeps the partners' URLs and
secrets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

_UNSUBSCRIBE = b"voisins.unsubscribe.v1:"
_TOKEN = re.compile(r"^([1-9][0-9]{0,18})\.([A-Za-z0-9_-]{43})$")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unsubscribe_mac(secret_key: str, user_id: int) -> bytes:
    return hmac.new(
        secret_key.encode(), _UNSUBSCRIBE + str(user_id).encode(), hashlib.sha256
    ).digest()


def unsubscribe_token(secret_key: str, user_id: int) -> str:
    """A URL-safe token naming ``user_id``; it does not expire, as RFC 8058 asks of
    one-click unsubscribe links."""
    if user_id <= 0:
        raise ValueError("user ids are positive")
    return f"{user_id}.{_b64(_unsubscribe_mac(secret_key, user_id))}"


def read_unsubscribe_token(secret_key: str, token: str) -> int:
    """The user id inside ``token``; ``ValueError`` when it was not signed with ``secret_key``."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise ValueError("malformed unsubscribe token")
    user_id = int(match.group(1))
    expected = _b64(_unsubscribe_mac(secret_key, user_id))
    if not hmac.compare_digest(expected, match.group(2)):
        raise ValueError("forged unsubscribe token")
    return user_id


def webhook_signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``f"{timestamp}."`` followed by the raw body."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()
