"""What the webhook and SMS channels share: their HTTP client's life, and how an HTTP
answer or a transport failure maps to Transient/Permanent."""

from __future__ import annotations

from typing import Self

import httpx

from voisins.notify.channels.base import PermanentError, TransientError

USER_AGENT = "voisins-notify/1"
_RETRYABLE_4XX = frozenset({408, 425, 429})


class HttpChannel:
    """The life of a channel's HTTP client, the same for the webhook and SMS channels:
    closed with the channel (``async with`` or ``aclose``), unless the caller lent it."""

    _client: httpx.AsyncClient
    _own_client: bool = True

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


def new_client(timeout_s: float) -> httpx.AsyncClient:
    # No redirects: a signed POST must reach the configured URL or fail visibly.
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdecimal() else None


def check_response(channel: str, response: httpx.Response) -> None:
    """Return on 2xx; raise the matching channel error otherwise."""
    status = response.status_code
    if 200 <= status < 300:
        return
    reason = f"{channel} HTTP {status}"
    if status >= 500 or status in _RETRYABLE_4XX:
        raise TransientError(reason, retry_after_s=_retry_after(response))
    raise PermanentError(reason)


async def post(
    channel: str,
    client: httpx.AsyncClient,
    url: str,
    *,
    content: bytes,
    headers: dict[str, str],
) -> None:
    """POST ``content`` and map every failure to a channel error without personal data.

    ``from None`` on purpose: httpx's own messages name the URL, and a chained cause
    would print it (and sometimes the request) in tracebacks.
    """
    try:
        response = await client.post(url, content=content, headers=headers)
    except (httpx.UnsupportedProtocol, httpx.InvalidURL):
        raise PermanentError(f"{channel} invalid URL") from None
    except httpx.TimeoutException as exc:
        raise TransientError(f"{channel} {type(exc).__name__}") from None
    except (httpx.TransportError, OSError) as exc:
        raise TransientError(f"{channel} {type(exc).__name__}") from None
    check_response(channel, response)
