"""For tests that look for a French sentence as it is written in the code (« Mot de
passe oublié ? »): pages, mails and SMS set French no-break spaces before ; : ! ? and
inside « » (voisins.typography), so compare ``as_typed(text)`` instead of ``text``.
``visible_text`` reads a page as its reader sees it; ``plain_spaces`` finds each plain
space where French needs a no-break one."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from voisins.typography import NBSP, NNBSP

# A plain space (or tab) where French needs a no-break one.
PLAIN_SPACE = re.compile(r"[ \t][;:!?»]|«[ \t]")


def as_typed(text: str) -> str:
    """``text`` with French typography's no-break spaces turned back into plain ones."""
    return text.replace(NNBSP, " ").replace(NBSP, " ")


class VisibleText(HTMLParser):
    """The text a reader sees: text nodes outside script, style and template."""

    HIDDEN = frozenset({"script", "style", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = VisibleText()
    parser.feed(page)
    parser.close()
    return "".join(parser.parts)


def plain_spaces(text: str) -> list[str]:
    """Each place a plain space stands where French needs a no-break one, in context."""
    return [text[max(m.start() - 30, 0) : m.end() + 10] for m in PLAIN_SPACE.finditer(text)]
