"""A free local port: bound to 127.0.0.1, then released, so that nothing listens on it
until a test starts a server there (or wants a refused connection)."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
