"""A real SMTP server for tests (aiosmtpd), the settings that send mail to it
(``with_smtp``; ``outcome_settings``, text messages too), and the mails it received,
read as people read them: who to, the subject, the text, the links.
``smtp_on_free_port`` serves a handler of one's own (``SlowMailbox`` takes its time)."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from voisins.settings import Settings, load_settings

from .ports import free_port


class MailCollector:
    """aiosmtpd handler: keeps every accepted envelope; refuses the recipients in
    ``refuse`` with the reply given there."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.refuse: dict[str, str] = {}

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.refuse.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: MailCollector


# The public address the mails' links start with, in the tests that read them.
BASE = "https://voisins.test"


def with_smtp(settings: Settings, port: int, **overrides: Any) -> Settings:
    """``settings`` sending mail to the SMTP server on ``port`` (and ``overrides``)."""
    return load_settings(
        environment="test",
        database_url=settings.database_url,
        redis_url=overrides.pop("redis_url", settings.redis_url),
        log_level="WARNING",
        smtp_host="127.0.0.1",
        smtp_port=port,
        **overrides,
    )


def outcome_settings(settings: Settings, smtp_port: int, sms_url: str) -> Settings:
    """``settings`` sending mail to ``smtp_port``, text messages to ``sms_url``, and
    linking to pages under ``BASE``."""
    return with_smtp(settings, smtp_port, sms_url=sms_url, public_base_url=BASE)


class SlowMailbox:
    """Takes ``delay_s`` to accept each message and keeps every Message-ID received."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.message_ids: list[str] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(self.delay_s)
        message = message_from_bytes(envelope.original_content or b"")
        self.message_ids.append(str(message["Message-ID"]))
        return "250 OK"


@contextlib.contextmanager
def smtp_on_free_port(handler: Any, **options: Any) -> Iterator[int]:
    """An aiosmtpd server handing what it receives to ``handler``; yields its port."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    handler = MailCollector()
    with smtp_on_free_port(handler, server_hostname="mx.test") as port:
        yield SmtpServer("127.0.0.1", port, handler)


@dataclass
class Mail:
    to: str
    subject: str
    text: str
    html: str

    def links(self, base_url: str) -> list[str]:
        """Every address under ``base_url`` the mail links to, as paths, in the text
        and in the HTML (which must agree), unsubscribe link included."""
        found = re.findall(re.escape(base_url) + r"(/[^\s\"<>]*)", self.text)
        in_html = re.findall(re.escape(base_url) + r"(/[^\s\"<>]*)", self.html)
        return sorted(set(found) | {path.replace("&amp;", "&") for path in in_html})

    def page_links(self, base_url: str = BASE) -> list[str]:
        """The app's pages the mail's text links to, as paths (the unsubscribe link
        aside)."""
        found = re.findall(re.escape(base_url) + r"(/[^\s\"<>]*)", self.text)
        return sorted({path for path in found if not path.startswith("/unsubscribe/")})


def received(smtp: SmtpServer) -> list[Mail]:
    read = []
    for envelope in smtp.handler.envelopes:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        plain = parsed.get_body(preferencelist=("plain",))
        rich = parsed.get_body(preferencelist=("html",))
        assert plain is not None and rich is not None
        (to,) = envelope.rcpt_tos
        read.append(Mail(to, str(parsed["Subject"]), plain.get_content(), rich.get_content()))
    return read
