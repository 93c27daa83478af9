"""What a page reads from its own address: which page of a list, and the one-line
notice to show after a form was sent and the browser redirected (``?fait=…``)."""

from __future__ import annotations

from typing import Any

from litestar import Request


def page_number(request: Request[Any, Any, Any]) -> int:
    """``?page=`` of a list, 1 when absent or not a number."""
    try:
        return max(1, min(int(request.query_params.get("page", "1")), 10_000))
    except ValueError:
        return 1


def list_page(value: Any) -> int:
    """Which page of a workspace list: ``value`` from the address or a form (``?page=``,
    ``?attente=``, a card's hidden ``page``), 1 when absent or not a number.

    Not ``page_number``: that one reads only ``?page=`` and stops at page 10 000, where
    the centre's and the administrators' lists have always stopped at 10 000 000 (asked
    for page 20 000, they show page 20 000, empty, and link back to page 19 999).
    """
    try:
        return max(1, min(int(value), 10_000_000))
    except (TypeError, ValueError):
        return 1


# PostgreSQL's bigint: a larger id names no row, and would fail the query.
ROW_ID_MAX = 2**63 - 1


def row_id(value: str | None) -> int | None:
    """A row id read from an address (``?centre=12``), or None when it cannot be one.
    ``isdecimal``, not ``isdigit``: "²" is a digit that ``int`` refuses."""
    value = (value or "").strip()
    if not value.isdecimal():
        return None
    number = int(value)
    return number if 0 < number <= ROW_ID_MAX else None


def notice(request: Request[Any, Any, Any], notices: dict[str, str]) -> str | None:
    """The notice named by ``?fait=``, if it is one of this page's."""
    return notices.get(request.query_params.get("fait", ""))
