"""The four snapshot checks in general-purpose policy engines, when they are installed.

``pip install regopy cedarpy`` adds them to the benchmark: the same four checks
(write/read ratio, largest target share, action drift, distinct targets) on
the same state, as a Rego policy (rego-cpp, a compiled bundle) and as Cedar
policies. Without them the section is skipped and says why.

Cedar has no division, no maximum over a record and no set size, so its
request context carries the aggregates it compares (counts and shares scaled
to integers), computed from the state in Python as part of each timed call;
Rego computes everything from the state itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

REGO_POLICY = """package nomo

import rego.v1

default ratio := 0

ratio := input.action_distribution.write / input.action_distribution.read if input.action_distribution.read > 0

shares := [v | some v in input.target_distribution]

results := {
\t"write_ratio": ratio < 0.3,
\t"target_share": max(shares) / sum(shares) < 0.6,
\t"action_drift": input.drift.action < 0.2,
\t"few_targets": count(input.target_distribution) <= 5,
}
"""

CEDAR_POLICIES = """permit(principal, action, resource) when { context.write * 10 < context.read * 3 };
permit(principal, action, resource) when { context.target_max * 10 < context.target_total * 6 };
permit(principal, action, resource) when { context.action_drift_milli < 200 };
permit(principal, action, resource) when { context.targets <= 5 };
"""
CHECKS = ("write_ratio", "target_share", "action_drift", "few_targets")

Check = Callable[[Mapping[str, Any]], tuple[bool, ...]]


def rego_checks() -> Check | str:
    """A function running the Rego policy on a state, or why it cannot run."""
    try:
        from regopy import Input, Interpreter
    except ImportError:
        return "regopy is not installed (pip install regopy)"
    rego = Interpreter()
    rego.add_module("nomo", REGO_POLICY)
    bundle = rego.build("data.nomo.results")

    def run(state: Mapping[str, Any]) -> tuple[bool, ...]:
        rego.set_input(Input(dict(state)))
        output = rego.query_bundle(bundle)
        found = json.loads(str(output))["expressions"][0]
        return tuple(bool(found[name]) for name in CHECKS)

    return run


def cedar_checks() -> Check | str:
    """A function running the Cedar policies on a state, or why it cannot run."""
    try:
        import cedarpy
    except ImportError:
        return "cedarpy is not installed (pip install cedarpy)"
    policies = cedarpy.PolicySet.from_str(CEDAR_POLICIES)
    entities = cedarpy.Entities.from_json_str("[]")

    def run(state: Mapping[str, Any]) -> tuple[bool, ...]:
        actions, targets = state["action_distribution"], state["target_distribution"]
        shares = [round(share * 1000) for share in targets.values()]
        context = {
            "write": round(actions.get("write", 0.0) * 1000),
            "read": round(actions.get("read", 0.0) * 1000),
            "target_max": max(shares),
            "target_total": sum(shares),
            "action_drift_milli": round(state["drift"]["action"] * 1000),
            "targets": len(targets),
        }
        request = {
            "principal": 'Agent::"agent"',
            "action": 'Action::"evaluate"',
            "resource": 'Policy::"four-checks"',
            "context": context,
        }
        reasons = set(cedarpy.is_authorized(request, policies, entities).diagnostics.reasons)
        return tuple(f"policy{index}" in reasons for index in range(len(CHECKS)))

    return run
