"""Every refused authorisation leaves a trace in the audit log.

Litestar calls this hook after any exception a handler raised. A refusal (403) is
recorded with the operation that was refused, the object named in the path and who
asked — on its own connection, because the refused request's transaction rolls back.
"""

from __future__ import annotations

from typing import Any

from litestar.exceptions import HTTPException
from litestar.types import Scope

from voisins.audit import record_refusal
from voisins.errors import DomainError
from voisins.logs import get_logger

log = get_logger(__name__)

VIEWER_STATE_KEY = "viewer"


def _status(exc: Exception) -> int | None:
    if isinstance(exc, DomainError | HTTPException):
        return int(exc.status_code)
    return None


def _object(path_params: dict[str, Any]) -> tuple[str, int | None]:
    """``{"match_id": 12}`` → ("match", 12); a path without an id names the route."""
    for name, value in path_params.items():
        if name.endswith("_id") and isinstance(value, int):
            return name[: -len("_id")], value
    return "route", None


async def audit_refusal(exc: Exception, scope: Scope) -> None:
    if _status(exc) != 403:
        return
    handler = scope.get("route_handler")
    action = getattr(handler, "operation_id", None)
    if not isinstance(action, str):
        action = "unknown"
    object_type, object_id = _object(scope.get("path_params") or {})
    state = scope.get("state") or {}
    viewer = state.get(VIEWER_STATE_KEY)
    try:
        await record_refusal(
            scope["litestar_app"].state.engine, viewer, f"refused.{action}", object_type, object_id
        )
    except Exception as error:
        # The refusal stands whatever happens here; the log says the trace is missing.
        log.error("refusal not audited", action=action, error=type(error).__name__)
