"""A small HTTP server standing in for partner webhooks and the SMS provider, on a free
local port: it keeps what it received (``HttpSink.received``) and answers what a test
tells it to. On ``/hooks/…`` it checks the signature as a partner would, with
``WEBHOOK_SECRET``. The ``http_sink`` fixture (tests/conftest.py) runs one per test."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from voisins.notify.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature

WEBHOOK_SECRET = "partner-shared-secret"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpSink:
    """Answers ``responses[path]`` = (status, headers), 204 by default. On ``/hooks/…``
    it plays a partner: it verifies the signature and answers 401 when it is wrong."""

    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    responses: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    delay_s: dict[str, float] = field(default_factory=dict)


@contextlib.contextmanager
def running_http_sink() -> Iterator[HttpSink]:
    sink = HttpSink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            sink.received.append(Received(self.path, dict(self.headers.items()), body))
            time.sleep(sink.delay_s.get(self.path, 0))
            status, headers = sink.responses.get(self.path, (204, {}))
            if self.path.startswith("/hooks/") and not verify_signature(
                WEBHOOK_SECRET,
                self.headers.get(TIMESTAMP_HEADER, ""),
                body,
                self.headers.get(SIGNATURE_HEADER, ""),
            ):
                status, headers = 401, {}
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    sink.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
