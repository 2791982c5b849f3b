"""Shared contract fixtures for the contract tests."""

from __future__ import annotations

from typing import Any

from nomotic_dsl.ir import BehavioralContract

DRIFT_SPEC: dict[str, Any] = {
    "invariant_id": "action-drift",
    "type": "drift",
    "description": "Action mix stays close to the archetype",
    "metric": "action",
    "operator": "lt",
    "threshold": 0.2,
}
RATIO_SPEC: dict[str, Any] = {
    "invariant_id": "few-writes",
    "type": "ratio",
    "metric": "write_to_read",
    "operator": "lt",
    "threshold": 0.5,
    "window": 10,
}


def full_fields(**overrides: Any) -> dict[str, Any]:
    """Every field set to a non-default value."""
    values: dict[str, Any] = {
        "contract_id": "c-1",
        "version": 2,
        "agent_id": "support-bot",
        "created_at": 1_700_000_000.5,
        "certificate_id": "cert-7f3a",
        "archetype": "customer-experience",
        "expected_action_distribution": {"read": 0.6, "write": 0.4},
        "expected_target_distribution": {"tickets": 0.7, "kb": 0.3},
        "expected_outcome_distribution": {"allow": 0.9, "deny": 0.1},
        "authorized_scope": {"actions": ["read", "write"], "targets": ["kb", "tickets"]},
        "initial_trust": 0.6,
        "trust_floor": 0.2,
        "trust_ceiling": 0.9,
        "invariants": [DRIFT_SPEC, RATIO_SPEC],
        "semantic_anchors": [
            {"term": "refund", "actions": ["write"], "description": "Refunds are written up"}
        ],
        "drift_thresholds": {"action": 0.2, "overall": 0.3},
        "signature": "",
        "signed_by": "",
    }
    values.update(overrides)
    return values


def full_contract(**overrides: Any) -> BehavioralContract:
    return BehavioralContract.from_dict(full_fields(**overrides))
