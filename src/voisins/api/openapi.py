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
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, get_args

import msgspec
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import OpenAPI
from litestar.plugins import ReceiveRoutePlugin
from litestar.response import ServerSentEvent
from litestar.routes import BaseRoute, HTTPRoute

from voisins.api.deps import SAFE_METHODS, SESSION_COOKIE
from voisins.idempotency import _KEY as IDEMPOTENCY_KEY
from voisins.idempotency import HEADER as IDEMPOTENCY_HEADER

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

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Error",
    "description": "Every error the API answers.",
    "properties": {
        "error": {
            "type": "string",
            "description": "A stable code: bad_request, unauthenticated, forbidden, not_found, "
            "conflict, payload_too_large, unsupported_media_type, invalid, too_many_requests, "
            "overloaded, unavailable",
        },
        "detail": {"type": "string", "description": "What went wrong, for people"},
        "fields": {
            "type": "object",
            "description": "The fields at fault (dotted paths) and why",
            "additionalProperties": {"type": "string"},
        },
    },
    "required": ["error", "detail", "fields"],
    "additionalProperties": False,
}

RETRY_AFTER = {
    "description": "Seconds to wait before trying again",
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}


@dataclass(frozen=True)
class ErrorResponse:
    name: str
    description: str
    example: tuple[str, str, dict[str, str]]
    retry_after: bool | None = None  # None: no header; False: sometimes; True: always


ERRORS: dict[int, ErrorResponse] = {
    400: ErrorResponse(
        "BadRequest",
        "The request cannot be read (malformed JSON, wrong encoding)",
        ("bad_request", "Invalid request body", {}),
    ),
    401: ErrorResponse(
        "Unauthenticated",
        "No valid session: log in first, or wrong credentials",
        ("unauthenticated", "log in first (session cookie or bearer token)", {}),
    ),
    403: ErrorResponse(
        "Forbidden",
        "Not allowed for this account (role, centre, or a staff account without its second factor)",
        ("forbidden", "staff accounts need their second factor (TOTP) first", {}),
    ),
    404: ErrorResponse(
        "NotFound",
        "No such item, or not one this account may see",
        ("not_found", "post not found", {}),
    ),
    409: ErrorResponse(
        "Conflict",
        "The item's state does not allow this (already done, closed, taken)",
        ("conflict", "this post is closed", {}),
    ),
    413: ErrorResponse(
        "PayloadTooLarge",
        "The request body is too large",
        ("payload_too_large", "request body is too large", {}),
    ),
    415: ErrorResponse(
        "UnsupportedMediaType",
        "The body is not JSON (Content-Type: application/json)",
        ("unsupported_media_type", "send JSON (Content-Type: application/json)", {}),
    ),
    422: ErrorResponse(
        "Invalid",
        "A field breaks a rule; `fields` names each one",
        ("invalid", "title: Expected `str` of length >= 3", {"title": "too short"}),
    ),
    429: ErrorResponse(
        "TooManyRequests",
        "Too many of these lately: try again after Retry-After seconds",
        ("too_many_requests", "too many attempts; try again later", {}),
        retry_after=True,
    ),
    503: ErrorResponse(
        "Unavailable",
        "The service is busy or a dependency is down: try again shortly",
        ("overloaded", "the service is busy; please try again in a moment", {}),
        retry_after=False,
    ),
}


def _error_response(spec: ErrorResponse) -> dict[str, Any]:
    error, detail, fields = spec.example
    response: dict[str, Any] = {
        "description": spec.description,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Error"},
                "example": {"error": error, "detail": detail, "fields": fields},
            }
        },
    }
    if spec.retry_after is not None:
        response["headers"] = {"Retry-After": {**RETRY_AFTER, "required": spec.retry_after}}
    return response


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


