"""The few domain exceptions that services raise.

One place (``voisins.api.errors``) turns them into HTTP JSON
``{"error", "detail", "fields"}``; domain code never builds HTTP responses.
"""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """Base of every error a user may be told about."""

    status_code = 400
    code = "bad_request"

    def __init__(self, detail: str, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields: dict[str, str] = dict(fields or {})


class BadRequest(DomainError):
    status_code = 400
    code = "bad_request"


class Unauthenticated(DomainError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    """A body in a format the endpoint does not read (the API reads JSON only)."""

    status_code = 415
    code = "unsupported_media_type"


class Invalid(DomainError):
    """Input that parses but breaks a rule; ``fields`` maps field paths to reasons."""

    status_code = 422
    code = "invalid"

    def __init__(self, detail: str, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(detail, fields)

    @classmethod
    def field(cls, path: str, reason: str) -> Invalid:
        return cls(f"{path}: {reason}", {path: reason})


class Overloaded(DomainError):
    """Every database connection is busy (or a statement ran out of time): a clear 503
    with Retry-After instead of a request that hangs, then fails."""

    status_code = 503
    code = "overloaded"

    def __init__(self, retry_after_s: int = 2) -> None:
        super().__init__("the service is busy; please try again in a moment")
        self.retry_after_s = retry_after_s


class TooManyRequests(DomainError):
    status_code = 429
    code = "too_many_requests"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s
