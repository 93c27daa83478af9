"""Random secrets handed to clients; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def keyed_digest(secret_key: str, value: str) -> str:
    """A stable pseudonym for a value (an e-mail, an IP) used as a Redis key, so that
    no personal data sits in Redis."""
    return hmac.new(secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]
