"""Where messages lead: the paths of the pages that mails, SMS, digests and the inbox
link to, under the names the page routes are registered with.

Every link voisins sends is built here (``page_path`` / ``page_url``). The page routes
(web/routes) carry the same names, and tests/notify/test_message_links.py checks each
entry against the app's own routes (``route_reverse``) and every rendered template's
URLs against the routes, so renaming a page fails a test instead of sending 404s.

This module sits below every domain package (it knows paths, not pages), so notify
can build links without importing the web layer.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

# Route name → path, in Litestar's syntax (typed parameters).
PAGE_PATHS: dict[str, str] = {
    "home": "/",
    "post_page": "/annonces/{post_id:int}",
    "my_posts": "/mes-annonces",
    "propositions": "/propositions",
    "my_matches": "/mes-aides",
    "inbox": "/messages",
    "conversations": "/conversations",
    "conversation_page": "/conversations/{match_id:int}",
    "account": "/mon-compte",
    "centre_queue": "/centre",
    "centre_followups": "/centre/suivi",
    "centre_reports": "/centre/signalements",
    "centre_resident": "/centre/habitants/{resident_id:int}",
    "password_new_page": "/mot-de-passe/nouveau",
    "password_forgotten_page": "/mot-de-passe/oublie",
    "email_confirm_page": "/mon-compte/confirmer",
    "unsubscribe_page": "/unsubscribe/{token:str}",
}

_PARAMETER = re.compile(r"\{(\w+):\w+\}")


def page_path(name: str, query: dict[str, str] | None = None, **params: object) -> str:
    """The path of page ``name`` with its parameters filled in (``KeyError`` when the
    page or a parameter is unknown: a caller's bug, never a link to nowhere)."""
    path = _PARAMETER.sub(lambda m: str(params[m.group(1)]), PAGE_PATHS[name])
    return f"{path}?{urlencode(query)}" if query else path


def page_url(
    base_url: str, name: str, query: dict[str, str] | None = None, **params: object
) -> str:
    """The absolute address of page ``name`` on this deployment (``public_base_url``)."""
    return base_url.rstrip("/") + page_path(name, query, **params)
