"""HTTP shell of issue 10 and 16.1/16.3: deep values refused with 422, checks that stay small."""

from __future__ import annotations

from api_helpers import post_contract
from fastapi.testclient import TestClient


def _nested(depth: int) -> dict[str, object]:
    value: dict[str, object] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_a_900_deep_scope_is_refused_with_a_clear_422(client: TestClient) -> None:
    response = post_contract(client, agent_id="deep", authorized_scope={"actions": _nested(900)})
    assert response.status_code == 422
    problem = response.json()["problems"][0]
    assert problem["location"] == "authorized_scope" and "nested more than 32" in problem["message"]
    anchors = [{"term": "t", "actions": [], "extra": _nested(900)}]
    assert post_contract(client, agent_id="deep", semantic_anchors=anchors).status_code == 422
    assert (
        post_contract(client, agent_id="flat", authorized_scope={"actions": ["read"]}).status_code
        == 201
    )


def test_check_of_a_thousand_identical_lines_is_one_warning(client: TestClient) -> None:
    response = client.post("/v1/check", json={"source": "ratio write/read < 0.3\n" * 1000})
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] and body["warnings"] == 1 and len(body["diagnostics"]) == 1
    assert len(response.content) < 5_000


def test_check_counts_diagnostics_past_the_cap(client: TestClient) -> None:
    response = client.post("/v1/check", json={"source": "drift acton < 0.2\n" * 500})
    body = response.json()
    assert body["errors"] == 500 and len(body["diagnostics"]) == 201
    assert body["diagnostics"][-1]["code"] == "NMO199"


def test_check_of_huge_numbers_and_bad_imports_is_diagnostics_not_500(client: TestClient) -> None:
    source = (
        "ratio write/read < " + "9" * 400 + "\n"
        'import "std/' + "a" * 300 + '"\n'
        'import "std/a\\u0000"\n'
        "count distinct_targets <= 5 over 50%\n"
    )
    response = client.post("/v1/check", json={"source": source})
    assert response.status_code == 200
    codes = {item["code"] for item in response.json()["diagnostics"]}
    assert {"NMO312", "NMO211", "NMO306"} <= codes


def test_a_contract_whose_rule_has_no_window_unit_is_refused_not_emptied(
    client: TestClient,
) -> None:
    source = 'contract "bot" {\n    ratio write/read < 0.3\n    count distinct_targets <= 5 over 50%\n}\n'
    response = post_contract(client, agent_id="bot", source=source)
    assert response.status_code == 422
    assert response.json()["diagnostics"][0]["code"] == "NMO306"
