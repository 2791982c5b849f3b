"""The fast path for writes and reads answers exactly as FastAPI does, and only when it may.

``nomotic_dsl.http.fast`` answers well-formed ``POST /v1/contracts`` and
``GET /v1/contracts/{agent_id}`` without FastAPI's routing and dependency
machinery. Two checks: every request of a varied list gets the same status,
headers and body from an app with the fast path and one without; and a
request with anything unusual reaches FastAPI untouched (the fast path never
answers what it cannot prove well formed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from api_helpers import AUTH, RATIO_SPEC, TOKEN
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from nomotic_dsl.http import ApiSettings, create_app
from nomotic_dsl.http.fast import FastContractRoutes
from nomotic_dsl.http.service import ContractService
from nomotic_dsl.runtime.contracts.store import ContractStore

JSON = {"Content-Type": "application/json"}
GOOD = json.dumps({"agent_id": "bot", "invariants": [RATIO_SPEC]})

# (method, path, headers, body): valid, invalid and unusual requests alike.
REQUESTS: list[tuple[str, str, dict[str, str], str | None]] = [
    ("GET", "/v1/contracts/bot", {}, None),  # 404 before any write
    ("POST", "/v1/contracts", {**AUTH, **JSON}, GOOD),
    ("POST", "/v1/contracts", {**AUTH, **JSON, "Idempotency-Key": "k-1"}, GOOD),
    ("POST", "/v1/contracts", {**AUTH, **JSON, "Idempotency-Key": "k-1"}, GOOD),  # replay
    (
        "POST",
        "/v1/contracts",
        {**AUTH, **JSON, "Idempotency-Key": "k-1"},
        GOOD.replace("bot", "b2"),
    ),
    ("POST", "/v1/contracts", {**AUTH, **JSON, "Idempotency-Key": "bad key"}, GOOD),
    ("POST", "/v1/contracts", {**AUTH, **JSON, "Idempotency-Key": "k" * 256}, GOOD),
    ("POST", "/v1/contracts", {**AUTH, **JSON}, json.dumps({"agent_id": "bot", "version": 1})),
    ("POST", "/v1/contracts", {**AUTH, **JSON}, json.dumps({"agent_id": " bad id"})),
    ("POST", "/v1/contracts", {**AUTH, **JSON}, json.dumps({"agent_id": "bot", "nope": 1})),
    (
        "POST",
        "/v1/contracts",
        {**AUTH, **JSON},
        json.dumps({"agent_id": "bot", "invariants": [{}]}),
    ),
    ("POST", "/v1/contracts", {**AUTH, **JSON}, '{"agent_id": "bot",'),
    ("POST", "/v1/contracts", {**AUTH, **JSON}, "[]"),
    ("POST", "/v1/contracts", {**AUTH, **JSON}, ""),
    ("POST", "/v1/contracts", {**AUTH, "Content-Type": "text/plain"}, GOOD),
    ("POST", "/v1/contracts", {**AUTH, "Content-Type": "application/json; charset=utf-8"}, GOOD),
    ("POST", "/v1/contracts", JSON, GOOD),  # no token
    ("POST", "/v1/contracts", {"Authorization": "Bearer wrong", **JSON}, GOOD),
    ("POST", "/v1/contracts", {"Authorization": f"bearer {TOKEN}", **JSON}, GOOD),
    ("POST", "/v1/contracts", {"Authorization": f"Bearer  {TOKEN} ", **JSON}, GOOD),
    ("POST", "/v1/contracts", {**AUTH, **JSON}, json.dumps({"agent_id": "bot", "version": 9})),
    ("POST", "/v1/contracts", {**AUTH, **JSON}, json.dumps({"agent_id": "bot", "version": 9})),
    ("GET", "/v1/contracts/bot", {}, None),
    ("GET", "/v1/contracts/bot?version=1", {}, None),
    ("GET", "/v1/contracts/bot?version=0", {}, None),
    ("GET", "/v1/contracts/nobody", {}, None),
    ("GET", "/v1/contracts/" + "x" * 201, {}, None),
    ("GET", "/v1/contracts/%20bad", {}, None),
    ("GET", "/v1/contracts/bot/history", {}, None),
]


def _mask(body: bytes) -> Any:
    """The body with the creation time (the one field two runs differ in) taken out."""
    try:
        value = json.loads(body)
    except ValueError:
        return body
    if isinstance(value, dict):
        value.pop("created_at", None)
        for item in value.get("contracts", []):
            item.pop("created_at", None)
    return value


def _answers(client: TestClient) -> list[tuple[int, dict[str, str], Any]]:
    answers = []
    for method, path, headers, body in REQUESTS:
        response = client.request(method, path, headers=headers, content=body)
        kept = {k: v for k, v in response.headers.items() if k.lower() not in {"date", "server"}}
        if "content-length" in kept and "created_at" in response.text:
            kept.pop("content-length")  # the time's digits may differ in number
        answers.append((response.status_code, kept, _mask(response.content)))
    return answers


@pytest.mark.parametrize("read_token_required", [False, True])
def test_answers_equal_with_and_without_the_fast_path(
    tmp_path: Path, read_token_required: bool
) -> None:
    results = []
    for fast in (True, False):
        settings = ApiSettings(
            db_path=tmp_path / f"fast-{fast}.sqlite3",
            write_token=TOKEN,
            read_token_required=read_token_required,
        )
        client = TestClient(create_app(settings, fast_paths=fast), raise_server_exceptions=False)
        results.append(_answers(client))
    for request, with_fast, without in zip(REQUESTS, *results, strict=True):
        assert with_fast == without, request


class Recorder:
    """The app behind the fast path: records what reached it, answers 299."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bytes]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        self.seen.append((scope["path"], message.get("body", b"")))
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def fast(tmp_path: Path) -> tuple[TestClient, Recorder]:
    recorder = Recorder()
    service = ContractService(store=ContractStore(tmp_path / "r.sqlite3"))
    routes = FastContractRoutes(recorder, service, TOKEN, read_token_required=False)
    return TestClient(routes), recorder


