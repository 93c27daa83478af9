"""Forms: a submitted form becomes the same msgspec input the API takes, and a refusal
becomes messages next to the fields, in the reader's language."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec
from litestar import Request
from litestar.datastructures import FormMultiDict

from voisins.errors import DomainError

T = TypeVar("T")


def N_(message: str) -> str:
    """Marks a French text for the catalogues; pages translate it when they show it."""
    return message


# Where msgspec says which field it refused: a path, or a field named in the message.
_FIELD_PATH = re.compile(r"at `\$\.([A-Za-z_.\[\]0-9]+)`")
_FIELD_NAMED = re.compile(r"(?:unknown|missing required) field `([^`]+)`")


class FormError(Exception):
    """Fields (by name) and what is wrong with each, in French (translated by pages)."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("invalid form")
        self.fields = fields


async def form_values(request: Request[Any, Any, Any]) -> dict[str, Any]:
    form = await request.form()
    values: dict[str, Any] = {}
    for key in form:
        if key == "_csrf_token":
            continue
        items = form.getall(key)
        values[key] = items if key.endswith("[]") or len(items) > 1 else items[0]
    return values


def fits(value: Any, kind: Any) -> bool:
    """Whether ``value`` passes as ``kind`` (a constrained type of the API's bodies)."""
    try:
        msgspec.convert(value, kind)
    except msgspec.ValidationError:
        return False
    return True


def form_text(form: FormMultiDict, key: str) -> str:
    """A text field of the form, trimmed; "" when absent or a file."""
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def explained(fields: dict[str, str], messages: dict[str, str]) -> dict[str, str]:
    """Refused fields with this form's own words for them (``messages`` by field name),
    the generic message where it has none."""
    return {name: messages.get(name, message) for name, message in fields.items()}


def convert(values: dict[str, Any], into: type[T]) -> T:
    try:
        return msgspec.convert(values, into, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        found = _FIELD_PATH.search(message) or _FIELD_NAMED.search(message)
        field = found.group(1).split(".")[0].split("[")[0] if found else "form"
        raise FormError({field: N_("Vérifiez ce champ.")}) from None


def domain_fields(exc: DomainError) -> dict[str, str]:
    """A service's refusal, as field messages (the first path segment names the field)."""
    if exc.fields:
        return {path.split(".")[0]: N_("Vérifiez ce champ.") for path in exc.fields}
    return {"form": exc.detail}
