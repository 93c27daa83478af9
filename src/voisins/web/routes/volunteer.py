"""Pages of the volunteer (filled in by the web issue's next steps)."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []
