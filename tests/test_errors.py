"""One mapper turns every error into {"error", "detail", "fields"} with the right status."""

from __future__ import annotations

from typing import Annotated

import msgspec
import pytest
from litestar import Litestar, get, post
from litestar.params import FromPath, JSONBody
from litestar.testing import AsyncTestClient

from voisins.api.errors import EXCEPTION_HANDLERS
from voisins.errors import Conflict, Forbidden, Invalid, NotFound, PayloadTooLarge


class Body(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(max_length=5)]
    count: int


@post("/echo")
async def echo(data: JSONBody[Body]) -> Body:
    return data


_RAISED = {
    "invalid": Invalid("radius_km: at most 20", {"radius_km": "at most 20"}),
    "forbidden": Forbidden("not yours"),
    "missing": NotFound("no such post"),
    "conflict": Conflict("already accepted"),
    "large": PayloadTooLarge("too big"),
}


@get("/raise/{what:str}")
async def raise_(what: FromPath[str]) -> None:
    if what == "crash":
        raise RuntimeError("secret internals")
    raise _RAISED[what]


@pytest.fixture
async def mapped() -> AsyncTestClient:
    app = Litestar(
        [echo, raise_],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_max_body_size=200,
        logging_config=None,
    )
    async with AsyncTestClient(app) as client:
        yield client


@pytest.mark.parametrize(
    ("what", "status", "error"),
    [
        ("invalid", 422, "invalid"),
        ("forbidden", 403, "forbidden"),
        ("missing", 404, "not_found"),
        ("conflict", 409, "conflict"),
        ("large", 413, "payload_too_large"),
    ],
)
async def test_domain_errors_map_to_status_and_body(
    mapped: AsyncTestClient, what: str, status: int, error: str
) -> None:
    response = await mapped.get(f"/raise/{what}")
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error", "detail", "fields"}
    assert body["error"] == error
    if what == "invalid":
        assert body["fields"] == {"radius_km": "at most 20"}


async def test_wrong_type_is_422_naming_the_field(mapped: AsyncTestClient) -> None:
    response = await mapped.post("/echo", json={"name": "abc", "count": "three"})
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["count"]


async def test_unknown_field_is_refused_naming_it(mapped: AsyncTestClient) -> None:
    response = await mapped.post("/echo", json={"name": "abc", "count": 1, "role": "admin"})
    assert response.status_code == 422
    assert "role" in response.json()["detail"]


async def test_malformed_json_is_400(mapped: AsyncTestClient) -> None:
    response = await mapped.post(
        "/echo", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


async def test_oversized_body_is_413(mapped: AsyncTestClient) -> None:
    response = await mapped.post("/echo", json={"name": "x" * 500, "count": 1})
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


async def test_unexpected_error_is_500_without_internals(mapped: AsyncTestClient) -> None:
    response = await mapped.get("/raise/crash")
    assert response.status_code == 500
    assert "secret internals" not in response.text
    assert response.json()["error"] == "internal"
