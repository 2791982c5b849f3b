"""What the benchmarks run: the policies, the states and the traces, made reproducibly.

Every workload exists once, here, so the generated code, the reference
interpreter, the hand-written floors (``floors.py``) and the peers
(``peers.py``) all measure exactly the same checks on exactly the same input.
"""

from __future__ import annotations

import json
import random
from importlib.resources import files
from typing import Any

from nomotic_dsl.runtime.interpreter import Observation

ACTIONS = ("read", "write", "search", "summarise", "send")
TARGETS = tuple(f"target-{index}" for index in range(200))
START = 1_767_225_600.0  # 2026-01-01 00:00 UTC
ZONE = "America/New_York"

# The customer-support example, shipped with the package so `nomo bench` runs without a checkout.
SUPPORT_POLICY = files("nomotic_dsl.bench").joinpath("support.nomo")


def spec(
    ident: str, type_: str, metric: str, operator: str, threshold: float, **extra: Any
) -> dict[str, Any]:
    """One spec dict (the fields a spec file carries)."""
    return {
        "invariant_id": ident,
        "type": type_,
        "metric": metric,
        "operator": operator,
        "threshold": threshold,
        **extra,
    }


# --- four checks on one snapshot ------------------------------------------------------------

FOUR_CHECKS = (
    spec("write-ratio", "ratio", "write_to_read", "lt", 0.3),
    spec("target-share", "distribution", "target_max", "lt", 0.6),
    spec("action-drift", "drift", "action", "lt", 0.2),
    spec("few-targets", "count", "distinct_targets", "lte", 5.0),
)


def four_check_state() -> dict[str, Any]:
    """A JSON-shaped state holding what the four checks read: two distributions and drift."""
    return {
        "action_distribution": {"read": 0.55, "write": 0.15, "search": 0.3},
        "target_distribution": {"tickets": 0.5, "knowledge_base": 0.3, "customer_profile": 0.2},
        "drift": {"action": 0.12, "target": 0.08},
    }


# --- eight rules of every type --------------------------------------------------------------


def eight_rules(window: int) -> list[dict[str, Any]]:
    """Eight invariants of all seven types; the windowed ones over the last ``window`` actions."""
    over = {"window": window}
    return [
        spec("write-ratio", "ratio", "write_to_read", "lt", 0.5, **over),
        spec("target-share", "distribution", "target_max", "lt", 0.6, **over),
        spec("action-drift", "drift", "action", "lt", 0.3),
        spec("accuracy", "semantic", "accuracy", "gte", 0.4, **over),
        spec("office-hours", "temporal", f"8-18@{ZONE}", "lt", 0.9, **over),
        spec("burst", "rate", "action_frequency", "lt", 5.0, window_seconds=60.0),
        spec("action-variety", "count", "distinct_actions", "lte", 10.0, **over),
        spec("all-targets", "count", "distinct_targets", "lte", 300.0),
    ]


def example_specs(window: int) -> list[dict[str, Any]]:
    """Ten invariants of all seven types (the window-size measurements), over ``window`` actions."""
    over = {"window": window}
    return [
        spec("write-ratio", "ratio", "write_to_read", "lt", 0.5, **over),
        spec("target-share", "distribution", "target_max", "lt", 0.6, **over),
        spec("target-spread", "distribution", "target_count", "lte", 150.0, **over),
        spec("action-drift", "drift", "action", "lt", 0.3),
        spec("accuracy", "semantic", "accuracy", "gte", 0.4, **over),
        spec("office-hours", "temporal", f"8-18@{ZONE}", "lt", 0.9, **over),
        spec("pace", "rate", "action_frequency", "lt", 5.0, **over),
        spec("burst", "rate", "action_frequency", "lt", 5.0, window_seconds=60.0),
        spec("action-variety", "count", "distinct_actions", "lte", 10.0, **over),
        spec("all-targets", "count", "distinct_targets", "lte", 300.0),
    ]


def action_dicts(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """A reproducible trace as JSON-shaped dicts: about one action a second, half with a score."""
    rng = random.Random(seed)
    timestamp = START
    trace = []
    for index in range(count):
        timestamp += rng.choice((0.0, 0.5, 1.0, 1.0, 2.0))
        item: dict[str, Any] = {
            "timestamp": timestamp,
            "action_type": rng.choice(ACTIONS),
            "target": rng.choice(TARGETS),
        }
        if index % 2:
            item["semantic"] = {"accuracy": rng.random()}
        trace.append(item)
    return trace


def make_trace(count: int, seed: int = 7) -> list[Observation]:
    """The same trace as ``Observation`` objects."""
    return [Observation.from_mapping(item) for item in action_dicts(count, seed)]


def trace_lines(count: int, seed: int = 11) -> list[bytes]:
    """A JSON Lines trace for the customer-support contract, one agent, as ``nomo run`` reads it."""
    rng = random.Random(seed)
    clock = 1_712_577_600.0
    out = []
    for index in range(count):
        clock += rng.choice((0.5, 1.0, 2.0, 5.0))
        item: dict[str, Any] = {
            "timestamp": clock,
            "action_type": rng.choice(("read", "read", "reply", "escalate", "close")),
            "target": rng.choice(("tickets", "knowledge_base", "customer_profile")),
            "outcome": "allow",
            "session_id": f"cus-{index // 20:05d}",
        }
        if rng.random() < 0.3:
            item["semantic"] = {"refund": rng.choice((0.8, 0.9, 1.0))}
        out.append(json.dumps(item, separators=(",", ":")).encode() + b"\n")
    return out
