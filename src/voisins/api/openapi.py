"""The OpenAPI document, made to tell the truth about the API.

Litestar builds the paths from the handlers; what it cannot know is added here, from
the handlers themselves, in one place instead of on every handler:

- who may call an operation: the viewer dependency a handler asks for (api/deps.py)
  gives its ``security`` (bearer token or session cookie; the cookie authenticates API
  reads only, ``token_of``), none for anonymous operations;
- every error an operation can answer, each with the one error body the API sends
  (api/errors.py ``ErrorBody``), in place of Litestar's own 400 schema;
- request bodies as msgspec validates them (``additionalProperties: false`` for
  structs that forbid unknown fields, the same patterns and bounds), each with an
  example from ``REQUEST_EXAMPLES``.

Here: who may call what, which statuses each operation answers, the rules on
parameters, and the plugin that completes Litestar's document. What each error status
looks like is api/openapi_errors.py's, the bodies' schemas api/openapi_bodies.py's,
their examples api/openapi_examples.py's.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import OpenAPI
from litestar.plugins import ReceiveRoutePlugin
from litestar.response import ServerSentEvent
from litestar.routes import BaseRoute, HTTPRoute

from voisins.api.deps import SAFE_METHODS, SESSION_COOKIE
from voisins.api.openapi_bodies import INT64, as_ecma_pattern, struct_components
from voisins.api.openapi_errors import ERROR_SCHEMA, ERRORS, error_response
from voisins.api.openapi_examples import REQUEST_EXAMPLES
from voisins.idempotency import HEADER as IDEMPOTENCY_HEADER
from voisins.idempotency import KEY_PATTERN as IDEMPOTENCY_KEY

BEARER = "bearerToken"
COOKIE = "sessionCookie"
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})

SECURITY_SCHEMES: dict[str, Any] = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "The `token` that POST /api/v1/auth/login answers. Staff accounts "
        "must log in with their TOTP code.",
    },
    COOKIE: {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The browser session set by the login. On the API it authenticates "
        "reads only (GET): writes need the bearer token, so that another site cannot make "
        "a browser write.",
    },
}


class Access(enum.Enum):
    ANONYMOUS = "anonymous"  # no viewer at all
    OPTIONAL = "optional"  # anonymous, or the signed-in viewer
    SESSION = "session"  # any live session, staff before their second factor included
    SIGNED_IN = "signed_in"  # a viewer fully signed in (staff after TOTP)


def access_of(handler: HTTPRouteHandler) -> Access:
    """Who may call a handler, from the viewer dependency it asks for (api/deps.py)."""
    params = handler.parsed_fn_signature.parameters
    if "viewer" in params:
        return Access.SIGNED_IN
    if "session_viewer" in params:
        return Access.SESSION
    if "optional_viewer" in params:
        return Access.OPTIONAL
    return Access.ANONYMOUS


def body_type(handler: HTTPRouteHandler) -> Any:
    data = handler.parsed_fn_signature.parameters.get("data")
    return data.annotation if data is not None else None


def _response_key(status: int) -> str:
    return ERRORS[status].name


def error_statuses(
    handler: HTTPRouteHandler, method: str, operation: Mapping[str, Any]
) -> set[int]:
    """Every error status this operation may answer, from what it takes and who may call it."""
    access = access_of(handler)
    has_body = "requestBody" in operation
    parameters = operation.get("parameters", [])
    has_path_ids = any(p.get("in") == "path" for p in parameters)
    # A database connection from a pool that may be busy.
    statuses = {503} if "tx" in handler.parsed_fn_signature.parameters else set()
    if has_body or parameters:
        statuses |= {400, 422}
    if has_body:
        statuses |= {404, 413, 415}
    if has_path_ids:
        statuses.add(404)
    if method in WRITE_METHODS:
        statuses |= {409, 422, 429}
    if access in (Access.ANONYMOUS, Access.OPTIONAL):
        # Anonymous callers are rate-limited per client address.
        statuses.add(429)
    if access in (Access.SESSION, Access.SIGNED_IN):
        statuses.add(401)
    if access is Access.SIGNED_IN:
        statuses.add(403)
    return statuses | EXTRA_ERRORS.get(str(operation.get("operationId")), set())


# What the rules above cannot see: statuses a service raises for reasons of its own.
EXTRA_ERRORS: dict[str, set[int]] = {
    # Wrong password or missing code; a staff account without TOTP enrolled.
    "login": {401, 403},
    "emailConfirm": {403},
    # A resident who never offered help has no volunteer profile.
    "getVolunteerProfile": {404},
    # A side reading a match's conversation before the match is confirmed.
    "getConversation": {409},
    "listMessages": {409},
    "conversationEvents": {409},
}


def security_of(handler: HTTPRouteHandler, method: str) -> list[dict[str, list[str]]]:
    access = access_of(handler)
    if access is Access.ANONYMOUS:
        return []
    schemes: list[dict[str, list[str]]] = [{BEARER: []}]
    if method.upper() in SAFE_METHODS:
        schemes.append({COOKIE: []})
    if access is Access.OPTIONAL:
        schemes.append({})
    return schemes


# Rules on parameters that a service checks (the handler cannot declare them).
PARAMETER_RULES: dict[tuple[str, str], dict[str, Any]] = {
    # vetting.search: 2 to 100 characters once stripped; asked even when absent.
    ("searchVolunteers", "q"): {
        "required": True,
        "schema": {"type": "string", "pattern": as_ecma_pattern(r"^\s*\S[\s\S]{0,98}\S\s*$")},
    },
    ("*", IDEMPOTENCY_HEADER): {
        "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY.pattern},
    },
    # A message id, optional (api/conversations.py MessageIdQuery): Litestar writes the
    # optional integer as a oneOf without its lower bound.
    **{
        (operation_id, name): {
            "schema": {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**63 - 1}
        }
        for operation_id, name in (
            ("listMessages", "after"),
            ("listMessages", "before"),
            ("conversationEvents", "after"),
        )
    },
    # moderation/stats.parse_day: a day as YYYY-MM-DD, or empty for the default.
    **{
        (operation_id, name): {
            "allowEmptyValue": True,
            "schema": {
                "anyOf": [
                    # moderation/stats.py FIRST_DAY..LAST_DAY: years 2000 to 2999.
                    {
                        "type": "string",
                        "format": "date",
                        "pattern": "^2[0-9]{3}-[0-9]{2}-[0-9]{2}$",
                    },
                    {"type": "string", "maxLength": 0},
                ]
            },
        }
        for operation_id in (
            "getCentreStatistics",
            "exportCentreStatistics",
            "getCentreActivityMap",
        )
        for name in ("from", "to")
    },
}


def _with_rules(operation_id: str, parameters: list[dict[str, Any]]) -> None:
    for parameter in parameters:
        schema = parameter.get("schema", {})
        # Ids are PostgreSQL bigints: integers beyond are not ids (and are refused).
        if schema.get("type") == "integer":
            parameter["schema"] = schema = {"format": "int64", **INT64, **schema}
        name = parameter.get("name", "")
        rule = PARAMETER_RULES.get((operation_id, name)) or PARAMETER_RULES.get(("*", name))
        if rule:
            parameter.update({k: v for k, v in rule.items() if k != "schema"})
            if "schema" in rule:
                described = (
                    {"description": schema["description"]} if "description" in schema else {}
                )
                parameter["schema"] = {**described, **rule["schema"]}


def describe(schema: dict[str, Any], handlers: Mapping[str, HTTPRouteHandler]) -> dict[str, Any]:
    """The document Litestar generated, completed as the module docstring says."""
    schema = copy.deepcopy(schema)
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    components.setdefault("responses", {}).update(
        {spec.name: error_response(spec) for spec in ERRORS.values()}
    )
    annotations = [body_type(h) for h in handlers.values()]
    annotations += [h.parsed_fn_signature.return_type.annotation for h in handlers.values()]
    for name, component in struct_components(annotations).items():
        # Litestar names components as msgspec does; a name it gave another class (the
        # same properties or not) keeps Litestar's schema.
        known = schemas.get(name)
        if known is None or set(known.get("properties", {})) == set(component["properties"]):
            schemas[name] = component
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            handler = handlers.get(operation.get("operationId", ""))
            if handler is None:
                continue
            _describe_operation(path, method, operation, handler)
    return schema


def _describe_operation(
    path: str, method: str, operation: dict[str, Any], handler: HTTPRouteHandler
) -> None:
    operation["security"] = security_of(handler, method)
    _with_rules(str(operation.get("operationId")), operation.get("parameters", []))
    responses = operation.setdefault("responses", {})
    statuses = error_statuses(handler, method, operation)
    if operation.get("operationId") in PAGE_OPERATIONS:
        _describe_page(operation, statuses)
        return
    if not path.startswith("/api/"):
        return  # the health probes: their answers are documented by their handlers
    if handler.parsed_fn_signature.return_type.annotation is ServerSentEvent:
        names = SSE_EVENT_NAMES.get(str(operation.get("operationId")), ["inbox"])
        responses["200"]["content"] = {"text/event-stream": {"schema": sse_event(names)}}
    for status in sorted(statuses):
        responses[str(status)] = {"$ref": f"#/components/responses/{_response_key(status)}"}
    annotation = body_type(handler)
    if annotation is not None:
        content = operation["requestBody"]["content"]["application/json"]
        name = getattr(annotation, "__name__", "")
        content["schema"] = {"$ref": f"#/components/schemas/{name}"}
        # A struct missing from the table goes without; tests/test_fuzz_openapi.py says
        # which (test_request_bodies_refuse_unknown_fields_and_carry_a_valid_example).
        if name in REQUEST_EXAMPLES:
            content["example"] = REQUEST_EXAMPLES[name]


# One event of a Server-Sent Events stream (notify/live.py): ``retry`` first, then the
# stream's named events, comments as heartbeats.
def sse_event(names: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "description": "One event of the stream",
        "properties": {
            "event": {"type": "string", "enum": names},
            "data": {"type": "string"},
            "id": {"type": "string"},
            "retry": {"type": "integer", "minimum": 0},
        },
    }


# The events each stream names: the live inbox's ``inbox`` (``ready`` once subscribed,
# then one per notification); a conversation's ``ready``, ``message`` (id = the
# message's id, data = the message) and ``contacts`` (api/conversations.py).
SSE_EVENT_NAMES: dict[str, list[str]] = {
    "inboxEvents": ["inbox"],
    "conversationEvents": ["ready", "message", "contacts"],
}

# The unsubscribe link of the mails, outside /api/ (api/notifications.py).
PAGE_OPERATIONS = frozenset({"unsubscribe", "unsubscribePage"})


def _describe_page(operation: dict[str, Any], statuses: set[int]) -> None:
    """Operations outside /api/ (the unsubscribe link) answer a page to browsers, JSON to
    machines; a link that is not valid is a 404 of either kind."""
    responses = operation["responses"]
    responses.pop("400", None)
    page = {"text/html": {"schema": {"type": "string"}}}
    for status in sorted(statuses | {404}):
        reference = {"$ref": "#/components/schemas/Error"}
        responses[str(status)] = {
            "description": ERRORS[status].description,
            "content": {**page, "application/json": {"schema": reference}},
        }
    ok = responses.get("200", {})
    ok["content"] = {**page, **ok.get("content", {})}


def allow_every_method(route: HTTPRoute) -> None:
    """OPTIONS answers ``Allow`` with every method the path has, as the document lists.

    Litestar (2.25) makes a path's OPTIONS handler with the path's first handler and
    keeps it when the path's other handlers join that route: its ``Allow`` then names
    the first handler's methods only (``OPTIONS, POST`` for GET and POST /posts). Its
    answer reads ``route.methods`` from the route it was made with: point it at the
    route that holds them all."""
    for handler in route.route_handlers:
        fn = getattr(handler.fn, "__wrapped__", handler.fn)
        if getattr(fn, "__name__", "") != "options_handler":
            continue
        for cell in getattr(fn, "__closure__", None) or ():
            if isinstance(cell.cell_contents, HTTPRoute):
                cell.cell_contents = route


class _DocumentedOpenAPI(OpenAPI):
    """Litestar's document object, serialised through ``describe``."""

    _handlers: Mapping[str, HTTPRouteHandler] = {}

    def to_schema(self) -> dict[str, Any]:
        return describe(super().to_schema(), self._handlers)


