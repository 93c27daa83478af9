"""My account, for every signed-in person: name, language and phone; how and when
messages reach me (channels per kind, quiet hours, digest, daily cap); my data —
download it, or erase my account after a confirmation."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.background_tasks import BackgroundTask
from litestar.response import Redirect, Template

from voisins.accounts import addresses, links, resets, second_factor, users
from voisins.accounts.access import Viewer
from voisins.accounts.schemas import EmailChangeIn, EmailConfirmIn, MeUpdate, PasswordChangeIn
from voisins.api.deps import (
    LimiterDep,
    OptionalViewer,
    SettingsDep,
    Tx,
    ended_session_cookie,
)
from voisins.errors import Conflict, Forbidden, Invalid, TooManyRequests
from voisins.moderation import gdpr
from voisins.notify import inbox as notifications
from voisins.notify.inbox import PreferencesIn, PreferencesOut
from voisins.web.formats import formats_for
from voisins.web.forms import N_, FormError, convert, form_values
from voisins.web.i18n import language_cookie
from voisins.web.pages import Me, me_of, page
from voisins.web.problems import PAGE_ERROR_HANDLERS
from voisins.web.routes import recovery
from voisins.web.signed_in import Person
from voisins.web.url_state import notice
from voisins.web.wording import NOTIFICATION_KINDS, kinds_for

NOTICES = {
    "infos": N_("Vos informations sont enregistrées."),
    "notifications": N_("Vos choix pour les messages sont enregistrés."),
    "emails": N_("Vous recevez de nouveau les e-mails, comme vous les aviez choisis."),
    "inscription": N_(
        "Votre compte est créé. Nous vous avons envoyé un e-mail : ouvrez le lien qu'il "
        "contient pour confirmer votre adresse."
    ),
    "lien": N_("Un nouveau lien vous a été envoyé. Pensez à regarder dans les indésirables."),
    "mot-de-passe": N_("Votre mot de passe est changé. Vos autres appareils ont été déconnectés."),
    "adresse": N_(
        "Nous avons envoyé un lien à la nouvelle adresse. Elle sera utilisée quand vous "
        "l'aurez ouvert."
    ),
    "confirmee": N_("Votre adresse e-mail est confirmée."),
}
FIELD_MESSAGES = {
    "display_name": N_("Écrivez votre prénom (80 caractères au plus)."),
    "phone": N_("Écrivez un numéro de téléphone, par exemple 06 12 34 56 78."),
    "locale": N_("Choisissez une langue."),
    "quiet_start": N_("Écrivez une heure, par exemple 21:00."),
    "quiet_end": N_("Écrivez une heure, par exemple 08:00."),
    "daily_cap": N_("Écrivez un nombre entre 1 et 200."),
    "channels": N_("Vérifiez vos choix."),
    "current_password": N_("Ce n'est pas votre mot de passe actuel."),
    "new_password": N_("Choisissez un mot de passe de 10 caractères au moins."),
    "new_password_again": N_("Les deux mots de passe ne sont pas les mêmes."),
    "email": N_("Entrez une adresse e-mail complète, par exemple nom@exemple.fr."),
}
EMAIL_TAKEN = N_("Un compte existe déjà avec cet e-mail.")
EMAIL_SAME = N_("C'est déjà votre adresse.")
TOO_MANY = N_("Trop d'essais. Réessayez dans une heure.")
TOO_MANY_GUESSES = N_("Trop d'essais. Réessayez dans quelques minutes.")
# The confirmation link of the mails (notify/senders.py) leads here, with ``jeton``.
CONFIRM_PATH = "/mon-compte/confirmer"
# EmailConfirmIn's bounds: anything else cannot be a link we sent.
TOKEN_LENGTHS = range(20, 101)
OPTIONAL_CHANNELS = ("email", "sms")


def _messages(fields: dict[str, str]) -> dict[str, str]:
    return {name: FIELD_MESSAGES.get(name, message) for name, message in fields.items()}


async def _account_page(
    request: Request[Any, Any, Any],
    tx: Tx,
    viewer: Viewer,
    me: Me,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    account = await users.get_me(tx, viewer.id)
    prefs = await notifications.get_preferences(tx, viewer)
    kinds = kinds_for(me.role, me.is_volunteer)
    chosen = {k: prefs.channels.get(k) or prefs.default_channels for k in kinds}
    # Staff see their second factor's state (templates/staff/_account_factor.html).
    factor = await second_factor.state(tx, viewer.id) if viewer.is_staff else None
    return page(
        request, "account/account.html", me, status_code=status_code, account=account,
        prefs=prefs, kinds=kinds, kind_labels=NOTIFICATION_KINDS, chosen=chosen,
        errors=errors or {}, values=values or {}, notice=notice(request, NOTICES),
        second_factor=factor, fmt=formats_for(request, me),
    )  # fmt: skip


@get("/mon-compte", name="account", operation_id="pageAccount",
     include_in_schema=False)  # fmt: skip
async def account_page(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Response[Any]:
    me, viewer = person
    return await _account_page(request, tx, viewer, me)


@post("/mon-compte", name="account_save", operation_id="pageSaveAccount",
     include_in_schema=False)  # fmt: skip
async def account_save(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Response[Any]:
    me, viewer = person
    values = await form_values(request)
    fields = {
        "display_name": str(values.get("display_name", "")).strip(),
        "locale": values.get("locale"),
        "phone": str(values.get("phone", "")).strip() or None,  # empty: no phone any more
    }
    try:
        data = convert(fields, MeUpdate)
        await users.update_me(tx, viewer, data)
    except FormError as exc:
        return await _account_page(request, tx, viewer, me, values=values,
                                   errors=_messages(exc.fields), status_code=400)  # fmt: skip
    redirect = Redirect("/mon-compte?fait=infos", status_code=303)
    redirect.cookies.append(language_cookie(str(fields["locale"])))
    return redirect


def _channels_of(
    values: dict[str, Any], kinds: list[str], current: PreferencesOut
) -> dict[str, list[str]]:
    """In-app always (the inbox); e-mail and SMS as ticked, per kind of message. While
    e-mails are stopped the form shows no e-mail boxes: the e-mail choices stay as they
    were, for the day e-mails are turned back on."""
    chosen: dict[str, list[str]] = {}
    for kind in kinds:
        ticked = values.get(f"canal:{kind}", [])
        ticked = ticked if isinstance(ticked, list) else [ticked]
        if current.email_unsubscribed:
            before = current.channels.get(kind) or current.default_channels
            ticked = [c for c in ticked if c != "email"] + (["email"] if "email" in before else [])
        chosen[kind] = ["inapp", *(c for c in OPTIONAL_CHANNELS if c in ticked)]
    return chosen


@post("/mon-compte/notifications", name="account_notifications",
      operation_id="pageSaveNotificationPreferences", include_in_schema=False)  # fmt: skip
async def notifications_save(
    request: Request[Any, Any, Any], tx: Tx, person: Person
) -> Response[Any]:
    me, viewer = person
    values = await form_values(request)
    current = await notifications.get_preferences(tx, viewer)
    fields = {
        # Kinds this form does not show keep what was chosen before.
        "channels": current.channels
        | _channels_of(values, kinds_for(me.role, me.is_volunteer), current),
        "quiet_start": str(values.get("quiet_start", ""))[:5],
        "quiet_end": str(values.get("quiet_end", ""))[:5],
        "urgent_breaks_quiet": values.get("urgent_breaks_quiet") == "1",
        "digest": values.get("digest") == "1",
        "daily_cap": values.get("daily_cap", ""),
    }
    try:
        data = convert(fields, PreferencesIn)
        await notifications.put_preferences(tx, viewer, data)
    except FormError as exc:
        return await _account_page(request, tx, viewer, me, values=values,
                                   errors=_messages(exc.fields), status_code=400)  # fmt: skip
    return Redirect("/mon-compte?fait=notifications#messages", status_code=303)


@post("/mon-compte/emails", name="account_resubscribe", operation_id="pageResubscribeEmail",
      include_in_schema=False)  # fmt: skip
async def resubscribe(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Response[Any]:
    """E-mails again, after an unsubscribe link in a mail stopped them."""
    _me, viewer = person
    await notifications.resubscribe(tx, viewer)
    return Redirect("/mon-compte?fait=emails#messages", status_code=303)


@get("/mon-compte/donnees", name="account_export", operation_id="pageExportMyData",
     include_in_schema=False)  # fmt: skip
async def export_data(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Response[Any]:
    """Everything voisins holds about me, as a JSON file (the API's export)."""
    _me, viewer = person
    data = await gdpr.export_mine(tx, viewer)
    return Response(
        data,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="voisins-donnees-{viewer.id}.json"',
            "Cache-Control": "no-store",
        },
    )


