"""HTTP hardening (issue 16, findings 6 and 7), in process.

Idempotency-Key on POST /v1/contracts, agent ids under the one rule, bodies
that are not UTF-8 (UTF-16, UTF-32, Latin-1) refused with 422, the bound on
concurrent compiles (503), /docs and /redoc with no external URL, and key
files that are malformed refused with a message instead of a nacl traceback.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from api_helpers import AUTH, RATIO_SPEC, ClientFactory
from click.testing import CliRunner
from fastapi.testclient import TestClient

from nomotic_dsl.cli.main import cli
from nomotic_dsl.http import service as service_module
from nomotic_dsl.http.settings import SettingsError, settings_from_env
from nomotic_dsl.runtime.bundle.errors import KeyFileError
from nomotic_dsl.runtime.bundle.keys import load_verify_key

BODY = {"agent_id": "bot", "invariants": [RATIO_SPEC]}


def _post(client: TestClient, body: Any, key: str | None = None) -> Any:
    headers = dict(AUTH)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/v1/contracts", json=body, headers=headers)


def test_a_retry_with_the_same_key_returns_the_first_answer(client: TestClient) -> None:
    first = _post(client, BODY, "7b0e-retry")
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = _post(client, BODY, "7b0e-retry")
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    # The same body laid out differently is the same request.
    spaced = json.dumps(BODY, indent=3)
    laid_out = client.post(
        "/v1/contracts",
        content=spaced,
        headers={**AUTH, "Idempotency-Key": "7b0e-retry", "Content-Type": "application/json"},
    )
    assert laid_out.status_code == 201 and laid_out.json() == first.json()
    history = client.get("/v1/contracts/bot/history").json()["contracts"]
    assert [item["version"] for item in history] == [1]
    # Without a key every POST is a new version.
    assert _post(client, BODY).json()["version"] == 2


def test_the_same_key_with_another_body_is_422(client: TestClient) -> None:
    assert _post(client, BODY, "k-1").status_code == 201
    other = _post(client, {**BODY, "initial_trust": 0.2}, "k-1")
    assert other.status_code == 422
    assert "already used for a different request" in other.json()["error"]
    assert other.json()["idempotency_key"] == "k-1"
    assert other.json()["version"] == 1
    assert len(client.get("/v1/contracts/bot/history").json()["contracts"]) == 1


@pytest.mark.parametrize("key", ["", "has space", "x" * 256])
def test_an_unusable_idempotency_key_is_422(client: TestClient, key: str) -> None:
    encoded = key.encode("utf-8").decode("latin-1")
    answer = client.post("/v1/contracts", json=BODY, headers={**AUTH, "Idempotency-Key": encoded})
    assert answer.status_code == 422, answer.text
    assert client.get("/v1/contracts/bot").status_code == 404


def test_a_failed_write_stores_no_key_so_its_retry_is_tried_again(client: TestClient) -> None:
    assert _post(client, {**BODY, "version": 3}).status_code == 201
    stale = _post(client, {**BODY, "version": 2}, "stale")
    assert stale.status_code == 409
    assert _post(client, {**BODY, "version": 2}, "stale").status_code == 409
    assert _post(client, {**BODY, "version": 4}, "stale").status_code == 201


@pytest.mark.parametrize(
    ("agent", "reason"),
    [
        (".", "dot segment"),
        ("..", "dot segment"),
        ("bot\u202e", "bidirectional"),
        ("b\u200bot", "invisible"),
        ("\ufeffbot", "invisible"),
        ("bot\u00a0", "space other than"),
    ],
)
def test_unusable_agent_ids_are_422_on_write_and_read(
    client: TestClient, agent: str, reason: str
) -> None:
    answer = _post(client, {**BODY, "agent_id": agent})
    assert answer.status_code == 422, answer.text
    assert reason in answer.json()["error"]
    if agent not in (".", ".."):  # a client resolves those away before sending
        read = client.get(f"/v1/contracts/{agent}")
        assert read.status_code == 422 and reason in read.json()["error"]


def test_nfc_and_nfd_spellings_are_one_agent(client: TestClient) -> None:
    stored = _post(client, {**BODY, "agent_id": "cafe\u0301"})
    assert stored.status_code == 201 and stored.json()["agent_id"] == "caf\u00e9"
    assert _post(client, {**BODY, "agent_id": "caf\u00e9"}).json()["version"] == 2
    assert client.get("/v1/contracts/cafe\u0301").json()["version"] == 2
    history = client.get("/v1/contracts/caf\u00e9/history").json()["contracts"]
    assert [item["version"] for item in history] == [1, 2]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1"])
@pytest.mark.parametrize("path", ["/v1/contracts", "/v1/check", "/v1/evaluate"])
def test_bodies_that_are_not_utf8_are_422(client: TestClient, encoding: str, path: str) -> None:
    body: dict[str, Any] = {**BODY, "agent_id": "b\u00f6t"} if path == "/v1/contracts" else {}
    if path == "/v1/check":
        body = {"source": "rate < 2x baseline over 1h  # \u00e9\n"}
    if path == "/v1/evaluate":
        body = {"agent_id": "b\u00f6t", "state": {}}
    raw = json.dumps(body, ensure_ascii=False).encode(encoding)
    answer = client.post(path, content=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert answer.status_code == 422, (encoding, answer.text)
    assert answer.json()["error"] == "invalid request: the body is not UTF-8 JSON text"
    assert client.get("/v1/contracts/b\u00f6t").status_code == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/contracts", {**BODY, "expected_action_distribution": {"re\ud800ad": 1.0}}),
        ("/v1/contracts", {**BODY, "authorized_scope": {"actions": ["re\ud800ad"]}}),
        ("/v1/contracts", {**BODY, "semantic_anchors": [{"term": "t\udfff"}]}),
        ("/v1/contracts", {**BODY, "certificate_id": "c\ud800"}),
        ("/v1/contracts", {**BODY, "agent_id": "b\ud800t"}),
        ("/v1/evaluate", {"agent_id": "bot", "state": {"action_distribution": {"\ud800": 1}}}),
    ],
)
def test_a_lone_surrogate_in_a_body_is_422_not_500(
    client: TestClient, path: str, body: dict[str, Any]
) -> None:
    # json.dumps spells the surrogate as an escape, as a hostile client would; it used to
    # reach the contract's canonical JSON and fail there as a 500.
    assert _post(client, BODY).status_code == 201  # "bot" exists, for /v1/evaluate
    raw = json.dumps(body).encode()
    answer = client.post(path, content=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert "lone surrogate" in answer.json()["error"]


def test_a_lone_surrogate_in_policy_source_is_a_diagnostic(client: TestClient) -> None:
    # The compiler reads any text: the character is reported where it is.
    raw = json.dumps({"source": "invariant a\ud800: rate < 1 over 1m\n"}).encode()
    answer = client.post(
        "/v1/check", content=raw, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert answer.status_code == 200, answer.text
    (diagnostic,) = answer.json()["diagnostics"]
    assert "U+D800" in diagnostic["message"] and diagnostic["line"] == 1


def test_a_utf8_body_with_a_bom_is_still_utf8(client: TestClient) -> None:
    raw = b"\xef\xbb\xbf" + json.dumps(BODY).encode()
    answer = client.post(
        "/v1/contracts", content=raw, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert answer.status_code == 201, answer.text


def test_compiles_past_the_bound_are_503_with_retry_after(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(max_concurrent_checks=1)
    entered = threading.Event()
    release = threading.Event()
    real = service_module.check_source

    def slow_check(request: Any) -> dict[str, Any]:
        entered.set()
        assert release.wait(timeout=30)
        return real(request)

    monkeypatch.setattr(service_module, "check_source", slow_check)
    results: list[int] = []
    first = threading.Thread(
        target=lambda: results.append(
            client.post("/v1/check", json={"source": "rate < 2x baseline over 1h\n"}).status_code
        )
    )
    first.start()
    try:
        assert entered.wait(timeout=30)
        busy = client.post("/v1/check", json={"source": "rate < 2x baseline over 1h\n"})
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "1"
        assert busy.json()["limit"] == 1 and "retry" in busy.json()["error"]
        with_source = _post(client, {"agent_id": "bot", "source": "rate < 2x baseline over 1h\n"})
        assert with_source.status_code == 503  # contracts from source share the bound
        assert client.get("/v1/contracts/bot").status_code == 404  # reads are not gated
    finally:
        release.set()
        first.join(timeout=30)
    assert results == [200]
    assert (
        client.post("/v1/check", json={"source": "rate < 2x baseline over 1h\n"}).status_code == 200
    )


_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\s*:\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_reference_no_external_url(client: TestClient, page: str) -> None:
    answer = client.get(page)
    assert answer.status_code == 200
    html = answer.text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    references = [first or second for first, second in _URL.findall(html)]
    assert references, html
    for reference in references:
        assert reference.startswith("/"), reference
        fetched = client.get(reference)
        assert fetched.status_code == 200, reference
        if reference.endswith(".js"):
            assert len(fetched.content) > 100_000  # the real bundle, not a stub


def test_swagger_ui_is_told_not_to_call_the_online_validator(client: TestClient) -> None:
    assert '"validatorUrl": null' in client.get("/docs").text


MALFORMED_KEYS = {
    # 64 characters that bytes.fromhex reads as 21 bytes: nacl's own error before.
    "spaces-inside": "00 " * 10 + "  " + " ".join(["ab"] * 11),
    "short": "abcd",
    "not-hex": "g" * 64,
    "binary": "\x00" * 64,
}


@pytest.mark.parametrize("name", sorted(MALFORMED_KEYS))
def test_malformed_public_key_files_give_a_clear_error(tmp_path: Path, name: str) -> None:
    pub = tmp_path / f"{name}.pub"
    pub.write_text(MALFORMED_KEYS[name] + "\n", encoding="latin-1")
    with pytest.raises(KeyFileError, match=str(pub)):
        load_verify_key(pub)
    runner = CliRunner()
    db = tmp_path / "c.db"
    assert (
        runner.invoke(cli, ["contract", "generate", "--agent", "bot", "--db", str(db)]).exit_code
        == 0
    )
    result = runner.invoke(cli, ["contract", "verify", "bot", "--trust", str(pub), "--db", str(db)])
    assert result.exit_code == 1, result.output
    assert str(pub) in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("name", sorted(MALFORMED_KEYS))
def test_a_malformed_server_signing_key_is_a_settings_error(tmp_path: Path, name: str) -> None:
    key = tmp_path / f"{name}.key"
    key.write_text(MALFORMED_KEYS[name] + "\n", encoding="latin-1")
    with pytest.raises(SettingsError, match="NOMO_API_SIGNING_KEY"):
        settings_from_env({"NOMO_API_SIGNING_KEY": str(key)})
    result = CliRunner().invoke(
        cli, ["serve", "--port", "0"], env={"NOMO_API_SIGNING_KEY": str(key)}
    )
    assert result.exit_code == 2 and "NOMO_API_SIGNING_KEY" in result.output


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"NOMO_API_HEADER_TIMEOUT": "soon"}, "NOMO_API_HEADER_TIMEOUT"),
        ({"NOMO_API_BODY_TIMEOUT": "0"}, "body timeout"),
        ({"NOMO_API_BODY_TIMEOUT": "nan"}, "NOMO_API_BODY_TIMEOUT"),
        ({"NOMO_API_MAX_CONCURRENT_CHECKS": "0"}, "concurrent checks"),
        ({"NOMO_API_MAX_CONCURRENT_CHECKS": "many"}, "whole number of compiles"),
    ],
)
def test_bad_limit_settings_are_refused(env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError, match=needle):
        settings_from_env(env)
