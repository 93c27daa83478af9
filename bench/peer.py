"""A plain peer of the two hot reads, for bench/api.py: raw ASGI + asyncpg, no framework.

It answers ``GET /api/v1/posts?lon&lat&radius_km`` and ``GET /api/v1/me/propositions``
for a bearer token by sending **voisins' own SQL** — the statements bench/api.py
captured from the app, with their parameters in the same order — through an asyncpg
pool (statements prepared and cached per connection, no transaction around a read),
and encodes the rows with msgspec: the columns voisins selects, the distance as
voisins' 1 km band, the page as ``{"items", "page", "per_page", "has_more"}``. It is the
floor a framework-plus-driver implementation of the same reads starts from, not a
second product: no other route, no error shape beyond 401/404.

Served by ``uvicorn bench.peer:app --workers N``; reads the JSON file named by
``BENCH_PEER_SPEC`` (written by bench/api.py: the DSN, the grid's cell size, and per
endpoint the statements and the name of each of their parameters).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import asyncpg
import msgspec

from voisins.geo.bands import band_for_m
from voisins.geo.coordinates import LonLat
from voisins.geo.grid import snap

Scope = dict[str, Any]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

PER_PAGE = 20
POOL_SIZE = 10

with open(os.environ["BENCH_PEER_SPEC"], encoding="utf-8") as _file:
    SPEC: dict[str, Any] = json.load(_file)
ENCODER = msgspec.json.Encoder()
pool: asyncpg.Pool | None = None


def _args(names: list[str], values: dict[str, Any]) -> list[Any]:
    return [None if name == "null" else values[name] for name in names]


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    global pool
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            pool = await asyncpg.create_pool(
                SPEC["dsn"],
                min_size=POOL_SIZE,
                max_size=POOL_SIZE,
                server_settings={"application_name": "bench-peer", "jit": "off"},
            )
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if pool is not None:
                await pool.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    path = scope["path"]
    endpoint = SPEC["endpoints"].get(path)
    token = ""
    for name, value in scope["headers"]:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            token = value[7:].decode().strip()
    if endpoint is None:
        await _respond(send, 404, b'{"error":"not_found"}')
        return
    values: dict[str, Any] = {
        "token_hash": hashlib.sha256(token.encode()).digest(),
        "limit": PER_PAGE + 1,
        "offset": 0,
    }
    if path == "/api/v1/posts":
        query = parse_qs(scope["query_string"].decode())
        cell = snap(LonLat(float(query["lon"][0]), float(query["lat"][0])), SPEC["cell_size_m"])
        values.update(
            cell_x=cell.centre_xy[0],
            cell_y=cell.centre_xy[1],
            cell_srid=cell.srid,
            radius_m=float(query.get("radius_km", ["5"])[0]) * 1000,
        )
    assert pool is not None
    async with pool.acquire() as conn:
        session_sql, session_names = endpoint["statements"][0]
        viewer = await conn.fetchrow(session_sql, *_args(session_names, values))
        if viewer is None:
            await _respond(send, 401, b'{"error":"unauthenticated"}')
            return
        values["user_id"] = viewer["id"]
        sql, names = endpoint["statements"][1]
        rows = await conn.fetch(sql, *_args(names, values))
    items = []
    for row in rows[:PER_PAGE]:
        item = dict(row)
        if "distance_m" in item:
            item["distance"] = band_for_m(item.pop("distance_m"))
        items.append(item)
    body = ENCODER.encode(
        {"items": items, "page": 1, "per_page": PER_PAGE, "has_more": len(rows) > PER_PAGE}
    )
    await _respond(send, 200, body)
