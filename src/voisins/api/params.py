"""Query parameters with their bounds (Litestar checks these, and documents them)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import QueryParameter

from voisins.pagination import MAX_PER_PAGE

# Ids are PostgreSQL bigints: a larger number is refused by Litestar, naming the
# parameter, rather than where the database is asked (voisins.api.edge does it in paths).
IdQuery = Annotated[int, QueryParameter(ge=1, le=2**63 - 1, description="An id")]
PageQuery = Annotated[int, QueryParameter(ge=1, le=10_000, description="Page number, from 1")]
PerPageQuery = Annotated[
    int, QueryParameter(ge=1, le=MAX_PER_PAGE, description=f"Items a page, at most {MAX_PER_PAGE}")
]
RadiusQuery = Annotated[
    float, QueryParameter(ge=0.1, le=20, description="Search radius in km, at most 20")
]