@get("/mon-compte/supprimer", name="account_erase_page", operation_id="pageEraseAccount",
     include_in_schema=False)  # fmt: skip
async def erase_page(request: Request[Any, Any, Any], tx: Tx, person: Person) -> Response[Any]:
    me, _viewer = person
    return page(request, "account/erase.html", me, errors={})


@post("/mon-compte/supprimer", name="account_erase", operation_id="pageEraseAccountConfirm",
     include_in_schema=False)  # fmt: skip
async def erase(
    request: Request[Any, Any, Any], tx: Tx, person: Person, settings: SettingsDep
) -> Response[Any]:
    me, viewer = person
    values = await form_values(request)
    if values.get("confirm") != "1":
        errors = {"confirm": N_("Cochez la case pour confirmer.")}
        return page(request, "account/erase.html", me, errors=errors, status_code=400)
    done = await gdpr.erase_mine(tx, viewer, gdpr.ErasureIn(confirm=True), settings=settings)
    state = request.app.state
    # The Redis part (login counters) runs once the transaction committed.
    redirect = Redirect(
        "/compte-supprime",
        status_code=303,
        background=BackgroundTask(gdpr.finish_erasure, state.engine, state.redis, done.erasure_id),
    )
    redirect.cookies.extend([
        ended_session_cookie(),
        language_cookie(me.locale),  # the next page speaks the account's language
    ])  # fmt: skip
    return redirect


