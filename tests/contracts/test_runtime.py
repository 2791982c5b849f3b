"""GovernanceRuntime: invariants after every verdict, drift thresholds, provenance."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nomotic_dsl import BehavioralContract, ContractStore
from nomotic_dsl.ir.prior import ActiveHours, ArchetypePrior
from nomotic_dsl.runtime.governance import GovernanceRuntime, RuntimeConfig
from nomotic_dsl.runtime.interpreter import StateError
from tests.contracts.helpers import DRIFT_SPEC, RATIO_SPEC

BUSINESS_DAY = ArchetypePrior(name="office", active_hours=ActiveHours(8, 18))


def office_lookup(name: str) -> ArchetypePrior | None:
    return BUSINESS_DAY if name == "office" else None


def runtime_with(contract: BehavioralContract | None, **config: Any) -> GovernanceRuntime:
    store = ContractStore()
    if contract is not None:
        store.store(contract)
    options: dict[str, Any] = {"archetype_lookup": office_lookup, "min_drift_observations": 4}
    options.update(config)
    return GovernanceRuntime(RuntimeConfig(contract_store=store, **options))


def action(i: int, kind: str = "read", target: str = "kb", hour: int = 10) -> dict[str, Any]:
    return {"timestamp": hour * 3600.0 + i, "action_type": kind, "target": target}


READ_MOSTLY = BehavioralContract(
    agent_id="bot",
    archetype="office",
    expected_action_distribution={"read": 0.9, "write": 0.1},
    expected_target_distribution={"kb": 1.0},
    drift_thresholds={"action": 0.1, "target": 0.5, "overall": 0.2},
    invariants=[DRIFT_SPEC, RATIO_SPEC],
)


def test_in_line_behaviour_has_no_exceedances() -> None:
    runtime = runtime_with(READ_MOSTLY)
    kinds = ["read"] * 9 + ["write"]
    records = [runtime.record("bot", action(i, kind), "allow") for i, kind in enumerate(kinds)]
    last = records[-1]
    assert last.metadata["drift_exceedances"] == ()
    assert last.drift["action"] < 0.1
    assert last.contract_version == 1


def test_drift_exceedances_land_in_verdict_metadata() -> None:
    runtime = runtime_with(READ_MOSTLY)
    records = [runtime.record("bot", action(i, "write"), "allow") for i in range(6)]
    assert all(r.metadata["drift_exceedances"] == () for r in records[:3])  # below the minimum
    exceeded = records[-1].to_dict()["metadata"]["drift_exceedances"]
    assert [e["distribution"] for e in exceeded] == ["action", "overall"]
    for entry in exceeded:
        assert set(entry) == {"distribution", "score", "threshold"}
        assert entry["score"] > entry["threshold"]
        assert entry["threshold"] == READ_MOSTLY.drift_thresholds[entry["distribution"]]
    assert records[-1].metadata["drift_source"] == "computed"
    json.dumps(records[-1].to_dict())


def test_computed_drift_feeds_drift_invariants() -> None:
    runtime = runtime_with(READ_MOSTLY)
    records = [runtime.record("bot", action(i, "write"), "allow") for i in range(6)]
    drift_result = records[-1].results[0]
    assert drift_result.invariant_id == "action-drift"
    assert drift_result.current_value == pytest.approx(records[-1].drift["action"])
    assert drift_result.status == "violated"
    assert "action-drift" in records[-1].metadata["violated_invariants"]


def test_caller_drift_scores_are_used_and_overall_filled_in() -> None:
    runtime = runtime_with(READ_MOSTLY)
    record = runtime.record("bot", action(0), "allow", drift={"action": 0.15, "target": 0.1})
    assert record.metadata["drift_source"] == "caller"
    assert record.drift["action"] == 0.15
    assert "overall" in record.drift
    assert [e.distribution for e in record.exceedances] == ["action"]
    with pytest.raises(StateError, match="unknown drift distribution"):
        runtime.record("bot", action(1), "allow", drift={"mood": 0.1})
    with pytest.raises(StateError, match=r"drift\['acton'\]: .*did you mean `action`\?"):
        runtime.record("bot", action(1), "allow", drift={"acton": 0.1})
    with pytest.raises(StateError):
        runtime.record("bot", action(1), "allow", drift={"action": 1.5})


def test_temporal_drift_uses_the_archetypes_active_hours() -> None:
    contract = BehavioralContract(
        agent_id="bot", archetype="office", drift_thresholds={"temporal": 0.5}
    )
    runtime = runtime_with(contract)
    records = [runtime.record("bot", action(i, hour=3), "allow") for i in range(4)]
    assert records[-1].drift["temporal"] == pytest.approx(1.0)
    assert records[-1].metadata["drift_exceedances"][0]["distribution"] == "temporal"


def test_provenance_counts_add_up() -> None:
    runtime = runtime_with(READ_MOSTLY)
    records = [
        runtime.record("bot", action(i, "write" if i % 3 == 0 else "read"), "allow")
        for i in range(12)
    ]
    provenance = runtime.provenance("bot")
    results = [result for record in records for result in record.results]
    statuses = [result.status for result in results if result.measured]
    assert provenance.records == 12
    assert provenance.evaluations == len(statuses)
    assert provenance.evaluations + provenance.not_measured == len(results) == 24
    # Drift is computed once 10 actions are seen; the results before measured nothing.
    assert provenance.not_measured == sum(not result.measured for result in results) > 0
    assert provenance.to_dict()["not_measured"] == provenance.not_measured
    assert provenance.satisfied == statuses.count("satisfied")
    assert provenance.approaching == statuses.count("approaching")
    assert provenance.violated == statuses.count("violated")
    assert provenance.violated > 0 and provenance.satisfied > 0
    assert provenance.drift_exceedances == sum(len(r.exceedances) for r in records)
    assert runtime.provenance("nobody").records == 0


def test_verdict_becomes_the_outcome_and_windows_are_kept() -> None:
    runtime = runtime_with(READ_MOSTLY, window_size=3)
    for i in range(5):
        runtime.record("bot", action(i), "deny" if i == 4 else "allow")
    window = runtime.window("bot")
    assert [a.timestamp for a in window] == [36_002.0, 36_003.0, 36_004.0]
    assert window[-1].outcome == "deny"


def test_new_contract_versions_are_picked_up() -> None:
    runtime = runtime_with(READ_MOSTLY)
    assert runtime.record("bot", action(0), "allow").contract_version == 1
    runtime.store.store(READ_MOSTLY.next_version(invariants=[]))
    record = runtime.record("bot", action(1), "allow")
    assert record.contract_version == 2 and record.results == ()


def test_no_contract_or_contracts_disabled() -> None:
    assert runtime_with(None).record("bot", action(0), "allow").results == ()
    disabled = runtime_with(READ_MOSTLY, contracts_enabled=False)
    record = disabled.record("bot", action(0, "write"), "allow")
    assert record.contract_version is None and record.metadata["contract_id"] is None


def test_defaults_enable_contracts_with_a_private_store() -> None:
    config = RuntimeConfig()
    assert config.contracts_enabled and config.contract_store is None
    assert isinstance(GovernanceRuntime().store, ContractStore)
    shared = ContractStore()
    assert GovernanceRuntime(RuntimeConfig(contract_store=shared)).store is shared


def test_bad_input_is_refused_without_changing_the_window() -> None:
    runtime = runtime_with(READ_MOSTLY)
    runtime.record("bot", action(5), "allow")
    with pytest.raises(StateError, match="older"):
        runtime.record("bot", action(1), "allow")
    with pytest.raises(StateError, match="verdict"):
        runtime.record("bot", action(6), "")
    with pytest.raises(StateError):
        runtime.record("bot", {"timestamp": 7.0}, "allow")
    assert len(runtime.window("bot")) == 1


@pytest.mark.parametrize(
    "config", [{"window_size": 0}, {"drift_window": -1}, {"drift_weights": {"mood": 1.0}}]
)
def test_invalid_config_is_refused(config: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="invalid runtime config"):
        RuntimeConfig(**config)
