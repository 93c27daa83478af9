"""Handler-side glue for Idempotency-Key on creating POSTs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from litestar import Request, Response
from litestar.params import HeaderParameter
from sqlalchemy.ext.asyncio import AsyncConnection

from voisins.accounts.access import Viewer
from voisins.idempotency import HEADER, check_key, run_once

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name=HEADER,
        required=False,
        description="Any unique string (8-128 characters): a retry with the same key and body "
        "creates nothing more and gets the first response again",
    ),
]


async def idempotent_response(
    tx: AsyncConnection,
    viewer: Viewer,
    key: str | None,
    request: Request[Any, Any, Any],
    payload: object,
    action: Callable[[], Awaitable[object]],
) -> Response[Any]:
    stored = await run_once(
        tx,
        user_id=viewer.id,
        key=check_key(key),
        route=f"{request.method} {request.url.path}",
        payload=payload,
        action=action,
    )
    return Response(stored.body, status_code=stored.status_code, media_type="application/json")
