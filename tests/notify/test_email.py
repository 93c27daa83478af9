from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage

import msgspec
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.notify.samples import LONG, message
from tests.support.mail import MailCollector, SmtpServer, smtp_on_free_port
from tests.support.ports import free_port
from voisins.notify.channels import (
    KINDS,
    TRANSACTIONAL_KINDS,
    EmailChannel,
    Message,
    PermanentError,
    SmtpConfig,
    TransientError,
)
from voisins.notify.channels.render import render_email
from voisins.notify.signing import read_unsubscribe_token

BASE = "https://voisins.example.org"
SECRET = "test-secret-key-0123456789"
TO = "jeanne@example.org"


def channel(server: SmtpServer | None = None, *, port: int | None = None) -> EmailChannel:
    config = SmtpConfig(
        host="127.0.0.1",
        port=port if port is not None else server.port if server else 25,
        sender="Voisins <ne-pas-repondre@voisins.example.org>",
        timeout_s=5,
        helo_name="worker.test",
    )
    return EmailChannel(config, BASE, SECRET)


def received(server: SmtpServer) -> EmailMessage:
    (envelope,) = server.handler.envelopes
    assert isinstance(envelope.content, bytes)
    parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(mail: EmailMessage) -> tuple[str, str]:
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


async def test_mail_reaches_the_server_with_both_parts_and_unsubscribe_headers(
    smtp_server: SmtpServer,
) -> None:
    await channel(smtp_server).send(message("match.proposed", "fr"), TO)

    (envelope,) = smtp_server.handler.envelopes
    assert envelope.mail_from == "ne-pas-repondre@voisins.example.org"
    assert envelope.rcpt_tos == [TO]
    mail = received(smtp_server)
    assert mail["Subject"] == "Nouvelle proposition près de chez vous"
    assert mail["To"] == TO
    assert mail["Message-ID"] == "<delivery-7@voisins>"
    assert mail["Content-Language"] == "fr"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    header = str(mail["List-Unsubscribe"])
    assert header.startswith(f"<{BASE}/unsubscribe/") and header.endswith(">")
    link = header[1:-1]
    assert read_unsubscribe_token(SECRET, link.rsplit("/", 1)[1]) == 42

    text, html = parts(mail)
    assert "Une personne près de chez vous a besoin d'aide." in text
    assert f"{BASE}/matches/12" in text and f'href="{BASE}/matches/12"' in html
    assert link in text and f'href="{link}"' in html


async def test_the_same_delivery_sent_twice_keeps_its_message_id(
    smtp_server: SmtpServer,
) -> None:
    mailer = channel(smtp_server)
    await mailer.send(message("reminder", "en"), TO)
    await mailer.send(message("reminder", "en"), TO)
    ids = [
        email.message_from_bytes(e.content, policy=email.policy.default)["Message-ID"]
        for e in smtp_server.handler.envelopes
        if isinstance(e.content, bytes)
    ]
    assert ids == ["<delivery-7@voisins>", "<delivery-7@voisins>"]


async def test_password_reset_mail_has_no_unsubscribe_link(smtp_server: SmtpServer) -> None:
    await channel(smtp_server).send(message("password.reset_requested", "en"), TO)
    mail = received(smtp_server)
    assert mail["Subject"] == "Choose a new password"
    assert mail["List-Unsubscribe"] is None
    text, _ = parts(mail)
    assert f"{BASE}/password/reset/abcdef" in text
    assert "/unsubscribe/" not in text


async def test_recipient_refused_with_550_is_permanent_and_names_no_address(
    smtp_server: SmtpServer,
) -> None:
    smtp_server.handler.refuse[TO] = f"550 5.1.1 <{TO}>: no such user"
    with pytest.raises(PermanentError) as caught:
        await channel(smtp_server).send(message("match.proposed"), TO)
    assert "550" in str(caught.value)
    assert "jeanne" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert smtp_server.handler.envelopes == []


async def test_recipient_deferred_with_450_is_transient(smtp_server: SmtpServer) -> None:
    smtp_server.handler.refuse[TO] = "450 4.2.1 mailbox busy, try later"
    with pytest.raises(TransientError, match="450"):
        await channel(smtp_server).send(message("match.proposed"), TO)


async def test_server_down_is_transient() -> None:
    with pytest.raises(TransientError) as caught:
        await channel(port=free_port()).send(message("match.proposed"), TO)
    assert "127.0.0.1" not in str(caught.value)


@pytest.mark.parametrize("address", ["not-an-address", "jeanne@", "@example.org", "a@b@c.org"])
async def test_malformed_address_is_permanent_before_any_connection(
    smtp_server: SmtpServer, address: str
) -> None:
    with pytest.raises(PermanentError, match="invalid recipient address"):
        await channel(smtp_server).send(message("match.proposed"), address)
    assert smtp_server.handler.envelopes == []


