"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106), and the
check that a new password is not one that attackers try first."""

from __future__ import annotations

import re
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from voisins.errors import Invalid

_hasher = PasswordHasher()
# Verifying against this keeps the time of "unknown e-mail" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("voisins-timing-equaliser")

# zxcvbn's score 3: over 10^10 guesses, which its authors call safe against an offline
# attack on a slow hash (argon2id here) — what matters once a database leaks. Lower
# scores are passwords found in its frequency lists (built from breached-password
# corpora: "motdepasse", "azertyuiop", "soleil123" are there), keyboard walks, repeats,
# dates, or a dictionary word with a few digits.
MIN_SCORE = 3
# zxcvbn's own bound (its matching grows with the square of the length): a longer
# password is judged by its beginning, and 72 characters that are easy to guess are
# not made safe by what follows them.
_JUDGED_LENGTH = 72
# The reason in the error's fields; the pages show their own French text for it.
TOO_EASY = "too easy to guess: a common or breached password, or a simple pattern"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def is_too_easy(password: str, personal: Iterable[str | None] = ()) -> bool:
    """Whether ``password`` is among what is guessed first. ``personal``: the account's
    own words (its e-mail, its name), which an attacker who targets it tries too."""
    words = [part for value in personal if value for part in _words_of(value)]
    return int(zxcvbn(password[:_JUDGED_LENGTH], user_inputs=words)["score"]) < MIN_SCORE


def require_strong(password: str, *, field: str, personal: Iterable[str | None] = ()) -> None:
    """Refuse a new password that is too easy to guess (422 naming ``field``)."""
    if is_too_easy(password, personal):
        raise Invalid.field(field, TOO_EASY)


def _words_of(value: str) -> list[str]:
    # "camille.dupont@example.org" → the whole address, "camille.dupont", "camille", "dupont".
    local = value.lower().split("@")[0]
    return [value.lower(), local, *(w for w in re.split(r"[\s._+-]+", local) if w)]
