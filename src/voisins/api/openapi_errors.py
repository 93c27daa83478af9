"""The one error body of the API (api/errors.py ``ErrorBody``) and each error status's
response, as the OpenAPI document shows them: its component name, description, example
and Retry-After header.

Which operation answers which status is api/openapi.py's (``error_statuses``); this
module says only what each status looks like.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def error_response(spec: ErrorResponse) -> dict[str, Any]:
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