@dataclass
class _DocumentedConfig(OpenAPIConfig):
    docs: ApiDocs | None = None

    def to_openapi_schema(self) -> OpenAPI:
        base = super().to_openapi_schema()
        document = _DocumentedOpenAPI(**{k: getattr(base, k) for k in base.__dataclass_fields__})
        document._handlers = self.docs.handlers if self.docs else {}
        return document


# What the API checks of every request before any handler (api/edge.py).
EVERY_REQUEST = """
Every request: bodies are JSON (`Content-Type: application/json`, else 415); text holds no
NUL character (U+0000) and integers fit in 64 bits (else 422 naming the field).
"""


class ApiDocs(ReceiveRoutePlugin):
    """Registered as a plugin (it sees every route the app gets) and as the app's
    ``openapi_config`` (``ApiDocs.config``)."""

    def __init__(self, *, title: str, version: str, description: str) -> None:
        self.handlers: dict[str, HTTPRouteHandler] = {}
        self.config = _DocumentedConfig(
            title=title,
            version=version,
            description=description + EVERY_REQUEST,
            path="/schema",
            render_plugins=[SwaggerRenderPlugin(), ScalarRenderPlugin()],
            docs=self,
        )

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        allow_every_method(route)
        for handler in route.route_handlers:
            if isinstance(handler.operation_id, str):
                self.handlers[handler.operation_id] = handler
