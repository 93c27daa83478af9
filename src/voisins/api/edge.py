"""The edge: what a request must be before any handler reads it.

A crafted request used to reach the services and fail there with a 500 (a NUL byte that
PostgreSQL refuses in text, an id beyond bigint that asyncpg cannot bind, a body nested a
thousand levels, bytes that are not UTF-8) or to be read more leniently than documented
(a text/plain form read as JSON, "12" read as 12, a timestamp 0 read as 1970). Each is
refused here, naming what was wrong, before a handler or a transaction runs:

- an id in the path beyond PostgreSQL's bigint: 404 (nothing can have it), naming it;
- in the query string, a NUL byte: 422, naming the parameter (ids in a query are typed
  ``voisins.api.params.IdQuery``, bounded to bigint by Litestar; pages read some values
  themselves and may ignore what is not an id);
- an endpoint that reads JSON (a ``data`` parameter): any other media type is 415; the
  body must be UTF-8 and nested at most ``MAX_DEPTH`` levels (400, naming ``body``),
  hold no NUL byte nor integer beyond bigint (422, naming the field), and match the
  endpoint's type strictly, as JSON types (422, naming the field): Litestar itself
  converts leniently, so "12" would pass as 12 (20.0 is an integer, as in JSON Schema);
- a form (the pages): UTF-8, and no NUL byte in any field (the 4xx page).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Receive, Scope, Send

from voisins.api.errors import validation_field
from voisins.errors import BadRequest, DomainError, Invalid, NotFound, UnsupportedMediaType

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# The deepest body the API takes is a territory: a MultiPolygon in an object, 6 levels.
MAX_DEPTH = 32
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_JSON_TYPE = re.compile(r"^application/([a-z0-9.+-]+\+)?json$")
# A JSON string, or an unterminated one to the end. Possessive: a body full of escaped
# quotes and no closing one took quadratic time to scan (18 s for 80 KB).
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
_OPENING = frozenset(b"[{")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
NUL_REASON = "must not contain a NUL character"
RANGE_REASON = f"must be an integer between {INT64_MIN} and {INT64_MAX}"


def input_edge_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        request: Request[Any, Any, Any] = Request(scope, receive)
        try:
            await check_request(request)
        except (DomainError, HTTPException) as exc:
            # Answered here, through the route's own error handlers (JSON on the API, a
            # page elsewhere), so that the outer middleware see and log a normal answer
            # (HTTPException: a body over the size limit, a multipart without boundary).
            await _answer(request, exc, send)
            return
        await app(scope, receive, send)

    return middleware


async def _answer(request: Request[Any, Any, Any], exc: Exception, send: Send) -> None:
    handlers = request.route_handler.resolve_exception_handlers()
    handler = next(handlers[cls] for cls in type(exc).__mro__ if cls in handlers)
    response = handler(request, exc)
    await response.to_asgi_response(app=None, request=request)(request.scope, request.receive, send)


async def check_request(request: Request[Any, Any, Any]) -> None:
    check_path(request.scope.get("path_params") or {})
    check_query(request.scope.get("query_string", b""))
    if request.method not in _BODY_METHODS:
        return
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data is not None:
        await check_json_body(request, data.annotation)
        return
    media_type, _ = request.content_type
    if media_type in (RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART):
        await check_form(request)


def check_path(path_params: dict[str, Any]) -> None:
    for name, value in path_params.items():
        if _is_int(value) and not INT64_MIN <= value <= INT64_MAX:
            raise NotFound(f"no such {name.removesuffix('_id')}", {name: RANGE_REASON})


def check_query(raw: bytes) -> None:
    if b"\x00" not in raw and b"%00" not in raw:
        return
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, errors="replace")
    for key, value in pairs:
        if "\x00" in key or "\x00" in value:
            raise Invalid.field(_shown(key), NUL_REASON)


async def check_json_body(request: Request[Any, Any, Any], into: Any) -> None:
    body = await request.body()
    if not body:
        # Nothing to misread: Litestar answers a missing body itself (after who asks).
        return
    media_type, _ = request.content_type
    if not _JSON_TYPE.match(media_type.lower()):
        raise UnsupportedMediaType(
            "this endpoint reads JSON only: send Content-Type: application/json",
            {"body": f"media type {_shown(media_type) or '(none)'} is not JSON"},
        )
    _check_utf8(body)
    if too_deep(body, MAX_DEPTH):
        raise BadRequest(
            "request body is nested too deeply",
            {"body": f"nested deeper than {MAX_DEPTH} levels"},
        )
    try:
        value = msgspec.json.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadRequest("request body is not valid JSON", {"body": str(exc)}) from None
    for path, reason in refused_values(value, ""):
        raise Invalid.field(path or "body", reason)
    try:
        msgspec.convert(whole_numbers(value), into, strict=True)
    except msgspec.ValidationError as exc:
        key, reason = validation_field(str(exc))
        raise Invalid.field(key or "body", reason) from None


async def check_form(request: Request[Any, Any, Any]) -> None:
    media_type, _ = request.content_type
    if media_type == RequestEncodingType.URL_ENCODED:
        _check_utf8(await request.body())
    try:
        form = await request.form()
    except UnicodeDecodeError as exc:  # a multipart field's bytes
        raise BadRequest(
            "form field is not valid UTF-8", {"body": f"not UTF-8 at byte {exc.start}"}
        ) from None
    for key, value in form.multi_items():
        if "\x00" in key or (isinstance(value, str) and "\x00" in value):
            raise Invalid.field(_shown(key), NUL_REASON)


def _check_utf8(body: bytes) -> None:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(
            "request body is not valid UTF-8", {"body": f"not UTF-8 at byte {exc.start}"}
        ) from None


def too_deep(body: bytes, limit: int) -> bool:
    """Whether the JSON text opens arrays and objects deeper than ``limit``, found
    without decoding it (a decoder would recurse once per level, and msgspec raises
    RecursionError, a 500, on a thousand): strings out, every byte but brackets out,
    then one pass counting the depth. Balanced or not: "[" × 2000 is too deep too."""
    depth = 0
    for byte in _STRING.sub(b"", body).translate(None, _NOT_BRACKETS):
        if byte in _OPENING:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def refused_values(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """NUL characters (PostgreSQL text cannot hold them) and integers beyond bigint, with
    the path of each, in msgspec's notation (``schedule.days[0]``)."""
    if isinstance(value, str):
        if "\x00" in value:
            yield path, NUL_REASON
    elif _is_int(value):
        if not INT64_MIN <= value <= INT64_MAX:
            yield path, RANGE_REASON
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{_shown(key)}" if path else _shown(key)
            if "\x00" in key:
                yield inner, NUL_REASON
            yield from refused_values(item, inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from refused_values(item, f"{path}[{index}]")


def whole_numbers(value: Any) -> Any:
    """Numbers without a fraction as integers: JSON does not tell 20 from 20.0, and JSON
    Schema counts both as integers; strict decoding would refuse 20.0 where an integer is
    expected. Only strings stay strings ("20" is no number)."""
    if isinstance(value, float) and value.is_integer() and INT64_MIN <= value <= INT64_MAX:
        return int(value)
    if isinstance(value, dict):
        return {key: whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [whole_numbers(item) for item in value]
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shown(text: str) -> str:
    """A name fit to be echoed in an error: NULs escaped, bounded."""
    return text.replace("\x00", "\\u0000")[:80]