@get("/compte-supprime", name="account_erased", operation_id="pageAccountErased",
     include_in_schema=False)  # fmt: skip
async def erased(request: Request[Any, Any, Any]) -> Template:
    return page(request, "account/erased.html", None)


@post("/mon-compte/confirmation", name="account_email_resend",
      operation_id="pageResendEmailConfirmation", include_in_schema=False)  # fmt: skip
async def resend_confirmation(
    request: Request[Any, Any, Any], tx: Tx, person: Person
) -> Response[Any]:
    """Another confirmation link, while the address is not confirmed (a few an hour)."""
    me, viewer = person
    try:
        await addresses.resend(tx, viewer)
    except TooManyRequests:
        return await _account_page(request, tx, viewer, me, status_code=429,
                                   errors={"resend": TOO_MANY})  # fmt: skip
    except Conflict:  # confirmed meanwhile, in another tab
        return Redirect("/mon-compte?fait=confirmee#adresse", status_code=303)
    return Redirect("/mon-compte?fait=lien#adresse", status_code=303)


@post("/mon-compte/mot-de-passe", name="account_password",
      operation_id="pageChangePassword", include_in_schema=False)  # fmt: skip
async def change_password(
    request: Request[Any, Any, Any], tx: Tx, person: Person,
    limiter: LimiterDep,
) -> Response[Any]:  # fmt: skip
    """The current password, then the new one twice; the other sessions end."""
    me, viewer = person
    values = await form_values(request)
    errors: dict[str, str] = {}
    if values.get("new_password") != values.get("new_password_again"):
        errors = {"new_password_again": FIELD_MESSAGES["new_password_again"]}
    else:
        fields = {k: values.get(k, "") for k in ("current_password", "new_password")}
        try:
            data = convert(fields, PasswordChangeIn)
            await resets.change_password(tx, viewer, data.current_password, data.new_password,
                                         limiter=limiter)  # fmt: skip
        except FormError as exc:
            errors = _messages(exc.fields)
        except Invalid as exc:
            too_easy = recovery.too_easy(exc, "new_password")
            errors = {"new_password": recovery.TOO_EASY} if too_easy else _messages(exc.fields)
        except TooManyRequests:
            errors = {"current_password": TOO_MANY_GUESSES}
    if errors:
        return await _account_page(request, tx, viewer, me, errors=errors, status_code=400)
    return Redirect("/mon-compte?fait=mot-de-passe#securite", status_code=303)


