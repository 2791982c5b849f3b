"""generate_contract (archetype priors) and diff_contracts (per-field changes)."""

from __future__ import annotations

import json

import pytest

from nomotic_dsl import diff_contracts, generate_contract
from nomotic_dsl.ir import ContractError
from nomotic_dsl.ir.prior import ArchetypePrior
from nomotic_dsl.resources import stdlib_dir
from nomotic_dsl.runtime import priors as archetypes_module
from tests.contracts.helpers import DRIFT_SPEC

FAKE_PRIOR = ArchetypePrior(
    name="support",
    action_distribution={"read": 0.7, "reply": 0.3},
    target_distribution={"tickets": 1.0},
    outcome_distribution={"allow": 0.95, "deny": 0.05},
)


@pytest.fixture
def fake_archetypes(monkeypatch: pytest.MonkeyPatch) -> None:
    priors = {"support": FAKE_PRIOR, "general": ArchetypePrior(name="general")}
    monkeypatch.setattr(archetypes_module, "get_archetype", priors.get)


@pytest.mark.usefixtures("fake_archetypes")
def test_known_archetype_fills_the_distributions() -> None:
    contract = generate_contract("bot", archetype="support")
    assert contract.archetype == "support"
    assert dict(contract.expected_action_distribution) == {"read": 0.7, "reply": 0.3}
    assert dict(contract.expected_target_distribution) == {"tickets": 1.0}
    assert dict(contract.expected_outcome_distribution) == {"allow": 0.95, "deny": 0.05}
    assert contract.version == 1 and contract.created_at > 0


@pytest.mark.usefixtures("fake_archetypes")
@pytest.mark.parametrize("archetype", ["no-such-archetype", "general"])
def test_unknown_or_prior_free_archetype_gives_empty_distributions(archetype: str) -> None:
    contract = generate_contract("bot", archetype=archetype)
    assert contract.archetype == archetype
    assert dict(contract.expected_action_distribution) == {}
    assert dict(contract.expected_target_distribution) == {}
    assert dict(contract.expected_outcome_distribution) == {}


@pytest.mark.usefixtures("fake_archetypes")
def test_every_other_field_is_settable_and_explicit_fields_win() -> None:
    contract = generate_contract(
        "bot",
        archetype="support",
        version=4,
        created_at=12.0,
        certificate_id="cert-1",
        expected_action_distribution={"read": 1.0},
        authorized_scope={"actions": ["read"]},
        initial_trust=0.7,
        trust_floor=0.3,
        trust_ceiling=0.8,
        invariants=[DRIFT_SPEC],
        semantic_anchors=[{"term": "refund"}],
        drift_thresholds={"action": 0.2},
    )
    assert contract.version == 4 and contract.created_at == 12.0
    assert dict(contract.expected_action_distribution) == {"read": 1.0}
    assert dict(contract.expected_target_distribution) == {"tickets": 1.0}
    assert contract.invariants[0]["invariant_id"] == "action-drift"
    assert contract.drift_thresholds == {"action": 0.2}


@pytest.mark.usefixtures("fake_archetypes")
def test_generation_refuses_unknown_fields_and_bad_values() -> None:
    with pytest.raises(ContractError, match="unknown contract field"):
        generate_contract("bot", colour="blue")
    with pytest.raises(ContractError, match="initial_trust"):
        generate_contract("bot", initial_trust=3)


@pytest.mark.skipif(
    not (stdlib_dir() / "archetypes" / "customer-experience.nomo").is_file(),
    reason="the standard library's customer-experience archetype has not landed",
)
def test_real_standard_library_archetype() -> None:
    contract = generate_contract("support-bot", archetype="customer-experience")
    shares = contract.expected_action_distribution
    assert set(shares) >= {"read", "reply"}
    assert abs(sum(shares.values()) - 1.0) < 1e-9
    assert contract.expected_target_distribution
    assert (
        dict(generate_contract("x", archetype="no-such-thing").expected_action_distribution) == {}
    )


@pytest.mark.usefixtures("fake_archetypes")
def test_diff_names_each_changed_field_with_both_values() -> None:
    v1 = generate_contract("bot", created_at=1.0, drift_thresholds={"action": 0.2})
    v2 = v1.next_version(initial_trust=0.6, drift_thresholds={"action": 0.25}, created_at=2.0)
    changes = diff_contracts(v1, v2)
    assert list(changes) == [
        "contract_id",
        "version",
        "created_at",
        "initial_trust",
        "drift_thresholds",
    ]
    assert changes["version"] == {"from": 1, "to": 2}
    assert changes["initial_trust"] == {"from": 0.5, "to": 0.6}
    assert changes["drift_thresholds"] == {"from": {"action": 0.2}, "to": {"action": 0.25}}
    assert json.loads(json.dumps(changes)) == changes


@pytest.mark.usefixtures("fake_archetypes")
def test_diff_of_equal_contracts_is_empty_and_direction_matters() -> None:
    v1 = generate_contract("bot", created_at=1.0)
    v2 = v1.next_version(archetype="sales", created_at=1.0)
    assert diff_contracts(v1, v1) == {}
    assert diff_contracts(v2, v1)["archetype"] == {"from": "sales", "to": "general"}
