"""Small helpers for evaluating one invariant in a test."""

from __future__ import annotations

from typing import Any

from nomotic_dsl.ir import InvariantSpec
from nomotic_dsl.runtime.interpreter import CompiledInvariants, InvariantResult


def make(type_: str, metric: str, operator: str, threshold: float, **fields: Any) -> InvariantSpec:
    return InvariantSpec(
        invariant_id=fields.pop("invariant_id", "t"),
        type=type_,
        description="",
        metric=metric,
        operator=operator,
        threshold=threshold,
        **fields,
    )


def evaluate(spec: InvariantSpec, state: dict[str, Any]) -> InvariantResult:
    [result] = CompiledInvariants.compile([spec]).evaluate(state)
    return result


def action(ts: float, kind: str = "read", target: str = "kb", **extra: Any) -> dict[str, Any]:
    return {"timestamp": ts, "action_type": kind, "target": target, **extra}
