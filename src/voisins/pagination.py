"""Page-numbered lists: at most 100 items a page, in a stable order."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

import msgspec
from msgspec import Meta

T = TypeVar("T")

MAX_PER_PAGE = 100
PageNumber = Annotated[int, Meta(ge=1, le=10_000)]
PerPage = Annotated[int, Meta(ge=1, le=MAX_PER_PAGE)]


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    page: int
    per_page: int
    has_more: bool


def window(page: int, per_page: int) -> dict[str, int]:
    """SQL parameters: fetch one row more than asked to know whether another page exists."""
    return {"limit": per_page + 1, "offset": (page - 1) * per_page}


def paginate(rows: list[T], page: int, per_page: int) -> Page[T]:
    return Page(items=rows[:per_page], page=page, per_page=per_page, has_more=len(rows) > per_page)
