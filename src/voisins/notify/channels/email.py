"""E-mail over SMTP with aiosmtplib: a text part, an HTML part, one-click unsubscribe.

The ``Message-ID`` derives from the delivery id, so a mail sent twice after a crash
carries the same id and receivers (and their filters) can drop the copy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from voisins.notify.channels.base import Message, PermanentError, TransientError
from voisins.notify.channels.config import SmtpConfig
from voisins.notify.channels.render import TRANSACTIONAL_KINDS, RenderedEmail, render_email
from voisins.notify.signing import unsubscribe_token


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


class EmailChannel:
    """Sends one rendered notification per SMTP session."""

    def __init__(self, config: SmtpConfig, public_base_url: str, secret_key: str) -> None:
        self._config = config
        self._base_url = public_base_url.rstrip("/")
        self._secret_key = secret_key

    def unsubscribe_url(self, recipient_id: int) -> str:
        return f"{self._base_url}/unsubscribe/{unsubscribe_token(self._secret_key, recipient_id)}"

    def build(self, message: Message, to_address: str) -> EmailMessage:
        """The complete MIME message, without sending it (previews, tests)."""
        recipient = _recipient(to_address)
        unsubscribe = (
            None
            if message.kind in TRANSACTIONAL_KINDS
            else self.unsubscribe_url(message.recipient_id)
        )
        rendered: RenderedEmail = render_email(
            message, base_url=self._base_url, unsubscribe_url=unsubscribe
        )
        mime = EmailMessage()
        mime["From"] = self._config.sender
        mime["To"] = recipient
        mime["Subject"] = rendered.subject
        mime["Date"] = format_datetime(datetime.now(UTC))
        mime["Message-ID"] = message_id(message.delivery_id)
        # RFC 3834: tells vacation responders not to answer.
        mime["Auto-Submitted"] = "auto-generated"
        if unsubscribe is not None:
            # RFC 8058 one-click: mail providers POST to the link without a page visit.
            mime["List-Unsubscribe"] = f"<{unsubscribe}>"
            mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        # Quoted-printable keeps both parts readable in the raw source (and to filters).
        mime.set_content(rendered.text, cte="quoted-printable")
        mime.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
        # After set_content, which clears every Content-* header.
        mime["Content-Language"] = message.locale
        return mime

    async def send(self, message: Message, to_address: str) -> None:
        mime = self.build(message, to_address)
        config = self._config
        try:
            await aiosmtplib.send(
                mime,
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                start_tls=config.starttls,
                use_tls=config.use_tls,
                validate_certs=config.validate_certs,
                timeout=config.timeout_s,
                local_hostname=config.helo_name,
            )
        # Every branch drops the cause ("from None"): aiosmtplib's messages quote the
        # server's reply, which usually repeats the recipient's address.
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refused.code for refused in exc.recipients]
            if codes and all(500 <= code < 600 for code in codes):
                raise PermanentError(f"SMTP recipient refused {min(codes)}") from None
            raise TransientError(f"SMTP recipient refused {min(codes, default=0)}") from None
        except aiosmtplib.SMTPAuthenticationError as exc:
            # Our credentials, not this mail, are wrong: retry while an operator fixes them.
            raise TransientError(f"SMTP authentication {exc.code}") from None
        except aiosmtplib.SMTPResponseException as exc:
            raise _status_error(type(exc).__name__, exc.code) from None
        except aiosmtplib.SMTPNotSupported:
            # A non-ASCII address and a server without SMTPUTF8: it will never go through.
            raise PermanentError("SMTP SMTPUTF8 not supported") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # Including "STARTTLS not offered" when starttls is required: we never fall
            # back to clear text, and retry while an operator looks at the relay.
            raise TransientError(f"SMTP {type(exc).__name__}") from None
