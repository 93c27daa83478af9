"""French typography in the page templates' own text.

The pages' French texts reach the reader through gettext (web/i18n.py sets their
no-break spaces) — except the few bits of punctuation written straight into the
templates, such as the « ; » between the days of a list or the « : » after a label.
This Jinja extension gives those literal bits the same no-break spaces when a template
is compiled; values (``{{ … }}``) are not touched here. English pages share the
templates, and a no-break space where a plain one stood changes nothing for them.
"""

from __future__ import annotations

from collections.abc import Iterator

from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream

from voisins.typography import french_spaces


class FrenchTemplateText(Extension):
    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        for token in stream:
            if token.type == "data":
                yield Token(token.lineno, "data", french_spaces(token.value))
            else:
                yield token
