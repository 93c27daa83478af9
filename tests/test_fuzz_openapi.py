"""Schemathesis against the real app, once per role (issue 14).

The app is served by uvicorn on a free port, in a seeded neighbourhood (two centres,
their social workers, residents, volunteers, posts and matches in known states);
Schemathesis' CLI reads the OpenAPI document the app serves, generates requests from
it (examples, coverage, fuzzing and stateful phases, a fixed seed, a bounded number of
examples an operation) and runs every check it has. A role's run passes with 0
failures: no 5xx, no status, content type, header or body the document does not
announce, valid data accepted and invalid data refused.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.housing import step
from tests.support.housing_world import HousingWorld, with_housing
from tests.support.roles import ROLES, role_headers, spare, with_conversations
from tests.support.servers import serving
from tests.support.world import build_world, with_matches
from voisins.api.openapi import ApiDocs, body_type
from voisins.api.openapi_bodies import as_ecma_pattern
from voisins.app import create_app
from voisins.settings import Settings

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
SEED = 14
MAX_EXAMPLES = int(os.environ.get("VOISINS_FUZZ_MAX_EXAMPLES", "8"))
RUN_TIMEOUT_S = 420

# Operations that end the caller's session or account run as a spare person of the
# same role (tests/support/roles.py), so that the rest of the run keeps its identity.
ENDING_THE_SESSION = ("logout", "eraseMyAccount")

# Valid input the document cannot describe: these answer 422 to schema-valid data that
# is nevertheless wrong, so Schemathesis' positive_data_acceptance also expects 422 there.
RULES_BEYOND_THE_DOCUMENT = {
    "emailConfirm": "the token is the one in the mail; no schema says which strings are live",
    "passwordResetConfirm": "the token is the one in the mail; a new password is checked "
    "against common and breached passwords",
    "register": "a new password is checked against common and breached passwords",
    "totpEnable": "the code comes from the authenticator app and changes every 30 s",
    "changeEmail": "current_password must be the account's own password",
    "changePassword": "current_password must be the account's own password; a new password "
    "is checked against common and breached passwords",
    "browsePosts": "the point must lie in France (metropolitan or overseas): a union of "
    "areas that bounds on lon and lat cannot state; near=me needs a signed-in volunteer",
    "createPost": "a schedule ends after it starts, and not in the past; an Idempotency-Key "
    "already used with another body is refused",
    "updatePost": "a schedule ends after it starts, and not in the past",
    "putVolunteerProfile": "each availability slot ends after it starts",
    "recordFollowupContact": "contacted_at cannot be in the future",
    "createStaffUser": "only social workers belong to a centre (role and centre_id together); "
    "a password is checked against common and breached passwords; "
    "an Idempotency-Key already used with another body is refused",
    # The IETF draft on Idempotency-Key asks for 422 when a key comes back with another body.
    "createCentre": "a territory is a valid polygon (closed rings, no self-intersection); "
    "an Idempotency-Key already used with another body is refused",
    "updateCentre": "a territory is a valid polygon (closed rings, no self-intersection)",
    "blockPerson": "exactly one of match_id and post_id; an Idempotency-Key already used with "
    "another body is refused",
    "createReport": "exactly one of post_id and match_id; an Idempotency-Key already used "
    "with another body is refused",
    "createAssistedResident": "an Idempotency-Key already used with another body is refused",
    "recordCheckin": "an Idempotency-Key already used with another body is refused",
    "setVetting": "the dates of the checks cannot be in the future",
    "addWebhook": "the URL must lead to a public address (resolved when it is given)",
    # NoteIn (moderation/review.py): the note is given once, as note or as its former name.
    "approvePost": "exactly one of note and reason",
    "rejectPost": "exactly one of note and reason",
    "approveMatch": "exactly one of note and reason",
    "rejectMatch": "exactly one of note and reason",
    "suspendPerson": "exactly one of note and reason",
    "reinstatePerson": "exactly one of note and reason",
    "getCentreStatistics": "from on or before to, at most 366 days apart",
    "exportCentreStatistics": "from on or before to, at most 366 days apart",
    "getCentreActivityMap": "from on or before to, at most 366 days apart",
    "sendMessage": "a message is not blank once its spaces are trimmed",
    "shareContacts": "a phone number is shared only by an account that has one",
    "listMessages": "after or before, not both",
    # Intergenerational housing (CASF art. L.118-1 and the steps' order).
    "createHousingApplication": "a host is 60 or older, a young person 18 to 29 on the day; "
    "a host describes the room and offers one formula, a young person says their "
    "occupation; the centre exists (and is the social worker's, who names an assisted "
    "resident); available_until after available_from; one application a side in progress",
    "recordHousingApplicationStep": "done_on is not in the future; a home visit is a host's "
    "step, references a young person's",
    "proposeHousingPair": "both ids are open, interviewed applications of the social "
    "worker's centres, a host's and a young person's",
    "recordHousingPairStep": "done_on is not in the future nor before the step it follows",
    "endHousingPair": "ended_on is not in the future nor before the pairing began",
    "generateHousingDocument": "a charter once introduced, an agreement in the trial",
    # ErasureIn (moderation/gdpr.py): ``confirm`` is a boolean the API accepts only true.
    "eraseAssistedResident": "confirm must be true: erasure cannot be undone",
    "eraseMyAccount": "confirm must be true: erasure cannot be undone",
}
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]

# Server-Sent Events never end: each call of a live stream (the inbox, a conversation)
# reads its first event (the ``retry`` sent at once) and checks it against the document.
# Waiting for the next ones (``ready`` once subscribed) made each call last seconds:
# tests/notify covers them.
STREAMS = {"inboxEvents": 1, "conversationEvents": 1}


def toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def housing_parameters(
    housing: HousingWorld, role: str, document_id: int
) -> dict[str, dict[str, int]]:
    """Real ids for the housing operations' paths, so that they reach the seeded rows
    instead of 404: an application the role may read (Alice's for the resident role,
    Basile's otherwise), the pair (introduced), its charter."""
    application = housing.young_2 if role == "resident" else housing.young
    with_application = (
        "getHousingApplication",
        "recordHousingApplicationStep",
        "withdrawHousingApplication",
        "listHousingCandidates",
    )
    with_pair = ("getHousingPair", "recordHousingPairStep", "endHousingPair")
    parameters = {op: {"application_id": application} for op in with_application}
    parameters |= {op: {"pair_id": housing.pair} for op in with_pair}
    parameters["generateHousingDocument"] = {"pair_id": housing.pair}
    parameters["getHousingDocument"] = {"pair_id": housing.pair, "document_id": document_id}
    return parameters


def schemathesis_config(
    spare_headers: dict[str, str], parameters: dict[str, dict[str, int]] | None = None
) -> str:
    """Per-operation settings, as Schemathesis' TOML configuration file: one block an
    operation (Schemathesis applies the first block that matches an operation)."""
    settings: dict[str, list[str]] = {}

    def add(operation_id: str, line: str) -> None:
        settings.setdefault(operation_id, []).append(line)

    for operation_id, values in (parameters or {}).items():
        pairs = ", ".join(f"{name} = {value}" for name, value in values.items())
        add(operation_id, f"parameters = {{ {pairs} }}")
    for operation_id in ENDING_THE_SESSION:
        if spare_headers:
            pairs = ", ".join(
                f"{toml_string(k)} = {toml_string(v)}" for k, v in spare_headers.items()
            )
            add(operation_id, f"headers = {{ {pairs} }}")
    for operation_id, events in STREAMS.items():
        add(operation_id, f"max-stream-events = {events}")
    statuses = ", ".join(toml_string(s) for s in ACCEPTED)
    for operation_id, why in RULES_BEYOND_THE_DOCUMENT.items():
        add(operation_id, f"# {why}")
        add(operation_id, f"checks.positive_data_acceptance.expected-statuses = [{statuses}]")
    return "\n".join(
        f"[[operations]]\ninclude-operation-id = {toml_string(operation_id)}\n"
        + "\n".join(lines)
        + "\n"
        for operation_id, lines in settings.items()
    )


def schemathesis_args(base_url: str, headers: dict[str, str], report: Path) -> list[str]:
    args = [
        "run",
        f"{base_url}/schema/openapi.json",
        "--checks=all",
        f"--seed={SEED}",
        f"--max-examples={MAX_EXAMPLES}",
        "--generation-deterministic",
        # The API refuses NUL characters in any text (the document's description says so).
        "--generation-allow-x00=false",
        "--workers=1",
        "--request-timeout=20",
        "--no-shrink",
        "--no-color",
        "--report=junit",
        f"--report-junit-path={report}",
    ]
    for name, value in headers.items():
        args.append(f"--header={name}: {value}")
    return args


def failures_of(report: Path) -> list[str]:
    """One line a failure from the JUnit report: operation, check, and the answer."""
    if not report.exists():
        return ["no report written"]
    found = []
    # The report is Schemathesis' own, written by the run just made.
    for case in ET.parse(report).getroot().iter("testcase"):  # noqa: S314
        for problem in [*case.iter("failure"), *case.iter("error")]:
            lines = [line.strip() for line in (problem.text or "").splitlines() if line.strip()]
            checks = [line[2:] for line in lines if line.startswith("- ")]
            at = next((i for i, line in enumerate(lines) if line.startswith("[")), len(lines))
            answer = " ".join(lines[at : at + 2])[:240]
            found.append(
                f"{case.get('name')}: {'; '.join(checks) or problem.get('message')} {answer}"
            )
    return found


@pytest.mark.parametrize("role", ROLES)
async def test_schemathesis_finds_nothing(
    role: str,
    settings: Settings,
    client: AsyncTestClient,
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    world = await with_matches(client, engine, await build_world(client, engine))
    await with_conversations(client, world)
    # Housing applications (Alice's among them, the resident role's) and a pair proposed:
    # the housing operations meet real rows.
    housing = await with_housing(client, world)
    # The pair introduced and its charter drawn up: the document operations meet a PDF.
    await step(client, world.worker_18, f"/housing/pairs/{housing.pair}", "meeting", 1)
    charter = await client.post(
        f"/api/v1/housing/pairs/{housing.pair}/documents",
        json={"kind": "charter"},
        headers=world.worker_18.headers,
    )
    assert charter.status_code == 201, charter.text
    headers = role_headers(world, role)
    other = await spare(client, engine, world, role)
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        schemathesis_config(
            other.headers if other else {},
            housing_parameters(housing, role, charter.json()["id"]),
        )
    )
    report = tmp_path / f"{role}.xml"
    async with serving(settings) as base_url:
        process = await asyncio.create_subprocess_exec(
            SCHEMATHESIS,
            f"--config-file={config}",
            *schemathesis_args(base_url, headers, report),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            # Schemathesis keeps a cache in its working directory: not in the checkout.
            cwd=tmp_path,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
    # Schemathesis' own report (each failure with its curl command) shows with the failure.
    print(output.decode(errors="replace"))
    failures = failures_of(report)
    assert process.returncode == 0 and not failures, (
        f"Schemathesis as {role}: {len(failures)} failures\n" + "\n".join(failures)
    )


# The document itself: what a client (and the fuzzer) is told.


@pytest.fixture(scope="module")
def document(base_settings: Settings) -> dict[str, Any]:
    schema: dict[str, Any] = create_app(base_settings).openapi_schema.to_schema()
    return schema


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def test_the_document_declares_bearer_and_cookie_and_who_may_call_what(
    document: dict[str, Any],
) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerToken"] == {**schemes["bearerToken"], "type": "http", "scheme": "bearer"}
    assert (schemes["sessionCookie"]["in"], schemes["sessionCookie"]["name"]) == (
        "cookie",
        "voisins_session",
    )
    by_id = {op["operationId"]: (method, op) for method, _, op in operations(document)}
    assert by_id["getMe"][1]["security"] == [{"bearerToken": []}, {"sessionCookie": []}]
    # The cookie authenticates API reads only (api/deps.py token_of).
    assert by_id["createPost"][1]["security"] == [{"bearerToken": []}]
    assert {} in by_id["browsePosts"][1]["security"]
    assert by_id["register"][1]["security"] == []
    assert all("security" in op for _, _, op in operations(document))


def test_every_api_error_is_documented_with_the_error_body(document: dict[str, Any]) -> None:
    body = document["components"]["schemas"]["Error"]
    assert body["required"] == ["error", "detail", "fields"]
    responses = document["components"]["responses"]
    for method, path, operation in operations(document):
        if not path.startswith("/api/"):
            continue
        errors = {code: r for code, r in operation["responses"].items() if code >= "400"}
        for code, response in errors.items():
            reference = response["$ref"].rsplit("/", 1)[-1]
            schema = responses[reference]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, code)
        if operation["security"] and {} not in operation["security"]:
            assert "401" in errors, (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "415", "422", "503"} <= errors.keys(), (method, path)


def test_login_is_documented_as_it_answers(document: dict[str, Any]) -> None:
    login = document["paths"]["/api/v1/auth/login"]["post"]
    assert "200" in login["responses"] and "201" not in login["responses"]


def test_request_bodies_refuse_unknown_fields_and_carry_a_valid_example(
    base_settings: Settings, document: dict[str, Any]
) -> None:
    schemas = document["components"]["schemas"]
    handlers = create_app(base_settings).plugins.get(ApiDocs).handlers
    for method, path, operation in operations(document):
        if "requestBody" not in operation:
            continue
        content = operation["requestBody"]["content"]["application/json"]
        assert "example" in content, f"{method} {path}: add its example to REQUEST_EXAMPLES"
        name = content["schema"]["$ref"].rsplit("/", 1)[-1]
        assert schemas[name]["additionalProperties"] is False, name
        struct = body_type(handlers[operation["operationId"]])
        msgspec.convert(content["example"], struct)  # the API would accept it


def test_patterns_read_the_same_in_python_and_in_json_schema() -> None:
    email = as_ecma_pattern(r"^[^@\s<>]+@[^@\s<>]+$")
    # \x1f is a space to Python (msgspec refuses it in an address), not to ECMAScript.
    assert re.fullmatch(email, "a\x1f@b") is None
    assert re.fullmatch(email, "a\ufeff@b") is not None


async def test_options_lists_every_method_of_a_path(client: AsyncTestClient) -> None:
    # GET and POST /posts come from two handlers: Litestar's own answer named only one.
    response = await client.options("/api/v1/posts")
    assert response.status_code == 204
    assert set(response.headers["allow"].split(", ")) == {"GET", "OPTIONS", "POST"}
