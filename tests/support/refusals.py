"""What a refusal by a quota or a rate limit looks like to the client (``refused``: a
429 with its Retry-After)."""

from __future__ import annotations

from typing import Any


def refused(response: Any, window_s: int = 3600) -> str:
    """A 429 with a Retry-After within the window; returns the detail."""
    assert response.status_code == 429, response.text
    retry = int(response.headers["retry-after"])
    assert 1 <= retry <= window_s
    body = response.json()
    assert body["error"] == "too_many_requests"
    assert f"{retry} seconds" in body["detail"]
    return str(body["detail"])
