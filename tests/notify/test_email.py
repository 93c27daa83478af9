from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from tests.notify.conftest import SmtpServer, unused_port
from tests.notify.samples import message
from voisins.notify.channels import EmailChannel, PermanentError, SmtpConfig, TransientError
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
        await channel(port=unused_port()).send(message("match.proposed"), TO)
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
