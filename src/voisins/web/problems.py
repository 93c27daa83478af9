"""What a page does when it cannot show what was asked: no session → the login page,
then back; a refusal (403), nothing there (404), no longer possible (409), a form whose
CSRF token expired, even an unexpected error (logged as the API logs it) → a page in the
layout saying so in the reader's language, never the API's JSON.

Page routers install ``PAGE_ERROR_HANDLERS``: a handler simply lets the services' domain
errors go, the request's transaction rolls back, and the refusal is audited like the
API's (``voisins.api.refusals``, after the ``operation_id`` of the page)."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request, Response
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.response import Redirect, Template
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from voisins.api.errors import as_overload, http_error_handler, internal_error_handler
from voisins.errors import DomainError, Overloaded, TooManyRequests
from voisins.web.forms import N_
from voisins.web.pages import Me, page, safe_next

ME_STATE_KEY = "web_me"

# (title, explanation) by status code.
MESSAGES: dict[int, tuple[str, str]] = {
    400: (N_("Demande incomplète"), N_("Cette demande n'a pas pu être comprise. Réessayez.")),
    403: (
        N_("Accès refusé"),
        N_(
            "Cette page n'est pas ouverte à votre compte. Si vous pensez que c'est une "
            "erreur, parlez-en à votre centre social."
        ),
    ),
    404: (N_("Page introuvable"), N_("Ce que vous cherchez n'existe pas, ou n'est pas à vous.")),
    409: (
        N_("Ce n'est plus possible"),
        N_(
            "La situation a changé entre-temps (quelqu'un a peut-être déjà répondu). "
            "Rechargez la page pour voir où elle en est."
        ),
    ),
    422: (N_("Vérifiez votre saisie"), N_("Une information donnée ne convient pas.")),
    # Quotas per account (accounts/quotas.py): said plainly, without suspicion.
    429: (
        N_("Trop d'essais en peu de temps"),
        N_(
            "Vous avez fait cette action plusieurs fois en peu de temps. Pour protéger les "
            "voisins, elle est suspendue un moment. Rien n'a été enregistré."
        ),
    ),
    500: (
        N_("Une erreur est survenue"),
        N_("Elle est notée et nous allons la corriger. Réessayez dans un moment."),
    ),
    503: (
        N_("Service indisponible"),
        N_("Un service dont cette page a besoin ne répond pas. Réessayez dans un moment."),
    ),
}


# A form sent without its token, or with an old one (the CSRF cookie changed).
EXPIRED_FORM = (
    N_("Formulaire expiré"),
    N_("Ce formulaire a expiré. Revenez à la page précédente, rechargez-la et réessayez."),
)


class NotSignedIn(Exception):
    """The page needs a signed-in person (staff: with their second factor)."""


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def problem_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    exc = as_overload(exc) or exc
    raised_status = exc.status_code if isinstance(exc, DomainError | HTTPException) else 500
    if raised_status >= 500 and not isinstance(exc, DomainError):
        internal_error_handler(request, exc)  # logs it (classes and places only)
    status = raised_status if raised_status in MESSAGES else (500 if raised_status >= 500 else 400)
    title, message = MESSAGES[status]
    if isinstance(exc, PermissionDeniedException) and "CSRF" in str(exc.detail):
        title, message = EXPIRED_FORM
    me: Me | None = request.state.get(ME_STATE_KEY)
    retry_s = exc.retry_after_s if isinstance(exc, TooManyRequests | Overloaded) else None
    # Whole minutes, rounded up: "in 0 minutes" would be wrong.
    wait_minutes = math.ceil(retry_s / 60) if retry_s else None
    if is_htmx(request):
        # htmx swaps only 2xx answers: the explanation replaces the page's content.
        fragment: Template = page(
            request, "_problem.html", me, title=title, message=message, status=status,
            wait_minutes=wait_minutes,
        )  # fmt: skip
        fragment.headers["HX-Retarget"] = "#contenu"
        fragment.headers["HX-Reswap"] = "innerHTML"
        return fragment
    shown = page(
        request, "problem.html", me, status_code=status, title=title, message=message,
        status=status, wait_minutes=wait_minutes,
    )  # fmt: skip
    if retry_s:
        shown.headers["Retry-After"] = str(retry_s)
    return shown


def not_signed_in(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    path = request.url.path
    if request.method != "GET":
        # After logging in, come back to the page the form was on, not to its action.
        path = safe_next(urlsplit(request.headers.get("referer", "")).path)
    target = f"/connexion?suite={quote(path)}"
    if is_htmx(request):
        return Response(content=b"", status_code=200, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)


PAGE_ERROR_HANDLERS: ExceptionHandlersMap = {
    DomainError: problem_page,
    HTTPException: problem_page,
    # Listed by name: the app's JSON mapping names them, and the most specific wins.
    PoolTimeout: problem_page,
    DBAPIError: problem_page,
    Exception: problem_page,
    NotSignedIn: not_signed_in,
}


# Paths answered in JSON whatever goes wrong: the API, its documentation, the probes
# and the files (a missing file is no page).
JSON_PREFIXES = ("/api/", "/schema", "/health", "/static/", "/unsubscribe/")


def site_http_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """An address no route answers (a mistyped page, an old link): a page in the
    layout for people, JSON for the API."""
    if request.url.path.startswith(JSON_PREFIXES):
        return http_error_handler(request, exc)
    return problem_page(request, exc)
