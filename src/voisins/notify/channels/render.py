"""Rendering of the e-mail and SMS templates (``notify/templates``) with Jinja2.

Only what leaves by mail or SMS; the in-app inbox's texts are notify/inbox_texts.py.

``templates/email/<kind>.<locale>.txt`` holds the subject (block ``subject``) and the
plain-text body; ``<kind>.<locale>.html`` the HTML body (autoescaped). Both extend a
per-locale layout that adds the greeting and the footer with the unsubscribe link.
``templates/sms/<kind>.<locale>.txt`` is the SMS text.

``KINDS`` lists, for each kind, the context keys a caller must give and those it may
give. Context values whose key ends in ``url`` may be paths ("/matches/12"); they are
made absolute against the public base URL. No template shows an address or a
coordinate: after a confirmed match, mails only link to the app.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
import msgspec

from voisins.notify.channels.base import ContextValue, Message, PermanentError
from voisins.typography import french_spaces

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
SMS_MAX_CHARS = 300


class KindSpec(msgspec.Struct, frozen=True):
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    # Optional keys of each record of a list value (the digest's items).
    item_optional: tuple[str, ...] = ()


KINDS: dict[str, KindSpec] = {
    # To a volunteer: a request near them.
    "match.proposed": KindSpec(
        ("title", "category_label", "band_label", "url"), ("deadline_label",)
    ),
    # To the resident: a volunteer said yes.
    "match.accepted": KindSpec(("title", "url"), ("needs_review",)),
    # To the social workers of the centre: a sensitive match waits for them.
    "match.review_needed": KindSpec(("title", "category_label", "url")),
    # To both sides: they can now see each other's contact in the app.
    "match.confirmed": KindSpec(("title", "url"), ("counterpart_name",)),
    # To both sides: the social worker approved.
    "match.approved": KindSpec(("title", "url")),
    "match.rejected": KindSpec(("title", "url"), ("reason",)),
    "match.cancelled": KindSpec(("title", "url"), ("reason",)),
    # To the social workers: nobody answered before the deadline.
    "post.no_response": KindSpec(("title", "category_label", "url")),
    # To a volunteer: a proposal still waits for an answer.
    "reminder": KindSpec(("title", "url"), ("deadline_label",)),
    # To the social workers of a centre reviewing every post: a post waits for them.
    "post.review_needed": KindSpec(("title", "category_label", "url")),
    # To the author: the centre let their post through, or not (with the reason).
    "post.approved": KindSpec(("title", "url")),
    "post.rejected": KindSpec(("title", "url"), ("reason",)),
    # To the volunteers who said yes: the request was edited (text or schedule).
    "post.updated": KindSpec(("title", "url")),
    # To the author of an offer: ``count`` open requests nearby were proposed to them.
    "match.offer_proposed": KindSpec(("title", "category_label", "count", "url")),
    # To the author of a request (or the social worker acting for an assisted resident,
    # ``for_assisted``): a neighbour offering this kind of help was asked to answer.
    "post.offer_nearby": KindSpec(("title", "category_label", "url"), ("for_assisted",)),
    # To the same: nobody answered; ``covered`` when a centre's follow-up list has it.
    "post.unanswered": KindSpec(("title", "url"), ("for_assisted", "covered")),
    # To the other side of a conversation (or the social workers acting for an assisted
    # resident, ``for_assisted``): someone wrote. Never the text: ``url`` opens the
    # conversation, where the reader signs in to read it.
    "conversation.to_volunteer": KindSpec(("title", "url")),
    "conversation.to_requester": KindSpec(("title", "url"), ("for_assisted",)),
    # To the social workers of the covering centres: someone filed a report.
    "report.filed": KindSpec(("url",)),
    "password.reset_requested": KindSpec(("reset_url",), ("expires_minutes",)),
    # To an address to confirm (at sign-up, or the new address of a change): ``url``
    # opens the confirmation page, whose button confirms.
    "account.email_confirm": KindSpec(("url",), ("expires_minutes",)),
    # Notices to the account's confirmed address, with no link that acts: ``url`` leads
    # to the forgotten-password page, for the person who did not ask.
    "account.email_change_requested": KindSpec(("url",)),
    "account.password_changed": KindSpec(("url",)),
    # To a new member of staff: ``url`` opens the page where they choose their password.
    "account.staff_invited": KindSpec(("url",), ("expires_days",)),
    # Several events in one mail: items = [{"title", "url", "summary"?}], url = the inbox.
    "digest": KindSpec(("items", "url"), item_optional=("summary",)),
}

# Mails a person asked for: they carry no unsubscribe link, since turning off
# notifications must not turn off a password reset.
TRANSACTIONAL_KINDS = frozenset(
    {
        "password.reset_requested",
        "account.email_confirm",
        "account.email_change_requested",
        "account.password_changed",
        "account.staff_invited",
    }
)

_KIND = re.compile(r"^[a-z_]+(\.[a-z_]+)*$")
_BLANK_LINES = re.compile(r"\n[ \t]*(\n[ \t]*)+\n")

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
    auto_reload=False,
)


class RenderedEmail(msgspec.Struct, frozen=True):
    subject: str
    text: str
    html: str


def absolute_url(base_url: str, value: str) -> str:
    if value.startswith("/"):
        return base_url.rstrip("/") + value
    return value


def _prepare(spec: KindSpec, base_url: str, key: str, value: ContextValue) -> Any:
    if isinstance(value, str) and key.endswith("url"):
        return absolute_url(base_url, value)
    if isinstance(value, list):
        return [
            dict.fromkeys(spec.item_optional)
            | {k: _prepare(spec, base_url, k, v) for k, v in item.items()}
            for item in value
        ]
    return value


def template_context(message: Message, base_url: str) -> dict[str, Any]:
    """The values a template sees, with optional keys defaulted to None."""
    if not _KIND.fullmatch(message.kind):
        raise PermanentError("malformed kind")
    spec = KINDS.get(message.kind)
    if spec is None:
        raise PermanentError(f"unknown kind {message.kind}")
    # "" is allowed (a label the caller could not compute leaves its line out); an
    # absent key, None or an empty list is a caller's bug.
    missing = [key for key in spec.required if message.context.get(key) in (None, [])]
    if missing:
        raise PermanentError(f"{message.kind} lacks context {', '.join(missing)}")
    values: dict[str, Any] = dict.fromkeys(spec.optional)
    values.update({k: _prepare(spec, base_url, k, v) for k, v in message.context.items()})
    values.update(
        recipient_name=message.recipient_name,
        locale=message.locale,
        app_url=base_url.rstrip("/") + "/",
    )
    return values


def _render(name: str, values: dict[str, Any], kind: str) -> str:
    try:
        text = _env.get_template(name).render(values)
    except jinja2.TemplateNotFound:
        raise PermanentError(f"no template for {kind}") from None
    except jinja2.TemplateError as exc:
        # The error names a variable or a line of our templates, never a value.
        raise PermanentError(f"template {kind} {type(exc).__name__}") from None
    # Optional lines leave runs of blank lines behind; one blank line is enough.
    return _BLANK_LINES.sub("\n\n", text).strip() + "\n"


def render_email(message: Message, *, base_url: str, unsubscribe_url: str | None) -> RenderedEmail:
    values = template_context(message, base_url)
    values["unsubscribe_url"] = unsubscribe_url
    stem = f"email/{message.kind}.{message.locale}"
    try:
        text_template = _env.get_template(stem + ".txt")
        subject_block = text_template.blocks["subject"]
        subject = "".join(subject_block(text_template.new_context(values)))
    except jinja2.TemplateNotFound:
        raise PermanentError(f"no template for {message.kind}") from None
    except (KeyError, jinja2.TemplateError) as exc:
        raise PermanentError(f"template {message.kind} {type(exc).__name__}") from None
    # Folded into one line: a header must never receive a line break from a value.
    values["subject"] = _typography(message, " ".join(subject.split()))
    return RenderedEmail(
        subject=values["subject"],
        text=_typography(message, _render(stem + ".txt", values, message.kind)),
        html=_typography(message, _render(stem + ".html", values, message.kind)),
    )


def render_sms(message: Message, *, base_url: str) -> str:
    values = template_context(message, base_url)
    text = _render(f"sms/{message.kind}.{message.locale}.txt", values, message.kind)
    # After the folding: str.split() counts no-break spaces as spaces.
    return _typography(message, " ".join(text.split()))


def _typography(message: Message, text: str) -> str:
    """French mails and SMS get the no-break spaces of French typography."""
    return french_spaces(text) if message.locale == "fr" else text