# A valid body for each request struct: shown in the docs, and sent first by fuzzers.
REQUEST_EXAMPLES: dict[str, dict[str, Any]] = {
    "RegisterIn": {
        "email": "camille.martin@example.org",
        "password": "un mot de passe de phrase",
        "display_name": "Camille M.",
        "locale": "fr",
    },
    "LoginIn": {"email": "camille.martin@example.org", "password": "un mot de passe de phrase"},
    "TotpCodeIn": {"code": "123456"},
    "ResetRequestIn": {"email": "camille.martin@example.org"},
    "ResetConfirmIn": {
        "token": "Jx1vQ8mB0cYk3rT7wZp2sN5uE4hA9dLf",
        "password": "un autre mot de passe",
    },
    "EmailConfirmIn": {"token": "Jx1vQ8mB0cYk3rT7wZp2sN5uE4hA9dLf"},
    "PasswordChangeIn": {
        "current_password": "un mot de passe de phrase",
        "new_password": "un autre mot de passe",
    },
    "EmailChangeIn": {
        "current_password": "un mot de passe de phrase",
        "email": "camille.m@example.org",
    },
    "MeUpdate": {"display_name": "Camille M.", "locale": "fr", "phone": "06 12 34 56 78"},
    "StaffUserIn": {
        "email": "claire.dubois@example.org",
        "display_name": "Claire Dubois",
        "role": "social_worker",
        "centre_id": 1,
    },
    "CentreIn": {
        "name": "Centre social de la Chapelle",
        "territory": {
            "type": "Polygon",
            "coordinates": [
                [[2.35, 48.88], [2.37, 48.88], [2.37, 48.9], [2.35, 48.9], [2.35, 48.88]]
            ],
        },
        "contact_email": "accueil@example.org",
        "moderation_level": "sensitive_only",
    },
    "CentreUpdate": {"name": "Centre social de la Chapelle", "contact_phone": "01 40 00 00 00"},
    "MemberIn": {"user_id": 2, "member_role": "social_worker"},
    "PartnerIn": {"partner_id": 2},
    "PostIn": {
        "kind": "request",
        "category": "courses",
        "title": "Courses du samedi",
        "location": {"lon": 2.3601, "lat": 48.8867},
        "schedule": {"type": "weekly", "days": [6], "start": "10:00", "end": "11:30"},
        "description": "Porter les sacs depuis le marché.",
    },
    "PostUpdate": {"title": "Courses du samedi matin", "volunteers_needed": 1},
    "CloseIn": {"reason": "Trouvé une solution avec la famille"},
    "VolunteerIn": {
        "location": {"lon": 2.3601, "lat": 48.8867},
        "radius_km": 2,
        "categories": ["courses", "visite_convivialite"],
        "availability": [{"day": 6, "start": "09:00", "end": "12:00"}],
        "languages": ["fr"],
    },
    "VettingIn": {"id_checked_at": "2026-03-02T10:00:00Z", "record_extract_date": "2026-02-20"},
    "AssistedIn": {
        "display_name": "Mme L.",
        "consent": {"method": "in_person", "obtained_at": "2026-03-02T10:00:00Z", "centre_id": 1},
        "locale": "fr",
    },
    "ConsentIn": {"method": "phone", "obtained_at": "2026-03-02T10:00:00Z", "centre_id": 1},
    "ReasonIn": {"reason": "Horaires qui ne conviennent plus"},
    "StaffReasonIn": {
        "note": "Créneaux incompatibles avec le suivi prévu",
        "message": "Ce créneau ne peut pas être retenu, merci de votre proposition.",
    },
    "FeedbackIn": {"kind": "thanks", "comment": "Merci pour les courses !"},
    "StopIn": {"reason": "Déménagement"},
    "PreferencesIn": {
        "channels": {"match.proposed": ["email", "inapp"]},
        "quiet_start": "21:00",
        "quiet_end": "08:00",
        "daily_cap": 20,
    },
    "WebhookIn": {
        "url": "https://partenaire.example.org/voisins",
        "secret": "a-long-shared-secret-1234",
        "topics": ["post.approved"],
    },
    "ErasureIn": {"confirm": True},
    "ReviewDecisionIn": {
        "note": "Demande claire, lieu dans le quartier",
        "message": "Votre demande est publiée.",
    },
    "ContactIn": {"outcome": "Appel passé, tout va bien", "contacted_at": "2026-03-02T10:00:00Z"},
    "CheckinIn": {"visited_on": "2026-03-02", "note": "Visite faite"},
    "ReportIn": {"reason": "no_show", "match_id": 1, "comment": "Personne au rendez-vous"},
    "ResolveIn": {"resolution": "Échange avec les deux personnes, clos"},
    "BlockIn": {"match_id": 1},
    "SuspendIn": {"note": "Signalements répétés, vus avec la personne"},
    "MessageIn": {"text": "Bonjour, je peux passer jeudi vers 10 h, cela vous convient ?"},
    "ReadIn": {"up_to": 1},
    "ContactShareIn": {"phone": False, "email": True},
    "ApplicationIn": {
        "side": "host",
        "centre_id": 1,
        "birth_date": "1948-05-12",
        "available_from": "2026-09-01",
        "location": {"lon": 2.3546, "lat": 48.8849},
        "formulas": ["solidarity"],
        "monthly_eur": 150,
        "services": ["evening_presence", "shopping"],
        "languages": ["fr"],
        "habits": {"has_pets": True, "accepts_smoker": False, "rhythm": "early"},
        "room": {"size_m2": 12, "floor": 2, "lift": False, "private_bathroom": False},
        "about": "Une chambre calme sur cour, près du métro.",
    },
    "ApplicationStepIn": {
        "kind": "interview",
        "done_on": "2026-03-02",
        "outcome": "favourable",
        "note": "Entretien au centre, projet clair",
    },
    "PairIn": {"host_application_id": 1, "young_application_id": 2},
    "PairStepIn": {"kind": "meeting", "done_on": "2026-03-10", "outcome": "favourable"},
    "PairEndIn": {
        "reason": "term_reached",
        "ended_on": "2026-06-30",
        "host_feedback": "Une belle année, merci",
        "young_feedback": "Très bonne entente",
    },
    "DocumentIn": {"kind": "charter"},
}


