"""The paths an app really serves, to check links against (mails, SMS, page templates)."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.routes import HTTPRoute

_SEGMENT = {"int": r"\d+", "str": r"[^/]+", "path": r".*"}
_PARAMETER = re.compile(r"\{\w+:(\w+)\}")


def served_paths(app: Litestar, method: str) -> list[re.Pattern[str]]:
    """The paths ``app`` answers ``method`` on, as regular expressions."""
    patterns = []
    for route in app.routes:
        if isinstance(route, HTTPRoute) and method in route.methods:
            pieces = _PARAMETER.split(route.path)  # literal, type, literal, type, …
            pattern = "".join(
                _SEGMENT[piece] if i % 2 else re.escape(piece) for i, piece in enumerate(pieces)
            )
            patterns.append(re.compile(pattern + "/?"))
    return patterns


def serves(app: Litestar, path: str, method: str = "GET") -> bool:
    """Whether ``app`` has a route for ``path`` (query and fragment ignored)."""
    path = path.split("?")[0].split("#")[0]
    return any(p.fullmatch(path) for p in served_paths(app, method))
