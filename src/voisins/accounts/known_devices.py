"""Devices that already logged in to an account: the owner's way past a lock that
someone else's wrong passwords put on the account.

A full sign-in (password, and the second factor for staff) leaves on the device a
signed token for that account. While it is valid, the device's password attempts are
not counted against the account (accounts/ratelimit.py), only against its network: an
attacker guessing the password from elsewhere cannot lock the owner out of their own
phone or their centre's computer. The token only spares that count; it opens nothing.

A token is ``<account tag>.<expiry>.<signature>``: the tag is a keyed pseudonym of the
address (a shared computer keeps one token per account it knows), the signature an
HMAC of the address and the expiry with the service's secret. Nothing is stored on the
server; the device keeps a few tokens at most.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from voisins.accounts.tokens import keyed_digest

MAX_TOKENS = 5
_SEPARATOR = "~"


def _tag(secret_key: str, email: str) -> str:
    return keyed_digest(secret_key, f"known-device-tag:{email.lower()}")[:12]


def _signature(secret_key: str, email: str, expiry: int) -> str:
    message = f"known-device:{email.lower()}:{expiry}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def _tokens(value: str | None) -> list[str]:
    return [t for t in (value or "").split(_SEPARATOR) if t.count(".") == 2][:MAX_TOKENS]


def _is_moment(expiry: str) -> bool:
    # The cookie is the client's: "²" passes isdigit() and fails int(), and int() refuses
    # over 4,300 digits; either made every login from that browser a 500.
    return expiry.isascii() and expiry.isdecimal() and len(expiry) <= 12


def _expiry(token: str) -> int:
    _tag_part, expiry, _sig = token.split(".")
    return int(expiry) if _is_moment(expiry) else 0


def knows(secret_key: str, value: str | None, email: str, *, now: float | None = None) -> bool:
    """Whether the device's tokens (the cookie's value) hold a valid one for this address."""
    moment = time.time() if now is None else now
    tag = _tag(secret_key, email)
    for token in _tokens(value):
        token_tag, expiry, signature = token.split(".")
        if token_tag != tag or not _is_moment(expiry) or int(expiry) < moment:
            continue
        if hmac.compare_digest(signature, _signature(secret_key, email, int(expiry))):
            return True
    return False


def remember(
    secret_key: str, value: str | None, email: str, ttl_s: int, *, now: float | None = None
) -> str:
    """The device's tokens with a fresh one for this address: its older token and
    expired ones dropped, the most recent few kept."""
    moment = time.time() if now is None else now
    tag = _tag(secret_key, email)
    expiry = int(moment) + ttl_s
    fresh = f"{tag}.{expiry}.{_signature(secret_key, email, expiry)}"
    others = [t for t in _tokens(value) if not t.startswith(tag + ".") and _expiry(t) >= moment]
    return _SEPARATOR.join([fresh, *others][:MAX_TOKENS])
