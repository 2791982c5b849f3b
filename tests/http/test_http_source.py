"""In-process tests of .nomo source over HTTP: POST /v1/check, and contracts from source."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from api_helpers import AUTH, post_contract
from fastapi.testclient import TestClient

from nomotic_dsl.compiler.diagnostics.render import to_json
from nomotic_dsl.http.untrusted import compile_request_source

RULES = """\
invariant few_writes "Writes stay rare": ratio write/read < 0.3 over 100 actions
drift action < 0.2
"""

CONTRACT = """\
contract "support-bot" {
    version 3
    archetype customer-experience
    trust { initial 0.6  floor 0.2  ceiling 0.9 }
    drift thresholds { action 0.2  overall 0.3 }
    invariant no_bursts: rate < 2x baseline over 1h
    ratio reply/read < 0.8 over 100 actions
}
"""

BROKEN = "ratio write/read < 0.3 over 100 actions\ndrift mood < 0.2\n"


def test_check_clean_source(client: TestClient) -> None:
    response = client.post("/v1/check", json={"source": RULES})
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "files": ["<input>"],
        "diagnostics": [],
        "errors": 0,
        "warnings": 0,
    }


def test_check_reports_diagnostics_with_the_public_fields(client: TestClient) -> None:
    response = client.post("/v1/check", json={"source": BROKEN, "filename": "policy.nomo"})
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False
    assert (body["files"], body["errors"], body["warnings"]) == (["policy.nomo"], 1, 0)
    first = body["diagnostics"][0]
    assert set(first) >= {
        "code",
        "severity",
        "message",
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
        "help",
    }
    assert first["file"] == "policy.nomo"
    assert (first["code"], first["severity"]) == ("NMO403", "error")
    assert (first["line"], first["column"], first["end_column"]) == (2, 7, 11)
    assert "mood" in first["message"]


def test_check_refuses_a_filename_with_directories(client: TestClient) -> None:
    response = client.post("/v1/check", json={"source": RULES, "filename": "../x.nomo"})
    assert response.status_code == 422


@pytest.mark.parametrize("path", ["/etc/passwd", "./secrets", "../policies/other.nomo"])
def test_imports_outside_the_standard_library_are_refused(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    # A readable .nomo file where a relative import would find it: still refused.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "secrets.nomo").write_text("drift action < 0.2\n", encoding="utf-8")
    text = f'import "{path}"\ndrift action < 0.2\n'
    body = client.post("/v1/check", json={"source": text}).json()
    assert body["ok"] is False
    [diagnostic] = body["diagnostics"]
    assert (diagnostic["code"], diagnostic["line"], diagnostic["column"]) == ("NMO205", 1, 1)
    assert "std/" in diagnostic["message"]
    response = post_contract(client, agent_id="bot", source=text)
    assert response.status_code == 422
    assert response.json()["diagnostics"][0]["code"] == "NMO205"


def test_standard_library_imports_are_served(client: TestClient) -> None:
    text = 'import "std/packs/business_hours"\ndrift action < 0.2\n'
    body = client.post("/v1/check", json={"source": text}).json()
    assert body["ok"] is True, body


def test_contract_from_rules_source(client: TestClient) -> None:
    response = post_contract(client, agent_id="bot", source=RULES)
    assert response.status_code == 201, response.text
    invariants = response.json()["invariants"]
    assert [spec["type"] for spec in invariants] == ["ratio", "drift"]
    assert invariants[0]["invariant_id"] == "few_writes"
    assert invariants[0]["window"] == 100


def test_contract_block_for_the_agent_supplies_the_fields(client: TestClient) -> None:
    response = post_contract(client, agent_id="support-bot", source=CONTRACT, trust_ceiling=1.0)
    assert response.status_code == 201, response.text
    body = response.json()
    # The server allocates versions; the block's `version 3` does not pick one.
    assert body["version"] == 1
    assert body["archetype"] == "customer-experience"
    assert body["initial_trust"] == 0.6
    assert body["trust_ceiling"] == 1.0
    assert body["drift_thresholds"] == {"action": 0.2, "overall": 0.3}
    assert [spec["type"] for spec in body["invariants"]] == ["rate", "ratio"]
    assert body["expected_action_distribution"]


def test_source_with_contracts_for_other_agents_only_is_422(client: TestClient) -> None:
    response = post_contract(client, agent_id="another-bot", source=CONTRACT)
    assert response.status_code == 422
    assert "support-bot" in response.json()["error"]


def test_source_that_does_not_compile_returns_diagnostics(client: TestClient) -> None:
    response = client.post(
        "/v1/contracts", json={"agent_id": "bot", "source": BROKEN}, headers=AUTH
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "source does not compile"
    assert body["diagnostics"] and body["diagnostics"][0]["severity"] == "error"
    assert client.get("/v1/contracts/bot").status_code == 404


def test_source_compiles_the_same_from_concurrent_request_threads() -> None:
    # Sync routes run in a thread pool, so the compiler is used from many threads at once.
    texts = [RULES, CONTRACT, BROKEN, 'import "std/packs/business_hours"\n'] * 8
    sequential = [_fingerprint(text) for text in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(_fingerprint, texts)) == sequential


def _fingerprint(text: str) -> tuple[bool, list[dict[str, object]], list[dict[str, object]]]:
    outcome = compile_request_source(text, "<source>")
    specs = [spec.to_dict() for spec in outcome.result.invariants] if outcome.result else []
    return outcome.ok, to_json(outcome.diagnostics), specs
