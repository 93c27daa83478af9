"""A real SMTP server for tests (aiosmtpd) and the mails it received, read as people
read them: who to, the subject, the text, the links."""

from __future__ import annotations

import contextlib
import email
import email.policy
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


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


def unused_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    handler = MailCollector()
    port = unused_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, server_hostname="mx.test")
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler)
    finally:
        controller.stop()


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
