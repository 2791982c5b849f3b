"""Generated evaluators agree with the reference interpreter, field for field.

``evaluate`` is compared with ``CompiledInvariants.evaluate`` on generated spec
sets and states; ``Monitor``, fed a generated trace, is compared after every
observation with the interpreter on the state made of the trace so far.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nomotic_dsl.compiler.codegen import generate_module, load_generated
from nomotic_dsl.runtime.interpreter import (
    BehavioralState,
    CompiledInvariants,
    InvariantResult,
    Observation,
)
from tests.codegen.strategies import (
    DRIFT_DISTRIBUTIONS,
    TERMS,
    idle_seconds,
    spec_sets,
    states,
    traces,
    unit_floats,
)


def build(specs: Sequence[dict[str, Any]]) -> ModuleType:
    generated = generate_module(specs, module_name="differential", source_digest="0" * 64)
    return load_generated(generated.source, "<bundle>/policy_evaluator.py")


def assert_same(got: list[InvariantResult], want: list[InvariantResult]) -> None:
    assert len(got) == len(want)
    for mine, reference in zip(got, want, strict=True):
        assert mine.same_as(reference), f"\n generated: {mine}\n reference: {reference}"


@settings(max_examples=300, deadline=None)
@given(spec_sets(), st.lists(states(), min_size=1, max_size=5), idle_seconds)
def test_evaluate_equals_interpreter(
    specs: list[dict[str, Any]], cases: list[dict[str, Any]], idle: float | None
) -> None:
    module = build(specs)
    reference = CompiledInvariants.compile(specs)
    for state in cases:
        assert_same(module.evaluate(state), reference.evaluate(state))
        assert_same(module.evaluate(BehavioralState.from_mapping(state)), reference.evaluate(state))
        assert_same(
            module.evaluate(state, idle),
            reference.evaluate(state, session_idle_seconds=idle),
        )


@settings(max_examples=150, deadline=None)
@given(spec_sets(), traces(max_size=30), idle_seconds, st.data())
def test_monitor_equals_interpreter_after_every_observation(
    specs: list[dict[str, Any]],
    trace: list[dict[str, Any]],
    idle: float | None,
    data: st.DataObject,
) -> None:
    module = build(specs)
    reference = CompiledInvariants.compile(specs)
    monitor = module.Monitor(session_idle_seconds=idle)
    drift = semantic = None
    assert_same(monitor.results(), reference.evaluate({}))
    seen: list[Observation] = []
    for raw in trace:
        if data.draw(st.integers(0, 9)) == 0:
            drift = data.draw(st.dictionaries(st.sampled_from(DRIFT_DISTRIBUTIONS), unit_floats))
            semantic = data.draw(st.none() | st.dictionaries(st.sampled_from(TERMS), unit_floats))
            monitor.set_drift(drift)
            monitor.set_semantic_drift(semantic)
        observation = Observation.from_mapping(raw)
        seen.append(observation)
        state = BehavioralState(actions=tuple(seen), drift=drift, semantic_drift=semantic)
        assert_same(
            monitor.observe(data.draw(st.sampled_from((raw, observation)))),
            reference.evaluate(state, session_idle_seconds=idle),
        )


def test_monitor_refuses_an_earlier_observation_and_changes_nothing() -> None:
    specs = [
        {
            "invariant_id": "r",
            "type": "rate",
            "metric": "action_frequency",
            "operator": "lt",
            "threshold": 1.0,
            "window_seconds": 60.0,
        },
        {
            "invariant_id": "c",
            "type": "count",
            "metric": "distinct_targets",
            "operator": "lt",
            "threshold": 3.0,
            "window": 2,
        },
    ]
    monitor = build(specs).Monitor()
    monitor.observe({"timestamp": 100.0, "action_type": "read", "target": "a"})
    before = monitor.observe({"timestamp": 110.0, "action_type": "read", "target": "b"})
    with pytest.raises(ValueError, match="earlier than the previous one"):
        monitor.observe({"timestamp": 109.0, "action_type": "read", "target": "c"})
    assert_same(monitor.results(), before)
    after = monitor.observe({"timestamp": 110.0, "action_type": "read", "target": "c"})
    assert after[1].current_value == 2.0


def test_monitor_refuses_malformed_observations_and_drift() -> None:
    specs = [
        {
            "invariant_id": "d",
            "type": "drift",
            "metric": "action",
            "operator": "lt",
            "threshold": 0.2,
        }
    ]
    monitor = build(specs).Monitor()
    with pytest.raises(ValueError, match="timestamp"):
        monitor.observe({"action_type": "read", "target": "a"})
    with pytest.raises(ValueError, match="between 0 and 1"):
        monitor.set_drift({"action": 1.5})
    with pytest.raises(ValueError, match=r"drift\['acton'\]: .*\(did you mean `action`\?\)"):
        monitor.set_drift({"acton": 0.1})
    [unmeasured] = monitor.results()
    assert not unmeasured.measured and unmeasured.satisfied
    monitor.set_drift({"action": 0.5})
    [result] = monitor.results()
    assert result.status == "violated" and result.current_value == 0.5
    monitor.set_drift(None)
    assert math.isnan(monitor.results()[0].current_value)
    assert not monitor.results()[0].measured


def test_distributions_near_the_float_maximum_are_measured_alike() -> None:
    specs = [
        {
            "invariant_id": "share",
            "type": "distribution",
            "metric": "action_max",
            "operator": "lt",
            "threshold": 0.5,
        }
    ]
    state = {"action_distribution": {"a": 1.7e308, "b": 1.7e308, "c": 1e308}}
    [result] = build(specs).evaluate(state)
    assert result.same_as(CompiledInvariants.compile(specs).evaluate(state)[0])
    assert result.current_value == pytest.approx(1.7 / 4.4)


def test_large_windows_agree_on_a_long_trace() -> None:
    specs = [
        {
            "invariant_id": "share",
            "type": "distribution",
            "metric": "target_max",
            "operator": "lt",
            "threshold": 0.5,
            "window": 500,
        },
        {
            "invariant_id": "fidelity",
            "type": "semantic",
            "metric": "tone",
            "operator": "gte",
            "threshold": 0.5,
            "window_seconds": 900.0,
        },
        {
            "invariant_id": "night",
            "type": "temporal",
            "metric": "22-6@Europe/London",
            "operator": "lt",
            "threshold": 0.2,
            "window": 700,
        },
    ]
    module = build(specs)
    monitor = module.Monitor()
    trace = [
        {
            "timestamp": 1_729_990_000.0 + 7.5 * i,
            "action_type": "read",
            "target": f"t{i * 7 % 13 % (1 + i // 300)}",
            "semantic": {"tone": (i % 10) / 10},
        }
        for i in range(2000)
    ]
    for raw in trace:
        results = monitor.observe(raw)
    assert_same(results, CompiledInvariants.compile(specs).evaluate({"actions": trace}))
    assert_same(module.evaluate({"actions": trace}), results)


def test_rate_growth_agrees_on_a_long_trace_and_is_measured() -> None:
    specs = [
        {
            "invariant_id": "growth",
            "type": "rate",
            "metric": "action_frequency_growth",
            "operator": "lt",
            "threshold": 2.0,
            "window_seconds": 600.0,
        },
        {
            "invariant_id": "session-growth",
            "type": "rate",
            "metric": "action_frequency_growth",
            "operator": "lt",
            "threshold": 2.0,
            "window_seconds": 300.0,
            "per_session": True,
            "min_actions": 2,
        },
    ]
    module = build(specs)
    reference = CompiledInvariants.compile(specs)
    monitor = module.Monitor(session_idle_seconds=900.0)
    trace = [
        {
            "timestamp": 1_700_000_000.0 + (i * 37 % 1000) / 10 + i * (60 if i < 60 else 7),
            "action_type": "read",
            "target": "kb",
            "session_id": f"s{i // 40}",
        }
        for i in range(160)
    ]
    trace.sort(key=lambda item: item["timestamp"])
    statuses = set()
    for end, raw in enumerate(trace, start=1):
        results = monitor.observe(raw)
        assert_same(
            results, reference.evaluate({"actions": trace[:end]}, session_idle_seconds=900.0)
        )
        statuses |= {(r.invariant_id, r.measured, r.status) for r in results}
    assert_same(module.evaluate({"actions": trace}, 900.0), results)
    assert ("growth", True, "violated") in statuses and ("growth", True, "satisfied") in statuses
    assert ("growth", False, "satisfied") in statuses
