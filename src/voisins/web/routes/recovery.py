"""Pages for a forgotten password: ask for a link by e-mail, then choose a new password.

The reset itself is the accounts service's (accounts/resets.py), as for the API: asking
answers the same whether or not an account has this address, and the link's token is
checked, used once, when the new password is submitted."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from voisins.accounts import passwords, resets
from voisins.accounts.schemas import ResetConfirmIn, ResetRequestIn
from voisins.api.deps import OptionalViewer, Tx
from voisins.errors import Invalid
from voisins.web.forms import N_, FormError, convert, form_values
from voisins.web.pages import me_of, page

# The e-mail's link (notify/senders.py) leads here, with the token as ``jeton``.
NEW_PASSWORD_PATH = "/mot-de-passe/nouveau"
# The login page shows its notice when it is reached with this query.
CHANGED_QUERY = "mot-de-passe=change"
# ResetConfirmIn's bounds: anything else cannot be a link we sent.
TOKEN_LENGTHS = range(20, 101)
# A new password refused as too easy to guess (accounts/passwords.py): here, at sign-up
# and on the account page.
TOO_EASY = N_(
    "Ce mot de passe est trop facile à deviner : il est très courant, ou il a déjà "
    "circulé après un piratage. Choisissez plutôt une phrase de quelques mots sans "
    "rapport entre eux."
)


def too_easy(exc: Invalid, field: str) -> bool:
    """Whether a service refused the new password in ``field`` as too easy to guess."""
    return exc.fields.get(field) == passwords.TOO_EASY


@get("/mot-de-passe/oublie", name="password_forgotten_page", include_in_schema=False)
async def forgotten_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Template:
    return page(request, "public/password_forgotten.html", await me_of(tx, optional_viewer),
                errors={}, values={}, sent=False)  # fmt: skip


@post("/mot-de-passe/oublie", name="password_forgotten_submit", include_in_schema=False)
async def forgotten_submit(request: Request[Any, Any, Any], tx: Tx) -> Template:
    values = await form_values(request)
    try:
        data = convert(values, ResetRequestIn)
    except FormError:
        # Only the address's shape is judged here; whether an account has it, never.
        errors = {"email": N_("Entrez une adresse e-mail complète, par exemple nom@exemple.fr.")}
        return page(request, "public/password_forgotten.html", None, status_code=400,
                    errors=errors, values=values, sent=False)  # fmt: skip
    await resets.request_reset(tx, data.email)
    return page(request, "public/password_forgotten.html", None, errors={}, values={}, sent=True)


@get(NEW_PASSWORD_PATH, name="password_new_page", include_in_schema=False)
async def new_password_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Template:
    token = request.query_params.get("jeton") or ""
    me = await me_of(tx, optional_viewer)
    if len(token) not in TOKEN_LENGTHS:
        return page(request, "public/password_link_invalid.html", me, status_code=400)
    return page(request, "public/password_new.html", me, errors={}, token=token)


@post(NEW_PASSWORD_PATH, name="password_new_submit", include_in_schema=False)
async def new_password_submit(request: Request[Any, Any, Any], tx: Tx) -> Response[Any]:
    values = await form_values(request)
    token = str(values.get("jeton") or "")
    password = values.get("password")
    if len(token) not in TOKEN_LENGTHS:
        return page(request, "public/password_link_invalid.html", None, status_code=400)
    errors: dict[str, str] = {}
    if password != values.get("password_again"):
        errors = {"password_again": N_("Les deux mots de passe ne sont pas les mêmes.")}
    else:
        try:
            data = convert({"token": token, "password": password}, ResetConfirmIn)
            await resets.confirm_reset(tx, data.token, data.password)
        except FormError:
            errors = {"password": N_("Choisissez un mot de passe de 10 caractères au moins.")}
        except Invalid as exc:
            if not too_easy(exc, "password"):
                # Unknown, already used or older than an hour: the same page for all three.
                return page(request, "public/password_link_invalid.html", None, status_code=400)
            errors = {"password": TOO_EASY}
    if errors:
        return page(request, "public/password_new.html", None, status_code=400,
                    errors=errors, token=token)  # fmt: skip
    return Redirect(f"/connexion?{CHANGED_QUERY}", status_code=303)


ROUTES = [forgotten_page, forgotten_submit, new_password_page, new_password_submit]