async def test_starttls_required_but_not_offered_is_transient_and_nothing_goes_in_clear(
    smtp_server: SmtpServer,
) -> None:
    config = SmtpConfig(host="127.0.0.1", port=smtp_server.port, starttls=True, timeout_s=5)
    mailer = EmailChannel(config, BASE, SECRET)
    with pytest.raises(TransientError):
        await mailer.send(message("match.proposed"), TO)
    assert smtp_server.handler.envelopes == []


async def test_internationalised_domain_is_delivered_in_punycode(
    smtp_server: SmtpServer,
) -> None:
    await channel(smtp_server).send(message("match.proposed"), "zoe@exämple.org")
    (envelope,) = smtp_server.handler.envelopes
    assert envelope.rcpt_tos == ["zoe@xn--exmple-cua.org"]


class PeerMailbox(MailCollector):
    """Also notes the client end of the connection each message came on; may close
    each connection after one message, or refuse with 421 (closing) the messages of a
    connection beyond ``per_connection``."""

    def __init__(self) -> None:
        super().__init__()
        self.peers: list[object] = []
        self.mail_commands = 0
        self.drop_after_each = False
        self.per_connection: int | None = None

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.mail_commands += 1
        limit = self.per_connection
        if limit is not None and self.peers.count(session.peer) >= limit:
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.7.0 too many messages in this session"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.peers.append(session.peer)
        if self.drop_after_each:
            # Closed right after the 250 reply is written, as a server with an idle
            # timeout may do between two messages.
            asyncio.get_running_loop().call_soon(server.transport.close)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def peer_smtp() -> Iterator[tuple[SmtpServer, PeerMailbox]]:
    handler = PeerMailbox()
    with smtp_on_free_port(handler) as port:
        yield SmtpServer("127.0.0.1", port, handler), handler


def numbered(delivery_id: int) -> Message:
    return msgspec.structs.replace(message("match.proposed"), delivery_id=delivery_id)


def message_ids(handler: MailCollector) -> list[str]:
    return [
        str(email.message_from_bytes(e.content, policy=email.policy.default)["Message-ID"])
        for e in handler.envelopes
        if isinstance(e.content, bytes)
    ]


async def test_a_session_sends_every_message_over_one_connection(
    peer_smtp: tuple[SmtpServer, PeerMailbox],
) -> None:
    server, mailbox = peer_smtp
    async with channel(server).session() as session:
        for delivery_id in range(1, 6):
            await session.send(numbered(delivery_id), f"v{delivery_id}@example.org")
    assert [e.rcpt_tos for e in mailbox.envelopes] == [[f"v{i}@example.org"] for i in range(1, 6)]
    assert len(set(mailbox.peers)) == 1
    assert session.connections == 1


async def test_a_refused_recipient_fails_its_message_only_and_the_session_goes_on(
    peer_smtp: tuple[SmtpServer, PeerMailbox],
) -> None:
    server, mailbox = peer_smtp
    mailbox.refuse["v2@example.org"] = "550 5.1.1 no such user"
    mailbox.refuse["v3@example.org"] = "450 4.2.1 mailbox busy"
    outcomes: list[str] = []
    async with channel(server).session() as session:
        for delivery_id in range(1, 5):
            try:
                await session.send(numbered(delivery_id), f"v{delivery_id}@example.org")
                outcomes.append("sent")
            except (PermanentError, TransientError) as exc:
                outcomes.append(f"{type(exc).__name__} {exc}")
    assert outcomes == [
        "sent",
        "PermanentError SMTP recipient refused 550",
        "TransientError SMTP recipient refused 450",
        "sent",
    ]
    assert message_ids(mailbox) == ["<delivery-1@voisins>", "<delivery-4@voisins>"]
    assert len(set(mailbox.peers)) == 1


async def test_a_connection_the_server_drops_is_replaced_and_nothing_is_lost(
    peer_smtp: tuple[SmtpServer, PeerMailbox],
) -> None:
    server, mailbox = peer_smtp
    mailbox.drop_after_each = True
    async with channel(server).session() as session:
        for delivery_id in range(1, 5):
            await session.send(numbered(delivery_id), f"v{delivery_id}@example.org")
    assert message_ids(mailbox) == [f"<delivery-{i}@voisins>" for i in range(1, 5)]
    assert len(set(mailbox.peers)) == 4


async def test_a_421_on_a_used_connection_sends_the_message_again_on_a_new_one(
    peer_smtp: tuple[SmtpServer, PeerMailbox],
) -> None:
    server, mailbox = peer_smtp
    mailbox.per_connection = 2
    async with channel(server).session() as session:
        for delivery_id in range(1, 6):
            await session.send(numbered(delivery_id), f"v{delivery_id}@example.org")
    assert message_ids(mailbox) == [f"<delivery-{i}@voisins>" for i in range(1, 6)]
    assert len(set(mailbox.peers)) == 3
    assert session.connections == 3


