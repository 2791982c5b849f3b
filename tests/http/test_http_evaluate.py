"""In-process tests of POST /v1/evaluate: the agent's contract on a behavioral state."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import AUTH, RATIO_SPEC, post_contract
from fastapi.testclient import TestClient

from nomotic_dsl.runtime.interpreter import CompiledInvariants

DRIFT_SPEC: dict[str, Any] = {
    "invariant_id": "steady",
    "type": "drift",
    "metric": "action",
    "operator": "lt",
    "threshold": 0.2,
}


def _actions(*kinds: str) -> list[dict[str, Any]]:
    return [
        {"timestamp": 1_700_000_000 + i, "action_type": kind, "target": "tickets"}
        for i, kind in enumerate(kinds)
    ]


@pytest.fixture
def agent(client: TestClient) -> TestClient:
    post_contract(client, agent_id="bot", invariants=[RATIO_SPEC])
    post_contract(client, agent_id="bot", invariants=[RATIO_SPEC, DRIFT_SPEC])
    return client


def test_evaluate_uses_the_active_contract(agent: TestClient) -> None:
    state = {"actions": _actions("read", "read", "read", "write"), "drift": {"action": 0.19}}
    response = agent.post("/v1/evaluate", json={"agent_id": "bot", "state": state})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["agent_id"], body["version"]) == ("bot", 2)
    expected = CompiledInvariants.compile([RATIO_SPEC, DRIFT_SPEC])
    results = expected.evaluate(state)
    assert body["results"] == [result.to_dict() for result in results]
    assert body["summary"] == expected.summary(results)
    assert body["summary"]["violated"] == ["few_writes"]
    assert body["summary"]["approaching"] == ["steady"]


def test_evaluate_a_given_version(agent: TestClient) -> None:
    body = agent.post(
        "/v1/evaluate", json={"agent_id": "bot", "version": 1, "state": {"actions": []}}
    ).json()
    assert body["version"] == 1
    assert [r["invariant_id"] for r in body["results"]] == ["few_writes"]


def test_infinite_and_unmeasured_values_are_json(agent: TestClient) -> None:
    state = {"actions": _actions("write", "write")}
    body = agent.post("/v1/evaluate", json={"agent_id": "bot", "state": state}).json()
    ratio, drift = body["results"]
    assert (ratio["current_value"], ratio["margin"]) == ("inf", "-inf")
    assert drift["current_value"] is None and drift["status"] == "satisfied"
    assert (ratio["measured"], drift["measured"]) == (True, False)
    assert body["summary"]["by_measurement"] == {"measured": 1, "not_measured": 1}
    assert body["summary"]["not_measured"] == ["steady"]
    assert body["summary"]["by_status"] == {"satisfied": 0, "approaching": 0, "violated": 1}


def test_a_misspelt_drift_key_is_422_with_a_suggestion(agent: TestClient) -> None:
    state = {"actions": _actions("read"), "drift": {"acton": 0.1}}
    response = agent.post("/v1/evaluate", json={"agent_id": "bot", "state": state})
    assert response.status_code == 422
    assert (
        "drift['acton']: unknown drift distribution (did you mean `action`?)"
        in (response.json()["error"])
    )


@pytest.mark.parametrize(
    ("state", "needle"),
    [
        ({"actions": list(reversed(_actions("read", "write")))}, "oldest first"),
        ({"drift": {"action": 1.5}}, "drift"),
        ({"actions": [{"timestamp": -5, "action_type": "read", "target": "x"}]}, "timestamp"),
    ],
)
def test_an_invalid_state_is_422(agent: TestClient, state: dict[str, Any], needle: str) -> None:
    response = agent.post("/v1/evaluate", json={"agent_id": "bot", "state": state})
    assert response.status_code == 422
    assert needle in response.json()["error"]


@pytest.mark.parametrize(
    "body",
    [
        {"agent_id": "bot"},
        {"agent_id": "bot", "state": {"mood": "good"}},
        {"agent_id": "bot", "state": {"actions": [{"timestamp": 1}]}},
        {"agent_id": "bot", "state": {"now": "noon"}},
    ],
)
def test_a_malformed_evaluate_body_is_422(agent: TestClient, body: dict[str, Any]) -> None:
    response = agent.post("/v1/evaluate", json=body)
    assert response.status_code == 422
    assert response.json()["problems"]


def test_evaluate_unknown_agent_or_version_is_404(agent: TestClient) -> None:
    state = {"actions": []}
    assert agent.post("/v1/evaluate", json={"agent_id": "x", "state": state}).status_code == 404
    response = agent.post("/v1/evaluate", json={"agent_id": "bot", "version": 7, "state": state})
    assert response.status_code == 404


def test_evaluate_needs_no_token_unless_reads_do(agent: TestClient) -> None:
    response = agent.post("/v1/evaluate", json={"agent_id": "bot", "state": {}}, headers=AUTH)
    assert response.status_code == 200


def test_optional_spec_fields_are_accepted_stored_and_evaluated(client: TestClient) -> None:
    session_rule = {
        "invariant_id": "few_targets",
        "type": "count",
        "metric": "distinct_targets",
        "operator": "lte",
        "threshold": 1.0,
        "per_session": True,
        "min_actions": 2,
    }
    response = post_contract(client, agent_id="sessions", invariants=[RATIO_SPEC, session_rule])
    assert response.status_code == 201, response.text
    stored = response.json()["invariants"]
    assert list(stored[0]) == list(RATIO_SPEC)  # a seed-expressible spec keeps its nine keys
    assert (stored[1]["per_session"], stored[1]["min_actions"]) == (True, 2)
    actions = [
        {"timestamp": 1_700_000_000 + i, "action_type": "read", "target": f"t{i}", "session_id": s}
        for i, s in enumerate(["a", "b", "a"])
    ]
    body = client.post(
        "/v1/evaluate", json={"agent_id": "sessions", "state": {"actions": actions}}
    ).json()
    targets = body["results"][1]
    assert (targets["current_value"], targets["status"]) == (2.0, "violated")
    early = client.post(
        "/v1/evaluate", json={"agent_id": "sessions", "state": {"actions": actions[:2]}}
    ).json()
    assert early["results"][1]["measured"] is False
