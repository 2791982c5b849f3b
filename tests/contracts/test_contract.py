"""BehavioralContract: fields, defaults, validation, immutability, round trips."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nomotic_dsl import BehavioralContract
from nomotic_dsl.ir import CONTRACT_FIELDS, ContractError
from nomotic_dsl.ir.canonical import canonical_json
from tests.contracts.helpers import DRIFT_SPEC, full_contract, full_fields

SEED_FIELDS = (
    "contract_id",
    "version",
    "agent_id",
    "created_at",
    "certificate_id",
    "archetype",
    "expected_action_distribution",
    "expected_target_distribution",
    "expected_outcome_distribution",
    "authorized_scope",
    "initial_trust",
    "trust_floor",
    "trust_ceiling",
    "invariants",
    "semantic_anchors",
    "drift_thresholds",
    "signature",
    "signed_by",
)


def test_fields_are_the_seeds_in_order() -> None:
    assert CONTRACT_FIELDS == SEED_FIELDS
    assert tuple(full_contract().to_dict()) == SEED_FIELDS


def test_defaults_follow_the_seed() -> None:
    contract = BehavioralContract(agent_id="a")
    assert contract.version == 1
    assert contract.archetype == "general"
    assert contract.certificate_id is None
    assert (contract.initial_trust, contract.trust_floor, contract.trust_ceiling) == (0.5, 0.0, 1.0)
    assert contract.invariants == () and contract.semantic_anchors == ()
    assert dict(contract.expected_action_distribution) == {}
    assert contract.signature == "" and contract.signed_by == ""
    assert contract.created_at == 0.0


def test_derived_contract_id_is_a_stable_content_uuid() -> None:
    a = BehavioralContract(agent_id="a", initial_trust=0.4)
    assert len(a.contract_id) == 36 and a.contract_id.count("-") == 4
    assert BehavioralContract(agent_id="a", initial_trust=0.4).contract_id == a.contract_id
    assert (
        BehavioralContract(agent_id="a", initial_trust=0.4, version=2).contract_id != a.contract_id
    )
    assert BehavioralContract(agent_id="b", initial_trust=0.4).contract_id != a.contract_id
    assert BehavioralContract(agent_id="a", contract_id="mine").contract_id == "mine"


def test_frozen_and_deeply_read_only() -> None:
    contract = full_contract()
    with pytest.raises(dataclasses.FrozenInstanceError):
        contract.agent_id = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        contract.expected_action_distribution["read"] = 1.0  # type: ignore[index]
    with pytest.raises(TypeError):
        contract.authorized_scope["actions"] = []  # type: ignore[index]
    with pytest.raises(TypeError):
        contract.invariants[0]["threshold"] = 9.0  # type: ignore[index]
    assert isinstance(contract.authorized_scope["actions"], tuple)


def test_caller_changes_to_inputs_do_not_reach_the_contract() -> None:
    scope: dict[str, Any] = {"actions": ["read"]}
    contract = BehavioralContract(agent_id="a", authorized_scope=scope)
    scope["actions"].append("delete")
    assert contract.to_dict()["authorized_scope"] == {"actions": ["read"]}


def test_to_dict_is_plain_json() -> None:
    data = full_contract().to_dict()
    assert json.loads(json.dumps(data)) == data
    assert isinstance(data["authorized_scope"]["actions"], list)
    assert isinstance(data["invariants"][0], dict)


def test_round_trip_is_exact_and_hashable() -> None:
    contract = full_contract()
    again = BehavioralContract.from_dict(json.loads(json.dumps(contract.to_dict())))
    assert again == contract
    assert again.to_dict() == contract.to_dict()
    assert hash(again) == hash(contract)


def test_invariant_specs_are_normalised_and_available_as_objects() -> None:
    contract = BehavioralContract(agent_id="a", invariants=[{**DRIFT_SPEC, "threshold": 1}])
    assert contract.invariants[0]["threshold"] == 1.0
    assert isinstance(contract.invariants[0]["threshold"], float)
    assert contract.invariant_specs()[0].invariant_id == "action-drift"


def test_from_dict_refuses_unknown_fields_and_missing_agent() -> None:
    with pytest.raises(ContractError, match="unknown contract field"):
        BehavioralContract.from_dict({"agent_id": "a", "colour": "blue"})
    with pytest.raises(ContractError, match="agent_id: is missing"):
        BehavioralContract.from_dict({"version": 1})


# --- validation: one failing case per rule, then all at once ---------------------------

# (change, field path of the problem, words of its message)
INVALID_CASES: list[tuple[dict[str, Any], str, str]] = [
    ({"agent_id": ""}, "agent_id", "must be a non-empty string"),
    ({"version": 0}, "version", "0 must be a whole number"),
    ({"version": True}, "version", "True must be a whole number"),
    ({"created_at": -1.0}, "created_at", "must be a Unix time"),
    ({"archetype": ""}, "archetype", "must be a non-empty string"),
    (
        {"expected_action_distribution": {"read": 0.5}},
        "expected_action_distribution",
        "sums to 0.5",
    ),
    (
        {"expected_target_distribution": {"a": 0.5, "b": 0.52}},
        "expected_target_distribution",
        "sums to 1.02",
    ),
    (
        {"expected_outcome_distribution": {"allow": "most"}},
        "expected_outcome_distribution['allow']",
        "is not a finite number",
    ),
    (
        {"expected_action_distribution": {"a": 1.5, "b": -0.5}},
        "expected_action_distribution['b']",
        "is negative",
    ),
    ({"initial_trust": 1.5}, "initial_trust", "1.5 must be a number within 0..1"),
    ({"trust_floor": -0.1}, "trust_floor", "-0.1"),
    ({"initial_trust": 0.1, "trust_floor": 0.2}, "initial_trust", "floor <= initial <= ceiling"),
    ({"initial_trust": 0.95, "trust_ceiling": 0.9}, "initial_trust", "floor <= initial <= ceiling"),
    ({"drift_thresholds": {"mood": 0.2}}, "drift_thresholds['mood']", "unknown key 'mood'"),
    ({"drift_thresholds": {"action": 1.2}}, "drift_thresholds['action']", "outside 0..1"),
    ({"invariants": [{"invariant_id": "x"}]}, "invariants[0]", "invariant spec is missing"),
    ({"invariants": [{**DRIFT_SPEC, "operator": "about"}]}, "invariants[0].operator", "'about'"),
    ({"invariants": [DRIFT_SPEC, DRIFT_SPEC]}, "invariants[1].invariant_id", "duplicate id"),
    ({"invariants": "drift action < 0.2"}, "invariants", "must be a list"),
    ({"semantic_anchors": [{"actions": ["read"]}]}, "semantic_anchors[0].term", "non-empty string"),
    ({"authorized_scope": {"limit": math.inf}}, "authorized_scope.limit", "not a finite number"),
    ({"authorized_scope": ["read"]}, "authorized_scope", "must be a mapping"),
    ({"signature": 7}, "signature", "must be a string"),
]


@pytest.mark.parametrize(("change", "path", "message"), INVALID_CASES)
def test_each_rule_refuses_with_the_field_path(
    change: dict[str, Any], path: str, message: str
) -> None:
    with pytest.raises(ContractError) as caught:
        BehavioralContract.from_dict(full_fields(**change))
    problems = caught.value.problems
    assert any(p.path == path and message in p.message for p in problems), problems
    assert any(str(p) == f"{path}: {p.message}" for p in problems)
    assert isinstance(caught.value, ValueError)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ContractError) as caught:
        BehavioralContract(
            agent_id="",
            version=0,
            expected_action_distribution={"read": 0.5},
            initial_trust=2.0,
            drift_thresholds={"mood": 0.1},
            invariants=[{"invariant_id": "x"}],
        )
    assert len(caught.value.problems) == 6
    assert str(caught.value).count("\n") == 6


def test_distribution_within_tolerance_and_empty_are_fine() -> None:
    BehavioralContract(
        agent_id="a", expected_action_distribution={"a": 0.333, "b": 0.333, "c": 0.333}
    )
    BehavioralContract(agent_id="a", expected_action_distribution={})


def test_next_version_derives_a_fresh_unsealed_copy(signing_key: Any) -> None:
    sealed = full_contract().seal(signing_key, "ops")
    following = sealed.next_version(initial_trust=0.7)
    assert following.version == 3
    assert following.contract_id != sealed.contract_id
    assert following.signature == "" and following.signed_by == ""
    assert following.initial_trust == 0.7
    assert following.created_at > sealed.created_at
    assert following.agent_id == sealed.agent_id


# --- Hypothesis ----------------------------------------------------------------------

NAMES = st.text(alphabet="abcdefghij_-", min_size=1, max_size=8)
UNIT = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def distributions(draw: st.DrawFn) -> dict[str, float]:
    names = draw(st.lists(NAMES, unique=True, max_size=5))
    if not names:
        return {}
    weights = [draw(st.integers(min_value=1, max_value=100)) for _ in names]
    total = sum(weights)
    return {name: weight / total for name, weight in zip(names, weights, strict=True)}


@st.composite
def contracts(draw: st.DrawFn) -> BehavioralContract:
    trust = sorted(draw(st.lists(UNIT, min_size=3, max_size=3)))
    return BehavioralContract(
        agent_id=draw(st.text(min_size=1, max_size=10).filter(str.strip)),
        version=draw(st.integers(min_value=1, max_value=10**6)),
        created_at=draw(st.floats(min_value=0, max_value=4e9)),
        certificate_id=draw(st.none() | st.text(max_size=10)),
        archetype=draw(NAMES),
        expected_action_distribution=draw(distributions()),
        expected_target_distribution=draw(distributions()),
        expected_outcome_distribution=draw(distributions()),
        authorized_scope={"actions": draw(st.lists(NAMES, max_size=4))},
        trust_floor=trust[0],
        initial_trust=trust[1],
        trust_ceiling=trust[2],
        semantic_anchors=[{"term": term} for term in draw(st.lists(NAMES, max_size=3))],
        drift_thresholds=draw(
            st.dictionaries(st.sampled_from(["action", "target", "overall"]), UNIT)
        ),
    )


@settings(max_examples=150, deadline=None)
@given(contracts())
def test_round_trip_property(contract: BehavioralContract) -> None:
    text = json.dumps(contract.to_dict())
    again = BehavioralContract.from_dict(json.loads(text))
    assert again == contract
    assert again.canonical_bytes() == contract.canonical_bytes()


@settings(max_examples=150, deadline=None)
@given(contracts())
def test_canonical_bytes_are_deterministic(contract: BehavioralContract) -> None:
    data = contract.to_dict()
    shuffled = {key: data[key] for key in reversed(list(data))}
    for name in ("expected_action_distribution", "drift_thresholds"):
        shuffled[name] = dict(reversed(list(data[name].items())))
    assert BehavioralContract.from_dict(shuffled).canonical_bytes() == contract.canonical_bytes()
    without_seal = {k: v for k, v in data.items() if k not in ("signature", "signed_by")}
    assert contract.canonical_bytes() == canonical_json(without_seal)