def _struct_types(annotation: Any) -> Iterable[type[msgspec.Struct]]:
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        yield annotation
    for arg in get_args(annotation):
        yield from _struct_types(arg)


# Python's ``\s`` (msgspec validates with Python's ``re``) is not ECMAScript's, which
# JSON Schema patterns use: Python counts \x1c-\x1f and \x85 as spaces and not \ufeff.
PYTHON_SPACES = (
    "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0"
    "\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
)


# Python's anchors of the whole string; ECMAScript's ^ and $ are those (no multiline flag).
ANCHORS = {"\\A": "^", "\\Z": "$"}


def as_ecma_pattern(pattern: str) -> str:
    """A Python regular expression, written so that ECMAScript reads it the same way:
    ``\\s`` and ``\\S`` spelled out, ``\\A`` and ``\\Z`` as ``^`` and ``$``; ``[\\s\\S]``
    (any character) is the same in both."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        pair = pattern[i : i + 2]
        if pattern.startswith(("[\\s\\S]", "[\\S\\s]"), i):
            out.append(pattern[i : i + 6])
            i += 6
            continue
        if pair in ("\\s", "\\S"):
            if in_class and pair == "\\S":
                raise ValueError(f"cannot spell \\S inside a class for JSON Schema: {pattern}")
            spaces = PYTHON_SPACES if in_class else f"[{PYTHON_SPACES}]"
            out.append(spaces if pair == "\\s" else f"[^{PYTHON_SPACES}]")
            i += 2
            continue
        if pair in ANCHORS:
            out.append(ANCHORS[pair])
            i += 2
            continue
        if pattern[i] == "\\":
            out.append(pair)
            i += 2
            continue
        if pattern[i] == "[" and not in_class:
            in_class = True
        elif pattern[i] == "]" and in_class:
            in_class = False
        out.append(pattern[i])
        i += 1
    return "".join(out)


INT64 = {"minimum": -(2**63), "maximum": 2**63 - 1}


def _as_validated(node: Any) -> Any:
    """A msgspec schema as the API reads it: patterns with Python's meaning, integers
    within PostgreSQL's bigint (api/edge.py refuses the others)."""
    if isinstance(node, dict):
        out = {
            k: as_ecma_pattern(v) if k == "pattern" and isinstance(v, str) else _as_validated(v)
            for k, v in node.items()
        }
        if out.get("type") == "integer":
            out = {**INT64, **out}
        return out
    if isinstance(node, list):
        return [_as_validated(v) for v in node]
    return node


def struct_components(annotations: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """The structs' schemas as msgspec itself writes them: what the API accepts is
    exactly what msgspec validates (unknown fields refused, patterns, bounds), and what
    it answers exactly what msgspec encodes (no property beyond the struct's)."""
    types = sorted(
        {t for annotation in annotations for t in _struct_types(annotation)},
        key=lambda t: (t.__name__, t.__module__),
    )
    if not types:
        return {}
    _, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}"
    )
    for component in components.values():
        if "properties" in component:
            # msgspec encodes a struct's fields and nothing else.
            component["additionalProperties"] = False
    for struct in types:
        _with_key_names(struct, components.get(struct.__name__))
    return _as_validated(components)


def _with_key_names(struct: type[msgspec.Struct], component: dict[str, Any] | None) -> None:
    """msgspec checks the keys of a dict typed with a Literal or an enum, and does not
    write them in its schema: say which keys are allowed."""
    info = msgspec.inspect.type_info(struct)
    if component is None or not isinstance(info, msgspec.inspect.StructType):
        return
    for field in info.fields:
        kind = field.type
        if isinstance(kind, msgspec.inspect.DictType):
            keys = kind.key_type
            values = None
            if isinstance(keys, msgspec.inspect.LiteralType):
                values = list(keys.values)
            elif isinstance(keys, msgspec.inspect.EnumType):
                values = [member.value for member in keys.cls]
            prop = component["properties"].get(field.encode_name)
            if values is not None and prop is not None:
                prop["propertyNames"] = {"enum": values}


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
        {spec.name: _error_response(spec) for spec in ERRORS.values()}
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
        # A struct missing from the table goes without (tests/test_openapi.py says which).
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