def test_well_formed_requests_never_reach_fastapi(fast: tuple[TestClient, Recorder]) -> None:
    client, recorder = fast
    written = client.post("/v1/contracts", content=GOOD, headers={**AUTH, **JSON})
    keyed = client.post(
        "/v1/contracts", content=GOOD, headers={**AUTH, **JSON, "Idempotency-Key": "k"}
    )
    read = client.get("/v1/contracts/bot")
    missing = client.get("/v1/contracts/nobody")
    assert (written.status_code, keyed.status_code, read.status_code) == (201, 201, 200)
    assert missing.status_code == 404 and missing.json()["error"]
    assert read.json()["version"] == 2
    assert recorder.seen == []


@pytest.mark.parametrize(
    ("method", "path", "headers", "body"),
    [
        ("POST", "/v1/contracts", JSON, GOOD),
        ("POST", "/v1/contracts", {"Authorization": f"bearer {TOKEN}", **JSON}, GOOD),
        (
            "POST",
            "/v1/contracts",
            {**AUTH, "Content-Type": "application/json; charset=utf-8"},
            GOOD,
        ),
        ("POST", "/v1/contracts", {**AUTH, **JSON, "Idempotency-Key": "a b"}, GOOD),
        ("POST", "/v1/contracts", {**AUTH, **JSON}, '{"agent_id": 5}'),
        ("POST", "/v1/contracts", {**AUTH, **JSON}, "not json"),
        ("POST", "/v1/contracts", {**AUTH, **JSON}, ""),
        ("POST", "/v1/contracts/", {**AUTH, **JSON}, GOOD),
        ("GET", "/v1/contracts/bot?version=1", {}, None),
        ("GET", "/v1/contracts/bot/history", {}, None),
        ("GET", "/v1/contracts/" + "x" * 201, {}, None),
    ],
)
def test_anything_unusual_reaches_fastapi_untouched(
    fast: tuple[TestClient, Recorder],
    method: str,
    path: str,
    headers: dict[str, str],
    body: str | None,
) -> None:
    client, recorder = fast
    response = client.request(method, path, headers=headers, content=body)
    assert response.status_code == 299
    assert recorder.seen == [(path.split("?")[0], (body or "").encode())]


def test_reads_need_the_exact_token_when_the_server_demands_one(tmp_path: Path) -> None:
    recorder = Recorder()
    service = ContractService(store=ContractStore(tmp_path / "t.sqlite3"))
    client = TestClient(FastContractRoutes(recorder, service, TOKEN, read_token_required=True))
    assert client.get("/v1/contracts/bot").status_code == 299
    assert client.get("/v1/contracts/bot", headers=AUTH).status_code == 404  # answered here
    assert len(recorder.seen) == 1


def test_completed_specs_are_cached_per_exact_body_and_returned_fresh() -> None:
    from nomotic_dsl.http.models import InvariantSpecBody
    from nomotic_dsl.http.service import _complete_spec, completed_spec

    base = {k: v for k, v in RATIO_SPEC.items() if k not in {"invariant_id", "description"}}
    for threshold in (0.0, -0.0, 0.3, 1e300):
        body = InvariantSpecBody.model_validate({**base, "threshold": threshold})
        first, second = completed_spec(body), completed_spec(body)
        assert first == second == _complete_spec(body.model_dump())
        assert first is not second
        first["metric"] = "changed"  # a caller's change never reaches the next caller
        assert completed_spec(body)["metric"] == base["metric"]
    zero = completed_spec(InvariantSpecBody.model_validate({**base, "threshold": 0.0}))
    negative = completed_spec(InvariantSpecBody.model_validate({**base, "threshold": -0.0}))
    assert zero == _complete_spec(
        {**InvariantSpecBody.model_validate({**base, "threshold": 0.0}).model_dump()}
    )
    assert repr(negative["threshold"]) == "-0.0" and repr(zero["threshold"]) == "0.0"


@pytest.mark.parametrize("token", [" padded-token", "tökén-7f3a"])
def test_tokens_fastapi_reads_differently_never_take_the_fast_path(
    tmp_path: Path, token: str
) -> None:
    recorder = Recorder()
    service = ContractService(store=ContractStore(tmp_path / "tok.sqlite3"))
    client = TestClient(FastContractRoutes(recorder, service, token, read_token_required=False))
    header = ("Bearer " + token).encode("utf-8")
    client.post("/v1/contracts", content=GOOD, headers={"Authorization": header, **JSON})
    assert len(recorder.seen) == 1
