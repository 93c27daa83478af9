"""The pages' CSRF token, as a browser gets it: read from a form (``csrf_of``), from
the page that holds the form (``form_token``), or sent along with a form's fields
(``post_form``)."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient


def csrf_of(html: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the form"
    return found.group(1)


async def form_token(client: AsyncTestClient, path: str) -> str:
    """The CSRF token of the form on the page at ``path``."""
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


async def post_form(
    client: AsyncTestClient, page: str, action: str, data: dict[str, Any], **kwargs: Any
) -> Any:
    """Open ``page`` (for its CSRF token), then send ``data`` to ``action``."""
    opened = await client.get(page, headers=kwargs.get("headers"))
    assert opened.status_code == 200, opened.text
    return await client.post(
        action, data={**data, "_csrf_token": csrf_of(opened.text)}, follow_redirects=False,
        **kwargs,
    )  # fmt: skip
