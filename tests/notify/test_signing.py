from __future__ import annotations

import re

import pytest

from voisins.notify.signing import read_unsubscribe_token, unsubscribe_token, webhook_signature

SECRET = "a-secret-key-of-some-length"


def test_unsubscribe_token_round_trips_and_is_url_safe() -> None:
    token = unsubscribe_token(SECRET, 4242)
    assert re.fullmatch(r"[A-Za-z0-9._-]+", token)
    assert read_unsubscribe_token(SECRET, token) == 4242


def test_unsubscribe_token_for_another_user_cannot_be_forged() -> None:
    token = unsubscribe_token(SECRET, 41)
    _, mac = token.split(".")
    with pytest.raises(ValueError):
        read_unsubscribe_token(SECRET, f"42.{mac}")


def test_unsubscribe_token_signed_with_another_key_is_refused() -> None:
    token = unsubscribe_token("another-secret-key-here", 42)
    with pytest.raises(ValueError):
        read_unsubscribe_token(SECRET, token)


@pytest.mark.parametrize(
    "token",
    ["", "42", "42.", "abc.def", "-1." + "A" * 43, "042." + "A" * 43, "42." + "A" * 42 + "="],
)
def test_malformed_unsubscribe_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValueError):
        read_unsubscribe_token(SECRET, token)


def test_unsubscribe_token_needs_a_positive_user_id() -> None:
    with pytest.raises(ValueError):
        unsubscribe_token(SECRET, 0)


def test_webhook_signature_covers_timestamp_and_body() -> None:
    base = webhook_signature("s", 1700000000, b"{}")
    assert base.startswith("sha256=") and len(base) == len("sha256=") + 64
    assert webhook_signature("s", 1700000001, b"{}") != base
    assert webhook_signature("s", 1700000000, b"{ }") != base
    assert webhook_signature("t", 1700000000, b"{}") != base
