"""Hypothesis properties of the reference interpreter."""

from __future__ import annotations

import dataclasses
import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from nomotic_dsl.ir import InvariantSpec
from nomotic_dsl.runtime.interpreter import BehavioralState, CompiledInvariants, InvariantResult
from nomotic_dsl.runtime.interpreter.evaluate import session_state
from nomotic_dsl.runtime.interpreter.measure import select_window

from .strategies import specs, states

spec_sets = st.lists(specs(), min_size=1, max_size=8).map(
    lambda items: [dataclasses.replace(s, invariant_id=f"inv{i}") for i, s in enumerate(items)]
)


@settings(max_examples=400, deadline=None)
@given(specs())
def test_any_valid_spec_round_trips_through_its_dict_and_json(spec: InvariantSpec) -> None:
    assert spec.validate() == []
    assert InvariantSpec.from_dict(spec.to_dict()) == spec
    assert InvariantSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


@settings(max_examples=400, deadline=None)
@given(spec_sets, states())
def test_evaluate_never_raises_and_status_agrees_with_margin(
    items: list[InvariantSpec], state: BehavioralState
) -> None:
    compiled = CompiledInvariants.compile(items)
    results = compiled.evaluate(state)
    assert [r.invariant_id for r in results] == [s.invariant_id for s in items]
    from_mapping = compiled.evaluate(state.to_dict())
    assert all(a.same_as(b) for a, b in zip(from_mapping, results, strict=True))
    summary = compiled.summary(results)
    measured = [r for r in results if r.measured]
    assert sum(summary["by_status"].values()) == summary["by_measurement"]["measured"]
    assert summary["by_measurement"] == {
        "measured": len(measured),
        "not_measured": len(items) - len(measured),
    }
    assert summary["not_measured"] == [r.invariant_id for r in results if not r.measured]
    for result in results:
        if not result.measured:
            assert result.satisfied and math.isnan(result.margin)
            assert result.status == "satisfied" and "not measured" in result.detail
        elif not result.satisfied:
            assert result.status == "violated"
            assert not result.margin > 0
        elif result.margin < 0.2:
            assert result.status == "approaching"
        else:
            assert result.status == "satisfied"
        assert result.detail


def _comparable(result: InvariantResult) -> tuple[object, ...]:
    def num(value: float) -> object:
        return "nan" if math.isnan(value) else value

    return (result.satisfied, num(result.current_value), num(result.margin), result.status)


windowed_specs = specs().filter(
    lambda s: (
        (s.window is not None or s.window_seconds is not None)
        # Drift scores describe the runtime's window, and a time-windowed rate is a
        # count over T seconds rather than a span rate: neither is a cut of actions.
        and s.type != "drift"
        and not (s.type == "rate" and s.window_seconds is not None)
    )
)


@settings(max_examples=500, deadline=None)
@given(windowed_specs, states())
def test_windowed_equals_unwindowed_on_the_state_cut_to_the_window(
    spec: InvariantSpec, state: BehavioralState
) -> None:
    # A per-session rule reads its session's actions: the cut is taken from those.
    source = session_state(state, None) if spec.per_session else state
    cut = BehavioralState(actions=tuple(select_window(spec, source)), drift=state.drift)
    unwindowed = dataclasses.replace(spec, window=None, window_seconds=None)
    [windowed_result] = CompiledInvariants.compile([spec]).evaluate(state)
    [cut_result] = CompiledInvariants.compile([unwindowed]).evaluate(cut)
    assert _comparable(windowed_result) == _comparable(cut_result)
