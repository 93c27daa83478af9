"""The one exception mapper: every error leaves as ``{"error", "detail", "fields"}`` JSON."""

from __future__ import annotations

import re
import traceback
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import Scope
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from voisins.db import CROSSING_SQLSTATES, sqlstate
from voisins.errors import DomainError, Overloaded, TooManyRequests
from voisins.logs import get_logger

log = get_logger(__name__)


class ErrorBody(msgspec.Struct):
    error: str
    detail: str
    fields: dict[str, str] = msgspec.field(default_factory=dict)


_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    503: "unavailable",
}
_AT_PATH = re.compile(r"\s*-\s*at `\$\.?([^`]*)`")
# A refused key of a mapping: "Invalid enum value 'x' - at `key` in `$.channels`".
_AT_KEY = re.compile(r"\s*-\s*at `key` in `\$\.?([^`]*)`")
_NAMED_FIELD = re.compile(r"(unknown|missing required) field `([^`]+)`")


def _response(status: int, body: ErrorBody, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        content=body, status_code=status, headers=headers, media_type="application/json"
    )


def domain_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, DomainError)
    retry_s = exc.retry_after_s if isinstance(exc, TooManyRequests | Overloaded) else None
    headers = {"Retry-After": str(retry_s)} if retry_s else None
    return _response(exc.status_code, ErrorBody(exc.code, exc.detail, exc.fields), headers)


# PostgreSQL's answers that mean "the same request may well pass in a moment":
# query_canceled (the statement_timeout ran out), and two legitimate requests that
# crossed twice (services run their work once more after a first crossing,
# db.once_more_if_crossed; this is the safety net after that).
_TRY_AGAIN_SQLSTATES = CROSSING_SQLSTATES | {"57014"}


def as_overload(exc: BaseException) -> Overloaded | None:
    """The busy database as the service's answer: no pooled connection free within the
    bounded wait (sqlalchemy's pool TimeoutError), a statement cancelled by its timeout,
    or a transaction PostgreSQL rolled back for a crossing. Anything else is not."""
    if isinstance(exc, PoolTimeout):
        return Overloaded()
    if isinstance(exc, DBAPIError) and sqlstate(exc) in _TRY_AGAIN_SQLSTATES:
        return Overloaded(retry_after_s=1)
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        # The database dropped this connection (a restart, a failover): the pool has
        # thrown its connections of that age away; the next try gets a fresh one.
        return Overloaded(retry_after_s=1)
    return None


async def release_frames(exc: Exception, _: Scope) -> None:
    """Let go at once of what the failed request's finished frames still hold.

    When a dependency fails after ``tx`` was opened (a database error while reading
    the session, say), Litestar drops its clean-up group without running it; the
    ``tx`` generator, and its pooled connection, are freed only when nothing refers
    to them any more. A database error's traceback keeps them alive in a reference
    cycle until the garbage collector passes: two such errors were enough to empty a
    pool of two for good (measured). Clearing the locals of the frames the error went
    through frees the generator now; the event loop then closes it, which returns the
    connection. Frames still running are left as they are (``frame.clear`` refuses)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)
        current = current.__cause__ or current.__context__


def overload_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    busy = as_overload(exc)
    if busy is None:
        return internal_error_handler(request, exc)
    log.warning("database busy", method=request.method, path=request.url.path)
    return domain_error_handler(request, busy)


# A struct's own check (``__post_init__``) names the field it refuses as "field: reason";
# msgspec then adds the path of the struct that holds it.
_OWN_CHECK = re.compile(r"^([a-z_][a-z0-9_]*): (.+)$", re.DOTALL)


def validation_field(message: str, key: str | None = None) -> tuple[str | None, str]:
    """The field path and reason of one msgspec validation message
    ("Expected `int`, got `str` - at `$.schedule.days[0]`" → "schedule.days[0]")."""
    if in_key := _AT_KEY.search(message):
        return in_key.group(1) or key, f"{_AT_KEY.sub('', message)} (a key)"
    match = _AT_PATH.search(message)
    key = match.group(1) if match else key
    reason = _AT_PATH.sub("", message)
    parent = key if key and key != "data" else None
    named = _NAMED_FIELD.search(reason)
    own = _OWN_CHECK.match(reason)
    if named:
        # Name the unknown or missing field itself, not the object that carried it.
        key = f"{parent}.{named.group(2)}" if parent else named.group(2)
        reason = "unknown field" if named.group(1) == "unknown" else "required"
    elif own:
        key = f"{parent}.{own.group(1)}" if parent else own.group(1)
        reason = own.group(2)
    return key, reason


def _validation_fields(extra: Any) -> dict[str, str]:
    """Litestar reports msgspec errors as ``[{"message", "key", "source"}]``."""
    fields: dict[str, str] = {}
    for item in extra if isinstance(extra, list) else []:
        if not isinstance(item, dict):
            continue
        key, reason = validation_field(str(item.get("message", "invalid")), item.get("key"))
        if key:
            fields[str(key)] = reason
    return fields


def http_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, HTTPException)
    if isinstance(exc, ValidationException):
        fields = _validation_fields(exc.extra)
        if fields:
            detail = "; ".join(f"{k}: {v}" for k, v in fields.items())
            return _response(422, ErrorBody("invalid", detail, fields))
        return _response(400, ErrorBody("bad_request", str(exc.detail)))
    status = exc.status_code
    if status >= 500:
        return internal_error_handler(request, exc)
    detail = "request body is too large" if status == 413 else str(exc.detail)
    return _response(status, ErrorBody(_CODES.get(status, "error"), detail), exc.headers)


def _where(exc: BaseException) -> list[str]:
    """The chain of exception classes and the frames they went through, without their
    messages: database errors quote the bound values, which may be coordinates."""
    chain: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 6:
        frames = traceback.extract_tb(current.__traceback__)[-4:]
        places = ", ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in frames)
        chain.append(f"{type(current).__name__} at {places}")
        current = current.__cause__ or current.__context__
    return chain


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # Log the classes and places, never messages or payloads (they may hold personal data).
    log.error(
        "unhandled error",
        error=type(exc).__name__,
        method=request.method,
        path=request.url.path,
        chain=_where(exc),
    )
    return _response(
        HTTP_500_INTERNAL_SERVER_ERROR,
        ErrorBody("internal", "internal error; it was logged with this request's id"),
    )


EXCEPTION_HANDLERS = {
    DomainError: domain_error_handler,
    HTTPException: http_error_handler,
    PoolTimeout: overload_handler,
    DBAPIError: overload_handler,
    Exception: internal_error_handler,
}
