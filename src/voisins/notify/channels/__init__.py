"""Delivery channels of the notifications worker: e-mail (SMTP), signed webhooks, SMS.

Each channel's ``send`` returns or raises ``TransientError`` (retry with backoff) or
``PermanentError`` (dead letter).
"""

from voisins.notify.channels.base import (
    ChannelError,
    Message,
    PermanentError,
    TransientError,
)
from voisins.notify.channels.config import SmsConfig, SmtpConfig
from voisins.notify.channels.email import EmailChannel
from voisins.notify.channels.render import KINDS, SMS_MAX_CHARS, TRANSACTIONAL_KINDS
from voisins.notify.channels.sms import SmsChannel
from voisins.notify.channels.webhook import WebhookChannel, verify_signature

__all__ = [
    "KINDS",
    "SMS_MAX_CHARS",
    "TRANSACTIONAL_KINDS",
    "ChannelError",
    "EmailChannel",
    "Message",
    "PermanentError",
    "SmsChannel",
    "SmsConfig",
    "SmtpConfig",
    "TransientError",
    "WebhookChannel",
    "verify_signature",
]
