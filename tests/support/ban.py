"""A local HTTP server that speaks the BAN (Base Adresse Nationale) /search/ format, in
place of the real geocoder: the ``ban`` fixture (a pytest plugin, loaded by
tests/conftest.py) answers what its ``BanStub`` says and keeps what it was asked;
``ban_answer`` writes an answer, trimmed from a real one."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest


def ban_answer(
    lon: float = 2.353609,
    lat: float = 48.889147,
    score: float = 0.97,
    found: bool = True,
) -> bytes:
    """A BAN /search/ answer, trimmed from a real one."""
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "label": "18 Rue Léon 75018 Paris",
            "score": score,
            "housenumber": "18",
            "id": "75118_5563_00018",
            "name": "18 Rue Léon",
            "postcode": "75018",
            "citycode": "75118",
            "x": 652684.69,
            "y": 6864373.34,
            "city": "Paris",
            "context": "75, Paris, Île-de-France",
            "type": "housenumber",
            "importance": 0.67,
            "street": "Rue Léon",
        },
    }
    return json.dumps(
        {
            "type": "FeatureCollection",
            "version": "draft",
            "features": [feature] if found else [],
            "attribution": "BAN",
            "licence": "ETALAB-2.0",
            "limit": 1,
        }
    ).encode()


class BanStub:
    """What the local server answers next, and what it was asked."""

    def __init__(self) -> None:
        self.status = 200
        self.body = ban_answer()
        self.delay_s = 0.0
        self.queries: list[dict[str, list[str]]] = []
        self.release = threading.Event()
        self.url = ""


@pytest.fixture
def ban() -> Iterator[BanStub]:
    stub = BanStub()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            stub.queries.append({"path": [parts.path], **parse_qs(parts.query)})
            if stub.delay_s:
                stub.release.wait(stub.delay_s)
            try:
                self.send_response(stub.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(stub.body)))
                self.end_headers()
                self.wfile.write(stub.body)
            except OSError:  # the client gave up (timeout test)
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}/search/"
    yield stub
    stub.release.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
