"""Placeholder: filled by the housing pages work (issue 16)."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []
