"""French typography: the spaces French puts before « ; ! ? : » and inside « », made
non-breaking so that a line never starts with « ? » or ends with « « ».

One function, used in the few places French text leaves voisins: the pages' gettext
(web/i18n.py), the in-app messages (notify/inbox_texts.py) and the e-mail and SMS
templates (notify/channels/render.py). It lives at the bottom of the import order so
that both ``web`` and ``notify`` may use it.

Rules (Imprimerie nationale, as most French public-service sites apply them):
- before ``;``, ``!``, ``?``: a narrow no-break space (U+202F);
- before ``:``: a no-break space (U+00A0);
- after ``«`` and before ``»``: a no-break space (U+00A0).
Only an existing space is replaced: text without one (``14:00``, ``http://``,
``/page?x=1``, ``Attention!``) is left as written, so URLs and times are never
touched. HTML tags, their attributes, and the content of ``<script>`` and ``<style>``
are skipped. Applying it twice gives the same text as applying it once.
"""

from __future__ import annotations

import re
from functools import lru_cache

NNBSP = "\u202f"
NBSP = "\u00a0"

# Horizontal spaces only (a line break stays a line break); the no-break ones too, so
# that a second pass, or text already typed with them, gives the same result.
_SPACE = "[ \t\u00a0\u202f]+"
_BEFORE_TALL = re.compile(_SPACE + r"(?=[;!?])")
_BEFORE_COLON = re.compile(_SPACE + r"(?=:)")
_AFTER_OPENING = re.compile("«" + _SPACE)
_BEFORE_CLOSING = re.compile(_SPACE + "»")
# Markup that is not text: whole script/style elements, comments, then any tag.
_MARKUP = re.compile(
    r"(<script\b.*?</script\s*>|<style\b.*?</style\s*>|<!--.*?-->|<[^<>]*>)",
    re.IGNORECASE | re.DOTALL,
)


def _text(part: str) -> str:
    part = _BEFORE_TALL.sub(NNBSP, part)
    part = _BEFORE_COLON.sub(NBSP, part)
    part = _AFTER_OPENING.sub("«" + NBSP, part)
    return _BEFORE_CLOSING.sub(NBSP + "»", part)


def french_spaces(text: str) -> str:
    """``text`` (plain or HTML) with French no-break spaces; idempotent."""
    if not any(mark in text for mark in ";:!?«»"):
        return text
    if "<" not in text:
        return _text(text)
    parts = _MARKUP.split(text)
    # split() with one capturing group: even indexes are text, odd ones are markup.
    return "".join(part if i % 2 else _text(part) for i, part in enumerate(parts))


@lru_cache(maxsize=8192)
def french_message(message: str) -> str:
    """``french_spaces`` for the catalogue's fixed texts, which come back on every page."""
    return french_spaces(message)
