"""Reading a Server-Sent Events stream in tests: one dict per event block."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx

Event = dict[str, str]


async def sse_events(response: httpx.Response) -> AsyncIterator[Event]:
    """``{"comment": "ping"}``, ``{"event": "inbox", "data": "ready"}``, ``{"retry": …}``."""
    block: Event = {}
    async for line in response.aiter_lines():
        if not line:
            if block:
                yield block
            block = {}
            continue
        field, _, value = line.partition(":")
        block[field or "comment"] = value.strip()
    if block:
        yield block


async def next_event(
    events: AsyncIterator[Event], wanted: Callable[[Event], bool], timeout_s: float
) -> Event | None:
    """The next event ``wanted`` accepts; None when the stream ended first. Raises
    TimeoutError after ``timeout_s``."""

    async def scan() -> Event | None:
        async for event in events:
            if wanted(event):
                return event
        return None

    return await asyncio.wait_for(scan(), timeout_s)


def is_ready(event: Event) -> bool:
    return event.get("event") == "inbox" and event.get("data") == "ready"


def is_notification(event: Event) -> bool:
    return event.get("event") == "inbox" and event.get("data", "ready") != "ready"


def is_ping(event: Event) -> bool:
    return event.get("comment") == "ping"


def never(event: Event) -> bool:
    return False
