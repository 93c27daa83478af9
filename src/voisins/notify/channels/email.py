"""E-mail over SMTP with aiosmtplib: a text part, an HTML part, one-click unsubscribe.

The ``Message-ID`` derives from the delivery id, so a mail sent twice after a crash
carries the same id and receivers (and their filters) can drop the copy. A worker
sends through an ``SmtpSession``: one connection for many messages.
"""

from __future__ import annotations

import binascii
import contextlib
import email
import functools
import secrets
from dataclasses import dataclass
from email import policy
from email.errors import HeaderParseError
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import cast

import aiosmtplib

from voisins import clock
from voisins.links import page_url
from voisins.notify.channels.base import ChannelError, Message, PermanentError, TransientError
from voisins.notify.channels.config import SmtpConfig
from voisins.notify.channels.render import TRANSACTIONAL_KINDS, RenderedEmail, render_email
from voisins.notify.signing import unsubscribe_token


def _header_line(name: str, value: str) -> bytes:
    """One header line, CRLF included. An ASCII value that fits in 78 characters, or that
    has no whitespace to fold at (a link, an id: RFC 5322 allows 998), is written as it
    is; the others, in practice the subject, are encoded (RFC 2047) and folded by the
    email package, once per distinct value: the same few subjects come again and again."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"line break in the {name} header")
    if value.isascii() and (len(name) + 2 + len(value) <= 78 or len(value.split()) == 1):
        return f"{name}: {value}\r\n".encode("ascii")
    return _folded_header_line(name, value)


@functools.lru_cache(maxsize=512)
def _folded_header_line(name: str, value: str) -> bytes:
    charset = "us-ascii" if value.isascii() else "utf-8"
    folded = Header(value, charset, header_name=name).encode(linesep="\r\n")
    return f"{name}: {folded}\r\n".encode("ascii")


def _quoted_printable(text: str) -> bytes:
    """RFC 2045 quoted-printable (binascii's encoder, in C), with CRLF line ends.
    Quoted-printable keeps both parts readable in the raw source, and to filters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return binascii.b2a_qp(text.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


def _multipart(head: list[bytes], rendered: RenderedEmail) -> bytes:
    """A multipart/alternative message: ``head`` (header lines), then the text and the
    HTML parts. Written directly rather than through ``email.message``, which spends
    two milliseconds a message on generic header parsing and folding: at hundreds of
    messages a second that was most of a worker's time. The tests read every message
    back with the standard parser."""
    # "=_" never occurs in quoted-printable text, so the boundary cannot either.
    boundary = f"=_voisins_{secrets.token_hex(12)}"
    chunks = [
        *head,
        b"MIME-Version: 1.0\r\n",
        f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n\r\n'.encode(),
    ]
    for body, subtype in ((rendered.text, "plain"), (rendered.html, "html")):
        chunks.append(
            f"--{boundary}\r\n"
            f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode()
        )
        chunks.append(_quoted_printable(body))
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks)


def message_id(delivery_id: int) -> str:
    return f"<delivery-{delivery_id}@voisins>"


def _recipient(to_address: str) -> Address:
    try:
        address = Address(addr_spec=to_address)
    except (ValueError, IndexError, HeaderParseError):
        raise PermanentError("invalid recipient address") from None
    if not address.username or "." not in address.domain:
        raise PermanentError("invalid recipient address")
    # An internationalised domain travels as punycode: relays without SMTPUTF8 take it.
    try:
        domain = address.domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise PermanentError("invalid recipient address") from None
    return Address(username=address.username, domain=domain)


def _status_error(name: str, code: int) -> TransientError | PermanentError:
    reason = f"SMTP {name} {code}"
    return PermanentError(reason) if 500 <= code < 600 else TransientError(reason)


@dataclass(frozen=True)
class Outgoing:
    """One message as it goes on the wire."""

    sender: str  # envelope addresses
    recipient: str
    data: bytes  # CRLF line ends
    smtputf8: bool  # the sender address is not ASCII: only a server with SMTPUTF8 takes it


class EmailChannel:
    """Renders notifications and sends them over SMTP."""

    def __init__(self, config: SmtpConfig, public_base_url: str, secret_key: str) -> None:
        self._config = config
        self._base_url = public_base_url.rstrip("/")
        self._secret_key = secret_key
        name, self._sender = parseaddr(config.sender)
        # Recipients are ASCII (punycode domains; _recipient refuses a local part that
        # is not); a sender address that is not ASCII needs RFC 6532 headers.
        self._utf8 = not self._sender.isascii()
        # "From" encoded once (RFC 2047 for a display name that is not ASCII).
        self._from_line = (
            b"" if self._utf8 else _header_line("From", formataddr((name, self._sender)))
        )

    def unsubscribe_url(self, recipient_id: int) -> str:
        token = unsubscribe_token(self._secret_key, recipient_id)
        return page_url(self._base_url, "unsubscribe_page", token=token)

    def build(self, message: Message, to_address: str) -> EmailMessage:
        """The complete message as a receiver parses it (previews, tests)."""
        data = self.outgoing(message, to_address).data
        return cast(EmailMessage, email.message_from_bytes(data, policy=policy.default))

    def outgoing(self, message: Message, to_address: str) -> Outgoing:
        """The message rendered, encoded and addressed, ready for SMTP."""
        recipient = _recipient(to_address)
        unsubscribe = (
            None
            if message.kind in TRANSACTIONAL_KINDS
            else self.unsubscribe_url(message.recipient_id)
        )
        rendered: RenderedEmail = render_email(
            message, base_url=self._base_url, unsubscribe_url=unsubscribe
        )
        headers = {
            "To": recipient.addr_spec,
            "Subject": rendered.subject,
            "Date": format_datetime(clock.now()),
            "Message-ID": message_id(message.delivery_id),
            # RFC 3834: tells vacation responders not to answer.
            "Auto-Submitted": "auto-generated",
        }
        if unsubscribe is not None:
            # RFC 8058 one-click: mail providers POST to the link without a page visit.
            headers["List-Unsubscribe"] = f"<{unsubscribe}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        headers["Content-Language"] = message.locale
        if self._utf8:
            data = self._mime_utf8(headers, rendered).as_bytes(policy=policy.SMTPUTF8)
        else:
            head = [self._from_line, *(_header_line(k, v) for k, v in headers.items())]
            data = _multipart(head, rendered)
        return Outgoing(self._sender, recipient.addr_spec, data, self._utf8)

    def _mime_utf8(self, headers: dict[str, str], rendered: RenderedEmail) -> EmailMessage:
        """For a sender address that is not ASCII (RFC 6532: headers in UTF-8; only a
        server with SMTPUTF8 takes it)."""
        mime = EmailMessage()
        mime["From"] = self._config.sender
        for name, value in headers.items():
            if name != "Content-Language":
                mime[name] = value
        mime.set_content(rendered.text, cte="quoted-printable")
        mime.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
        # After set_content, which clears every Content-* header.
        mime["Content-Language"] = headers["Content-Language"]
        return mime

    def session(self) -> SmtpSession:
        """One SMTP connection for many messages: ``async with channel.session() as s``."""
        return SmtpSession(self._config, self)

    async def send(self, message: Message, to_address: str) -> None:
        """One message on a connection of its own."""
        async with self.session() as session:
            await session.send(message, to_address)


def _error(exc: Exception) -> TransientError | PermanentError | None:
    """The channel error for an SMTP failure; None for anything else (a bug).

    Every error drops the cause: aiosmtplib's messages quote the server's reply, which
    usually repeats the recipient's address."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in exc.recipients]
        if codes and all(500 <= code < 600 for code in codes):
            return PermanentError(f"SMTP recipient refused {min(codes)}")
        return TransientError(f"SMTP recipient refused {min(codes, default=0)}")
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        # Our credentials, not this mail, are wrong: retry while an operator fixes them.
        return TransientError(f"SMTP authentication {exc.code}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _status_error(type(exc).__name__, exc.code)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        # A non-ASCII address and a server without SMTPUTF8: it will never go through.
        return PermanentError("SMTP SMTPUTF8 not supported")
    if isinstance(exc, aiosmtplib.SMTPException | OSError | TimeoutError):
        # Including "STARTTLS not offered" when starttls is required: we never fall
        # back to clear text, and retry while an operator looks at the relay.
        return TransientError(f"SMTP {type(exc).__name__}")
    return None


def _dropped(exc: Exception) -> bool:
    """The server closed the session: a reset, or 421 ("closing transmission channel")."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return any(refused.code == 421 for refused in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code == 421
    return isinstance(exc, ConnectionError)  # SMTPServerDisconnected is one


# Failures after which the connection is clean: a refused command (aiosmtplib sends
# RSET), or a check made before the transaction.
_CLEAN_FAILURES = (
    aiosmtplib.SMTPResponseException,
    aiosmtplib.SMTPRecipientsRefused,
    aiosmtplib.SMTPNotSupported,
)


class SmtpSession:
    """Many messages over one SMTP connection, opened at the first one.

    Each message is its own mail transaction: a recipient refused (4xx or 5xx) fails
    that message only, aiosmtplib resets the envelope and the connection goes on. A
    connection that had already carried mail and that the server drops (idle timeout,
    per-session limit) is replaced once for the message being sent; the copy, if the
    drop came after the server took the message, carries the same Message-ID. A
    connection that cannot be opened fails the rest of the session at once, so that a
    batch does not wait out one timeout per message while the relay is down.
    """

    def __init__(self, config: SmtpConfig, channel: EmailChannel) -> None:
        self._config = config
        self._channel = channel
        self._client: aiosmtplib.SMTP | None = None
        self._carried = 0  # messages the open connection has taken
        self._unreachable: ChannelError | None = None
        self.connections = 0

    async def __aenter__(self) -> SmtpSession:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                await client.quit()
        if client is not None:
            client.close()

    def _discard(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def _connect(self) -> aiosmtplib.SMTP:
        if self._unreachable is not None:
            raise type(self._unreachable)(self._unreachable.reason)
        if self._client is not None and self._client.is_connected:
            return self._client
        self._discard()
        config = self._config
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            # False never upgrades and True requires STARTTLS: no opportunistic fall-back.
            start_tls=config.starttls,
            use_tls=config.use_tls,
            validate_certs=config.validate_certs,
            timeout=config.timeout_s,
            local_hostname=config.helo_name,
        )
        try:
            await client.connect()
        except Exception as exc:
            client.close()
            error = _error(exc)
            if error is None:
                raise
            self._unreachable = error
            raise error from None
        self._client, self._carried = client, 0
        self.connections += 1
        return client

    async def send(self, message: Message, to_address: str) -> None:
        # Built before any connection: a bad address or template never reaches the server.
        mail = self._channel.outgoing(message, to_address)
        options = ["SMTPUTF8"] if mail.smtputf8 else []
        retried = False
        while True:
            client = await self._connect()
            try:
                await client.sendmail(
                    mail.sender, [mail.recipient], mail.data, mail_options=options
                )
            except Exception as exc:
                error = _error(exc)
                if error is None:
                    raise
                if _dropped(exc):
                    reused = self._carried > 0
                    self._discard()
                    if reused and not retried:
                        retried = True
                        continue
                elif not isinstance(exc, _CLEAN_FAILURES):
                    # A timeout or another failure mid-transaction leaves the session in
                    # an unknown state: it is not used again.
                    self._discard()
                raise error from None
            self._carried += 1
            return