@post("/mon-compte/adresse", name="account_email_change",
      operation_id="pageChangeEmail", include_in_schema=False)  # fmt: skip
async def change_email(
    request: Request[Any, Any, Any], tx: Tx, person: Person,
    limiter: LimiterDep,
) -> Response[Any]:  # fmt: skip
    """A new address, used once the link sent there is opened; the old one is told."""
    me, viewer = person
    values = await form_values(request)
    fields = {
        "current_password": values.get("email_current_password", ""),
        "email": str(values.get("new_email", "")).strip(),
    }
    status, errors = 400, {}
    try:
        data = convert(fields, EmailChangeIn)
        await addresses.request_change(tx, viewer, data.current_password, data.email,
                                       limiter=limiter)  # fmt: skip
    except FormError as exc:
        errors = _messages(exc.fields)
    except Invalid as exc:
        errors = {"email": EMAIL_SAME} if "email" in exc.fields else _messages(exc.fields)
    except Conflict:
        status, errors = 409, {"email": EMAIL_TAKEN}
    except addresses.TooManyLinks:
        status, errors = 429, {"email": TOO_MANY}
    except TooManyRequests:  # guesses of the password
        status, errors = 429, {"current_password": TOO_MANY_GUESSES}
    if errors:
        # The form's fields have their own names (the password form is on the same page).
        errors = {{"email": "new_email", "current_password": "email_current_password"}.get(k, k): v
                  for k, v in errors.items()}  # fmt: skip
        return await _account_page(request, tx, viewer, me, errors=errors,
                                   values={"new_email": fields["email"]},
                                   status_code=status)  # fmt: skip
    return Redirect("/mon-compte?fait=adresse#adresse", status_code=303)


def _confirm_token(values: Any) -> str:
    token = str(values.get("jeton") or "")
    return token if len(token) in TOKEN_LENGTHS else ""


@get(CONFIRM_PATH, name="email_confirm_page", operation_id="pageConfirmEmail",
     include_in_schema=False)  # fmt: skip
async def confirm_email_page(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Template:
    """The mail's link: a page with one button, changing nothing (mail scanners open
    links). No sign-in needed: the link may be opened on another device."""
    me = await me_of(tx, optional_viewer)
    token = _confirm_token(request.query_params)
    found = await links.find(tx, "email_confirm", token) if token else None
    if found is None and token and await addresses.already_confirmed(tx, token):
        return page(request, "account/confirm.html", me, state="already")
    if found is None:
        return page(request, "account/confirm.html", me, status_code=400, state="invalid")
    if optional_viewer is not None and optional_viewer.id != found.user_id:
        return page(request, "account/confirm.html", me, status_code=403, state="other")
    return page(request, "account/confirm.html", me, state="ask", token=token,
                email=found.email)  # fmt: skip


@post(CONFIRM_PATH, name="email_confirm_submit", operation_id="pageConfirmEmailSubmit",
      include_in_schema=False)  # fmt: skip
async def confirm_email(
    request: Request[Any, Any, Any], tx: Tx, optional_viewer: OptionalViewer
) -> Template:
    me = await me_of(tx, optional_viewer)
    token = _confirm_token(await form_values(request))
    try:
        data = convert({"token": token}, EmailConfirmIn)
        await addresses.confirm(tx, data.token, viewer=optional_viewer)
    except (FormError, Invalid):
        if token and await addresses.already_confirmed(tx, token):  # pressed twice
            return page(request, "account/confirm.html", me, state="already")
        # Unknown, expired, or used for an address the account no longer has.
        return page(request, "account/confirm.html", me, status_code=400, state="invalid")
    except Forbidden:
        return page(request, "account/confirm.html", me, status_code=403, state="other")
    except Conflict:
        return page(request, "account/confirm.html", me, status_code=409, state="taken")
    return page(request, "account/confirm.html", me, state="done")


ROUTES: list[Any] = [
    Router(
        path="/",
        route_handlers=[
            account_page, account_save, notifications_save, resubscribe, export_data,
            erase_page, erase, erased, resend_confirmation, change_password, change_email,
            confirm_email_page, confirm_email,
        ],
        exception_handlers=PAGE_ERROR_HANDLERS,
    )
]  # fmt: skip
