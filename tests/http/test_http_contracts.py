"""In-process tests of the contract endpoints: every status each one documents."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import AUTH, RATIO_SPEC, TOKEN, ClientFactory, post_contract
from fastapi.testclient import TestClient
from nacl.signing import SigningKey

from nomotic_dsl.ir import BehavioralContract
from nomotic_dsl.runtime.bundle.keys import key_id


def test_post_generates_version_one_with_fields_and_specs(client: TestClient) -> None:
    response = post_contract(
        client,
        agent_id="support-bot",
        certificate_id="cert-7f3a",
        initial_trust=0.6,
        trust_floor=0.2,
        drift_thresholds={"action": 0.2},
        invariants=[RATIO_SPEC],
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["version"] == 1
    assert body["agent_id"] == "support-bot"
    assert body["archetype"] == "general"
    assert body["certificate_id"] == "cert-7f3a"
    assert (body["initial_trust"], body["trust_floor"]) == (0.6, 0.2)
    assert body["drift_thresholds"] == {"action": 0.2}
    assert body["invariants"] == [RATIO_SPEC]
    assert body["signature"] == ""
    assert BehavioralContract.from_dict(body).to_dict() == body


def test_post_allocates_the_next_version_each_time(client: TestClient) -> None:
    versions = [post_contract(client, agent_id="bot").json()["version"] for _ in range(3)]
    assert versions == [1, 2, 3]
    assert post_contract(client, agent_id="other").json()["version"] == 1


def test_post_fills_distributions_from_a_known_archetype(client: TestClient) -> None:
    body = post_contract(client, agent_id="bot", archetype="customer-experience").json()
    assert body["archetype"] == "customer-experience"
    shares = body["expected_action_distribution"]
    assert shares and abs(sum(shares.values()) - 1.0) < 0.01


def test_post_with_an_unknown_archetype_has_empty_distributions(client: TestClient) -> None:
    body = post_contract(client, agent_id="bot", archetype="no-such-archetype").json()
    assert body["expected_action_distribution"] == {}
    assert body["expected_target_distribution"] == {}


def test_post_with_an_explicit_version(client: TestClient) -> None:
    assert post_contract(client, agent_id="bot", version=5).json()["version"] == 5
    assert post_contract(client, agent_id="bot").json()["version"] == 6


@pytest.mark.parametrize("version", [3, 2])
def test_post_with_a_version_not_above_the_latest_is_a_conflict(
    client: TestClient, version: int
) -> None:
    post_contract(client, agent_id="bot", version=3)
    response = post_contract(client, agent_id="bot", version=version)
    assert response.status_code == 409
    body = response.json()
    assert body["latest"] == 3 and body["version"] == version
    assert "greater than the latest" in body["error"]


def test_post_seals_with_the_server_key(make_client: ClientFactory) -> None:
    key = SigningKey(bytes(range(32)))
    client = make_client(signing_key=key)
    body = post_contract(client, agent_id="bot", invariants=[RATIO_SPEC]).json()
    contract = BehavioralContract.from_dict(body)
    assert contract.signed_by == f"nomo-api:{key_id(key.verify_key)}"
    assert contract.verify(key.verify_key)
    assert not contract.verify(SigningKey(bytes(32)).verify_key)
    stored = client.get("/v1/contracts/bot").json()
    assert BehavioralContract.from_dict(stored).verify(key.verify_key)


def test_post_with_invalid_contract_fields_names_every_problem(client: TestClient) -> None:
    response = post_contract(
        client,
        agent_id="bot",
        trust_floor=0.8,
        expected_action_distribution={"read": 0.5},
        drift_thresholds={"mood": 0.5},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid contract"
    messages = " | ".join(problem["message"] for problem in body["problems"])
    assert "floor <= initial <= ceiling" in messages
    assert "mood" in messages
    locations = {problem["location"] for problem in body["problems"]}
    assert {
        "expected_action_distribution",
        "drift_thresholds['mood']",
        "initial_trust",
    } <= locations


def test_post_with_an_invalid_spec_value_is_422(client: TestClient) -> None:
    bad = {**RATIO_SPEC, "operator": "between", "threshold_upper": 0.1}
    response = post_contract(client, agent_id="bot", invariants=[bad])
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert any(p["location"] == "invariants[0].threshold_upper" for p in problems), problems


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({}, "body.agent_id"),
        ({"agent_id": ""}, "body.agent_id"),
        ({"agent_id": "a/b"}, "body.agent_id"),
        ({"agent_id": "bot", "colour": "red"}, "body.colour"),
        ({"agent_id": "bot", "initial_trust": "high"}, "body.initial_trust"),
        ({"agent_id": "bot", "initial_trust": 1.5}, "body.initial_trust"),
        ({"agent_id": "bot", "version": 0}, "body.version"),
        ({"agent_id": "bot", "archetype": "../etc"}, "body.archetype"),
        ({"agent_id": "bot", "invariants": [{"type": "ratio"}]}, "body.invariants.0.metric"),
        (
            {"agent_id": "bot", "invariants": [{**RATIO_SPEC, "type": "vibes"}]},
            "body.invariants.0.type",
        ),
    ],
)
def test_post_with_a_malformed_body_is_422_with_locations(
    client: TestClient, body: dict[str, Any], location: str
) -> None:
    response = client.post("/v1/contracts", json=body, headers=AUTH)
    assert response.status_code == 422
    payload = response.json()
    assert payload["error"].startswith("invalid request")
    assert location in [problem["location"] for problem in payload["problems"]]


@pytest.mark.parametrize(
    "raw", [b"{not json", b"[1, 2]", b'{"agent_id": "bot", "initial_trust": NaN}', b""]
)
def test_post_with_bad_json_is_422(client: TestClient, raw: bytes) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    response = client.post("/v1/contracts", content=raw, headers=headers)
    assert response.status_code == 422
    assert "error" in response.json()


def test_post_with_both_specs_and_source_is_422(client: TestClient) -> None:
    response = post_contract(
        client, agent_id="bot", invariants=[RATIO_SPEC], source="drift action < 0.2"
    )
    assert response.status_code == 422
    assert "not both" in response.json()["error"]


@pytest.mark.parametrize(
    ("headers", "needle"),
    [
        ({}, "missing bearer token"),
        ({"Authorization": "Bearer wrong"}, "invalid bearer token"),
        ({"Authorization": f"Basic {TOKEN}"}, "missing bearer token"),
        ({"Authorization": f"Bearer {TOKEN}x"}, "invalid bearer token"),
    ],
)
def test_post_without_a_valid_token_is_401(
    client: TestClient, headers: dict[str, str], needle: str
) -> None:
    response = client.post("/v1/contracts", json={"agent_id": "bot"}, headers=headers)
    assert response.status_code == 401
    assert needle in response.json()["error"]
    assert TOKEN not in response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert client.get("/v1/contracts/bot").status_code == 404


def test_a_server_without_a_token_refuses_every_write(make_client: ClientFactory) -> None:
    client = make_client(write_token=None)
    response = client.post("/v1/contracts", json={"agent_id": "bot"}, headers=AUTH)
    assert response.status_code == 401
    assert "NOMO_API_TOKEN" in response.json()["error"]


def test_reads_are_open_unless_configured(make_client: ClientFactory) -> None:
    client = make_client(read_token_required=True)
    post_contract(client, agent_id="bot")
    assert client.get("/v1/contracts/bot").status_code == 401
    assert client.get("/v1/contracts/bot/history").status_code == 401
    assert client.post("/v1/check", json={"source": ""}).status_code == 401
    assert client.get("/v1/contracts/bot", headers=AUTH).status_code == 200


def test_get_returns_the_active_or_a_given_version(client: TestClient) -> None:
    post_contract(client, agent_id="bot", initial_trust=0.5)
    post_contract(client, agent_id="bot", initial_trust=0.7)
    assert client.get("/v1/contracts/bot").json()["initial_trust"] == 0.7
    first = client.get("/v1/contracts/bot", params={"version": 1}).json()
    assert (first["version"], first["initial_trust"]) == (1, 0.5)


def test_get_unknown_agent_or_version_is_404(client: TestClient) -> None:
    response = client.get("/v1/contracts/nobody")
    assert response.status_code == 404
    assert response.json() == {"error": "no contract for agent 'nobody'", "agent_id": "nobody"}
    post_contract(client, agent_id="bot")
    missing = client.get("/v1/contracts/bot", params={"version": 9})
    assert missing.status_code == 404
    assert missing.json()["version"] == 9


def test_history_is_oldest_first(client: TestClient) -> None:
    for trust in (0.5, 0.6, 0.7):
        post_contract(client, agent_id="bot", initial_trust=trust)
    body = client.get("/v1/contracts/bot/history").json()
    assert body["agent_id"] == "bot"
    assert [c["version"] for c in body["contracts"]] == [1, 2, 3]
    assert [c["initial_trust"] for c in body["contracts"]] == [0.5, 0.6, 0.7]
    assert client.get("/v1/contracts/nobody/history").status_code == 404


def test_diff_reports_each_changed_field(client: TestClient) -> None:
    post_contract(client, agent_id="bot", initial_trust=0.5)
    post_contract(client, agent_id="bot", initial_trust=0.7, invariants=[RATIO_SPEC])
    body = client.get("/v1/contracts/bot/diff", params={"v1": 1, "v2": 2}).json()
    assert (body["agent_id"], body["v1"], body["v2"]) == ("bot", 1, 2)
    changes = body["changes"]
    assert changes["initial_trust"] == {"from": 0.5, "to": 0.7}
    assert changes["invariants"] == {"from": [], "to": [RATIO_SPEC]}
    assert changes["version"] == {"from": 1, "to": 2}
    assert "trust_floor" not in changes
    same = client.get("/v1/contracts/bot/diff", params={"v1": 2, "v2": 2}).json()
    assert same["changes"] == {}


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"v1": 1, "v2": 3}, 404),
        ({"v1": 1}, 422),
        ({"v1": "x", "v2": 1}, 422),
        ({"v1": 0, "v2": 1}, 422),
    ],
)
def test_diff_errors(client: TestClient, params: dict[str, Any], status: int) -> None:
    post_contract(client, agent_id="bot")
    post_contract(client, agent_id="bot")
    response = client.get("/v1/contracts/bot/diff", params=params)
    assert response.status_code == status
    assert "error" in response.json()


def test_unknown_route_and_method_use_the_error_shape(client: TestClient) -> None:
    assert client.get("/v2/nothing").json() == {"error": "Not Found"}
    response = client.delete("/v1/contracts/bot")
    assert response.status_code == 405
    assert response.json() == {"error": "Method Not Allowed"}


def test_a_body_that_is_not_utf8_is_422(client: TestClient) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    response = client.post("/v1/contracts", content=b"\xff\xfe{", headers=headers)
    assert response.status_code == 422
    assert "error" in response.json()


@pytest.mark.parametrize("params", [{"version": 2**63}, {"version": 2**31}])
def test_a_version_beyond_the_store_range_is_422(
    client: TestClient, params: dict[str, int]
) -> None:
    post_contract(client, agent_id="bot")
    assert client.get("/v1/contracts/bot", params=params).status_code == 422


def test_numbers_are_not_coerced_from_other_types(client: TestClient) -> None:
    for value in (False, "0.5"):
        response = post_contract(client, agent_id="bot", initial_trust=value)
        assert response.status_code == 422


def test_a_spec_without_id_or_description_gets_generated_ones(client: TestClient) -> None:
    bare = {
        key: value
        for key, value in RATIO_SPEC.items()
        if key not in ("invariant_id", "description")
    }
    first = post_contract(client, agent_id="bot", invariants=[bare]).json()["invariants"][0]
    again = post_contract(client, agent_id="bot", invariants=[bare]).json()["invariants"][0]
    assert first["invariant_id"].startswith("inv-")
    assert first["invariant_id"] == again["invariant_id"]
    assert "0.3" in first["description"] and "100 actions" in first["description"]