async def test_a_421_on_a_new_connection_is_transient_and_not_tried_again_at_once(
    peer_smtp: tuple[SmtpServer, PeerMailbox],
) -> None:
    server, mailbox = peer_smtp
    mailbox.per_connection = 0
    async with channel(server).session() as session:
        for delivery_id in range(1, 4):
            with pytest.raises(TransientError, match="421"):
                await session.send(numbered(delivery_id), f"v{delivery_id}@example.org")
    assert mailbox.mail_commands == 3
    assert mailbox.envelopes == []


async def test_a_relay_that_cannot_be_reached_fails_the_session_after_one_attempt() -> None:
    attempts = 0

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal attempts
        attempts += 1
        writer.close()

    listener = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    errors = []
    try:
        async with channel(port=port).session() as session:
            for delivery_id in range(1, 4):
                with pytest.raises(TransientError) as caught:
                    await session.send(numbered(delivery_id), f"v{delivery_id}@example.org")
                errors.append(str(caught.value))
    finally:
        listener.close()
        await listener.wait_closed()
    assert attempts == 1
    assert len(set(errors)) == 1 and "127.0.0.1" not in errors[0]


@pytest.mark.parametrize("smtputf8", [True, False])
async def test_a_sender_address_beyond_ascii_goes_through_smtputf8_only(smtputf8: bool) -> None:
    mailbox = MailCollector()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, enable_SMTPUTF8=smtputf8)
    controller.start()
    sender = "Voisins <ne-pas-répondre@voisins.example.org>"
    config = SmtpConfig(host="127.0.0.1", port=port, sender=sender, timeout_s=5)
    try:
        if not smtputf8:
            with pytest.raises(PermanentError, match="SMTPUTF8"):
                await EmailChannel(config, BASE, SECRET).send(message("match.proposed"), TO)
            assert mailbox.envelopes == []
            return
        await EmailChannel(config, BASE, SECRET).send(message("match.proposed"), TO)
    finally:
        controller.stop()
    (envelope,) = mailbox.envelopes
    assert envelope.mail_from == "ne-pas-répondre@voisins.example.org"
    assert "SMTPUTF8" in [option.upper() for option in envelope.mail_options]
    assert isinstance(envelope.content, bytes)
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert mail["From"] == sender
    assert mail["Subject"] == "Nouvelle proposition près de chez vous"


async def test_a_long_unsubscribe_link_stays_on_its_header_line(smtp_server: SmtpServer) -> None:
    await channel(smtp_server).send(message("match.proposed"), TO)
    (envelope,) = smtp_server.handler.envelopes
    assert isinstance(envelope.content, bytes)
    [line] = [
        line for line in envelope.content.split(b"\r\n") if line.startswith(b"List-Unsubscribe:")
    ]
    assert line.startswith(f"List-Unsubscribe: <{BASE}/unsubscribe/".encode())


@pytest.mark.parametrize("locale", ["fr", "en"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_message_reads_back_exactly_as_rendered(kind: str, locale: str) -> None:
    mailer = channel(port=25)  # nothing is sent
    notification = message(kind, locale, LONG)
    data = mailer.outgoing(notification, TO).data
    lines = data.split(b"\r\n")
    assert b"\n" not in b"".join(lines) and b"\r" not in b"".join(lines)
    head, body = lines[: lines.index(b"")], lines[lines.index(b"") + 1 :]
    # Headers fold at 78 unless one word is longer (a link); quoted-printable at 76.
    assert all(len(line) <= 78 or len(line.split()) <= 2 for line in head)
    assert all(len(line) <= 998 for line in head)
    assert all(len(line) <= 76 for line in body)
    mail = email.message_from_bytes(data, policy=email.policy.default)
    assert [part.defects for part in mail.walk()] == [[], [], []]
    unsubscribe = None if kind in TRANSACTIONAL_KINDS else mailer.unsubscribe_url(42)
    rendered = render_email(notification, base_url=BASE, unsubscribe_url=unsubscribe)
    assert mail["Subject"] == rendered.subject
    text, html = parts(mail)
    assert text.replace("\r\n", "\n") == rendered.text
    assert html.replace("\r\n", "\n") == rendered.html


def test_line_breaks_and_symbols_in_values_survive_the_encoding() -> None:
    mailer = channel(port=25)
    title = "Courses\r\nà 10 h = 5 € .\rFrom Paris\t \n."
    notification = message("match.proposed", "fr", title=title)
    mail = mailer.build(notification, TO)
    text, _ = parts(mail)
    rendered = render_email(notification, base_url=BASE, unsubscribe_url=mailer.unsubscribe_url(42))
    expected = rendered.text.replace("\r\n", "\n").replace("\r", "\n")
    assert text.replace("\r\n", "\n") == expected
