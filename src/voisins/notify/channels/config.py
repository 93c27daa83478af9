"""Typed configuration of the channels, meant to be embedded in ``Settings``.

The defaults work on a developer's machine: a plain SMTP relay on localhost
(``python -m aiosmtpd -n`` or MailHog) and SMS off.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

Port = Annotated[int, Meta(ge=1, le=65535)]
Timeout = Annotated[float, Meta(gt=0, le=120)]


class SmtpConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where and how e-mail leaves."""

    host: str = "127.0.0.1"
    port: Port = 25
    username: str | None = None
    password: str | None = None
    # STARTTLS is required when true; false sends in clear (a local relay only).
    starttls: bool = False
    # Implicit TLS from the first byte (port 465); exclusive with starttls.
    use_tls: bool = False
    validate_certs: bool = True
    # "From" of every mail, e.g. "Voisins <ne-pas-repondre@voisins.example.org>".
    sender: str = "Voisins <no-reply@localhost>"
    timeout_s: Timeout = 10.0
    # Name given in EHLO; None lets the library ask the system (slow on some hosts).
    helo_name: str | None = None

    def __post_init__(self) -> None:
        if self.starttls and self.use_tls:
            raise ValueError("starttls and use_tls exclude each other")


class SmsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An HTTP SMS provider adapter; an empty ``url`` means SMS is off."""

    url: str = ""
    token: str | None = None
    # Alphanumeric sender ids are limited to 11 characters, numbers to 15 digits.
    sender: Annotated[str, Meta(min_length=1, max_length=15)] = "Voisins"
    timeout_s: Timeout = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.url)
