"""SMS through an HTTP provider adapter: POST ``{"to", "from", "text"}`` as JSON with a
bearer token. Off (``SmsConfig.url`` empty) by default.

Most providers accept this shape directly or behind a few lines of glue on their side;
a provider with another API gets its own adapter class with the same ``send``.
"""

from __future__ import annotations

import re

import httpx
import msgspec

from voisins.notify.channels import http
from voisins.notify.channels.base import Message, PermanentError
from voisins.notify.channels.config import SmsConfig
from voisins.notify.channels.render import render_sms

_PHONE = re.compile(r"^\+?[0-9]{6,15}$")
_SEPARATORS = re.compile(r"[\s.()-]")


class SmsPayload(msgspec.Struct, frozen=True):
    to: str
    from_: str = msgspec.field(name="from")
    text: str = ""


def normalise_phone(phone: str) -> str:
    """Digits with an optional leading +; spaces, dots and dashes dropped."""
    compact = _SEPARATORS.sub("", phone)
    if not _PHONE.fullmatch(compact):
        raise PermanentError("invalid phone number")
    return compact


class SmsChannel(http.HttpChannel):
    def __init__(
        self,
        config: SmsConfig,
        public_base_url: str = "",
        *,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._config = config
        self._base_url = public_base_url.rstrip("/")
        self._own_client = client is None
        self._client = client if client is not None else http.new_client(config.timeout_s)

    @property
    def enabled(self) -> bool:
        return self._config.enabled

    def render(self, message: Message) -> str:
        return render_sms(message, base_url=self._base_url)

    async def send(self, message: Message, phone: str) -> None:
        if not self.enabled:
            # The worker should not plan SMS deliveries when SMS is off; if it does,
            # they are dead letters, not retries.
            raise PermanentError("sms channel is off")
        payload = SmsPayload(
            to=normalise_phone(phone), from_=self._config.sender, text=self.render(message)
        )
        headers = {"Content-Type": "application/json"}
        if self._config.token:
            headers["Authorization"] = f"Bearer {self._config.token}"
        await http.post(
            "sms",
            self._client,
            self._config.url,
            content=msgspec.json.encode(payload),
            headers=headers,
        )
