"""Request and response bodies in the OpenAPI document as msgspec validates and encodes
them: each struct's schema written by msgspec itself (unknown fields refused where
the struct forbids them, no property beyond the struct's, the allowed keys of typed
dicts), its regular expressions spelled so that ECMAScript (JSON Schema) reads them as
Python does, its integers within PostgreSQL's bigint.

api/openapi.py puts these schemas in the document; their examples are
api/openapi_examples.py's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, get_args

import msgspec


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
