"""The handlers marked ``READS_ONLY`` (api/deps.py) run without a transaction, each
statement on its own: they must never write, or a failure half-way would leave half a
change. Every such handler is called here and every statement it sends is checked."""

from __future__ import annotations

import re
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import Engine, event

from voisins.app import create_app
from voisins.settings import Settings

from .notify.sse import next_event, sse_events
from .support.people import register
from .support.servers import serving
from .support.world import HOME_ALICE, HOME_VERA, post_body, volunteer_body

# One call per READS_ONLY route; a route marked without a call here fails the test.
# ``{match}``: the confirmed match of the test's two people.
CALLS = {
    "/api/v1/posts": f"/api/v1/posts?lon={HOME_ALICE[0]}&lat={HOME_ALICE[1]}&radius_km=2",
    "/api/v1/me/posts": "/api/v1/me/posts",
    "/api/v1/me/propositions": "/api/v1/me/propositions",
    "/api/v1/me": "/api/v1/me",
    "/api/v1/me/notifications": "/api/v1/me/notifications",
    "/api/v1/me/notification-preferences": "/api/v1/me/notification-preferences",
    "/api/v1/me/conversations": "/api/v1/me/conversations",
    "/api/v1/matches/{match_id:int}/conversation": "/api/v1/matches/{match}/conversation",
    "/api/v1/matches/{match_id:int}/messages": "/api/v1/matches/{match}/messages",
}
# Endless streams: read over a real server until their first message (the test client
# waits for a response's end).
STREAMS = {
    "/api/v1/matches/{match_id:int}/conversation/events": (
        "/api/v1/matches/{match}/conversation/events?after=0"
    ),
}
WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|COPY|NOTIFY)\b", re.IGNORECASE)


def reads_only_routes(app: Litestar) -> set[str]:
    return {
        route.path
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if handler.opt.get("reads_only")
    }


async def test_every_reads_only_handler_sends_reads_only(settings: Settings) -> None:
    app = create_app(settings)
    assert reads_only_routes(app) == set(CALLS) | set(STREAMS), (
        "add a call for each READS_ONLY route"
    )
    async with AsyncTestClient(app) as client:
        vera = await register(client, "Vera")
        await client.put(
            "/api/v1/me/volunteer", json=volunteer_body(HOME_VERA), headers=vera.headers
        )
        alice = await register(client, "Alice")
        made = await client.post("/api/v1/posts", json=post_body(HOME_ALICE), headers=alice.headers)
        assert made.status_code == 201
        [proposition] = (await client.get("/api/v1/me/propositions", headers=vera.headers)).json()[
            "items"
        ]
        match = proposition["id"]
        accepted = await client.post(f"/api/v1/matches/{match}/accept", headers=vera.headers)
        assert accepted.json()["status"] == "confirmed"
        wrote = await client.post(
            f"/api/v1/matches/{match}/messages", json={"text": "Bonjour"}, headers=vera.headers
        )
        assert wrote.status_code == 201
        sent: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            sent.append(statement)

        engine = app.state.engine.sync_engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            for who in (alice, vera):
                for path in CALLS.values():
                    response = await client.get(path.format(match=match), headers=who.headers)
                    assert response.status_code == 200, (path, response.text)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        # The streams, over a real server in this process: every engine's statements.
        event.listen(Engine, "before_cursor_execute", record)
        try:
            async with (
                serving(settings) as base_url,
                httpx.AsyncClient(base_url=base_url, timeout=10) as http,
            ):
                for who in (alice, vera):
                    for path in STREAMS.values():
                        url = path.format(match=match)
                        async with http.stream("GET", url, headers=who.headers) as stream:
                            assert stream.status_code == 200, url
                            first = await next_event(
                                sse_events(stream), lambda e: e.get("event") == "message", 5
                            )
                            assert first is not None, url
        finally:
            event.remove(Engine, "before_cursor_execute", record)
    assert sent, "the listener saw nothing"
    writing = [statement for statement in sent if WRITES.search(statement)]
    assert writing == []
