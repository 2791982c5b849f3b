"""Per-field differences between two contracts.

Input: two BehavioralContracts (usually two versions of one agent's contract).
Output: ``{field: {"from": value_in_a, "to": value_in_b}}`` for each field that
differs, JSON-clean, fields in the seed's order. Stage: review and audit (CLI
``nomo contract diff``, ``GET /v1/contracts/{agent_id}/diff``).
"""

from __future__ import annotations

from typing import Any

from nomotic_dsl.ir.contract import CONTRACT_FIELDS, BehavioralContract


def diff_contracts(a: BehavioralContract, b: BehavioralContract) -> dict[str, dict[str, Any]]:
    """Each field whose value differs between ``a`` and ``b``, with both values.

    Every field counts, including contract_id, version, created_at and the seal,
    since an auditor comparing versions needs to see those change too.
    """
    before, after = a.to_dict(), b.to_dict()
    return {
        name: {"from": before[name], "to": after[name]}
        for name in CONTRACT_FIELDS
        if before[name] != after[name]
    }


def describe_change(name: str, change: dict[str, Any]) -> str:
    """One line for a reader: ``initial_trust: 0.5 -> 0.6``."""
    return f"{name}: {_short(change['from'])} -> {_short(change['to'])}"


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value or '""'
    return text if len(text) <= 80 else text[:77] + "..."
