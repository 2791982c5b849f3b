"""Every fast path gives exactly what the path it shortcuts gives: values, errors and text.

- ``read_state`` (columns checked in bulk) against ``BehavioralState.from_mapping``;
- ``Observation.from_mapping`` of a dict (checked inline) against the full checks;
- ``checked_scores`` of plain drift scores against a ``BehavioralState``;
- the trace decoder made once against ``json.loads`` with the same hooks;
- results with lazy details against eagerly built ones: equality, hash, repr,
  ``to_dict``, pickling and signed zeros.

Valid inputs come from the differential tests' strategies; invalid ones are
those inputs with one field broken (a wrong type, NaN, an infinity, a bool,
an empty name, an unknown key, a value out of range, actions out of order).
"""

from __future__ import annotations

import copy
import json
import math
import pickle
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nomotic_dsl.compiler.codegen import generate_module, load_generated
from nomotic_dsl.runtime import Rows, read_state
from nomotic_dsl.runtime.fleet import observation as trace_lines
from nomotic_dsl.runtime.interpreter import (
    BehavioralState,
    CompiledInvariants,
    InvariantResult,
    Observation,
    StateError,
)
from nomotic_dsl.runtime.results import Snapshot, checked_scores
from tests.codegen.strategies import DRIFT_DISTRIBUTIONS, spec_sets, states, unit_floats

BAD_VALUES = (
    math.nan,
    math.inf,
    -math.inf,
    -1.0,
    1.5,
    True,
    None,
    "",
    "x",
    3,
    0,
    [],
    {},
    {"": 0.5},
    {"k": math.nan},
    {"k": 2},
    1e300,
    2.6e11,
)


def outcome(action: Callable[[], Any]) -> tuple[str, Any]:
    """What an action did: ("ok", value) or ("error", the StateError's message)."""
    try:
        return "ok", action()
    except StateError as error:
        return "error", str(error)


@st.composite
def broken_states(draw: st.DrawFn) -> dict[str, Any]:
    """A valid state with one field replaced, removed or added."""
    state = copy.deepcopy(draw(states()))
    bad = draw(st.sampled_from(BAD_VALUES))
    actions = state["actions"]
    choice = draw(st.integers(0, 5))
    if choice == 0 and actions:
        item = draw(st.sampled_from(actions))
        field = draw(
            st.sampled_from(
                ("timestamp", "action_type", "target", "outcome", "session_id", "semantic", "extra")
            )
        )
        if draw(st.booleans()):
            item[field] = bad
        else:
            item.pop(field, None)
    elif choice == 1 and len(actions) >= 2:
        actions[0]["timestamp"], actions[-1]["timestamp"] = (
            actions[-1]["timestamp"] + 1.0,
            actions[0]["timestamp"],
        )
    elif choice == 2:
        name = draw(
            st.sampled_from(
                (
                    "action_distribution",
                    "target_distribution",
                    "outcome_distribution",
                    "drift",
                    "semantic_drift",
                )
            )
        )
        key = draw(st.sampled_from(("action", "acton", "read", "", "tone")))
        state[name] = {key: bad} if draw(st.booleans()) else bad
    elif choice == 3:
        state[draw(st.sampled_from(("now", "actions", "actoins")))] = bad
    elif choice == 4 and actions:
        state["actions"] = tuple(actions) if draw(st.booleans()) else [*actions, bad]
    return state


def rows_of(rows: Rows) -> tuple[Any, ...]:
    return (
        rows.column("timestamps"),
        rows.column("action_types"),
        rows.column("targets"),
        rows.column("session_ids"),
        [dict(item) for item in rows.column("semantics")],
        rows.now,
    )


def plain(snapshot: Snapshot) -> tuple[Any, ...]:
    fields = (
        snapshot.action_distribution,
        snapshot.target_distribution,
        snapshot.drift,
        snapshot.semantic_drift,
    )
    return tuple(None if field is None else dict(field) for field in fields)


def exact(values: Any) -> Any:
    """A comparable form that tells -0.0 from 0.0 and NaN from everything but NaN."""
    if isinstance(values, float):
        return ("float", repr(values))
    if isinstance(values, list | tuple):
        return [exact(value) for value in values]
    if isinstance(values, dict):
        return {key: exact(value) for key, value in values.items()}
    return values


def reference_read(state: Any) -> tuple[Any, ...]:
    checked = BehavioralState.from_mapping(state)
    return rows_of(Rows.of(checked.actions, checked.effective_now)), plain(Snapshot.of(checked))


@settings(max_examples=400, deadline=None)
@given(states() | broken_states())
def test_read_state_equals_the_full_checks(state: dict[str, Any]) -> None:
    def fast() -> tuple[Any, ...]:
        rows, snapshot = read_state(state)
        return rows_of(rows), plain(snapshot)

    assert exact(outcome(fast)) == exact(outcome(lambda: reference_read(state)))


@settings(max_examples=150, deadline=None)
@given(spec_sets(), states() | broken_states())
def test_generated_evaluate_refuses_what_the_interpreter_refuses(
    specs: list[dict[str, Any]], state: dict[str, Any]
) -> None:
    generated = generate_module(specs, module_name="fast", source_digest="0" * 64)
    module = load_generated(generated.source, "<bundle>/policy_evaluator.py")
    reference = CompiledInvariants.compile(specs)
    got = outcome(lambda: [r.to_dict() for r in module.evaluate(state)])
    want = outcome(lambda: [r.to_dict() for r in reference.evaluate(state)])
    assert exact(got) == exact(want)


@st.composite
def observation_dicts(draw: st.DrawFn) -> dict[str, Any]:
    state = draw(states() | broken_states())
    actions = state.get("actions")
    if not isinstance(actions, list | tuple) or not actions:
        return {"timestamp": actions, "action_type": "read", "target": "kb"}
    item = draw(st.sampled_from(list(actions)))
    return item if isinstance(item, dict) else {"timestamp": item}


@settings(max_examples=400, deadline=None)
@given(observation_dicts())
def test_observation_from_a_dict_equals_the_full_checks(item: dict[str, Any]) -> None:
    fast = outcome(lambda: Observation.from_mapping(item))
    full = outcome(lambda: Observation.from_mapping(MappingProxyType(item)))  # not a dict
    assert fast[0] == full[0]
    if fast[0] == "ok":
        assert fast[1] == full[1]
        assert exact(fast[1].timestamp) == exact(full[1].timestamp)
        assert isinstance(fast[1].semantic, MappingProxyType)
    else:
        assert fast[1] == full[1]


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from((*DRIFT_DISTRIBUTIONS, "acton", "")), unit_floats)
    | st.dictionaries(st.sampled_from(DRIFT_DISTRIBUTIONS), st.sampled_from(BAD_VALUES))
)
def test_checked_drift_scores_equal_the_state_checks(scores: dict[str, Any]) -> None:
    def full() -> Any:
        checked = BehavioralState(drift=scores).drift
        return None if checked is None else dict(checked)

    fast = outcome(lambda: dict(checked_scores("drift", scores) or {}))
    assert exact(fast) == exact(outcome(full))


def reference_decode(text: str) -> Any:
    return json.loads(
        text,
        object_pairs_hook=trace_lines._unique_keys,
        parse_constant=trace_lines._no_constant,
    )


@pytest.mark.parametrize(
    "line",
    [
        '{"timestamp": 1.0, "action_type": "read", "target": "kb"}',
        '\ufeff{"timestamp": 1.0, "action_type": "read", "target": "kb"}',
        '{"timestamp": 1.0, "timestamp": 2.0, "action_type": "read", "target": "kb"}',
        '{"timestamp": NaN, "action_type": "read", "target": "kb"}',
        '{"timestamp": Infinity}',
        '{"timestamp": 1.0,',
        "[1, 2]",
        "",
        '{"semantic": {"a": 0.5, "a": 0.6}}',
    ],
)
def test_the_trace_decoder_says_what_json_loads_says(line: str) -> None:
    def decoded() -> Any:
        return trace_lines.parse_line(line)

    try:
        want: Any = ("ok", reference_decode(line))
    except (ValueError, RecursionError):
        want = ("error",)
    try:
        got: Any = ("ok", decoded())
    except trace_lines.TraceLineError as error:
        got = ("error", str(error))
    if want[0] == "error":
        assert got[0] == "error"
        assert got[1].startswith("not valid JSON")
        with pytest.raises(trace_lines.TraceLineError, match="not valid JSON") as caught:
            trace_lines.parse_line(line.encode("utf-8"))
        assert str(caught.value) == got[1]
    else:
        assert got[0] == "ok" or got[1].startswith("observation")


@settings(max_examples=150, deadline=None)
@given(spec_sets(), states())
def test_lazy_details_read_compare_and_serialise_as_eager_ones(
    specs: list[dict[str, Any]], state: dict[str, Any]
) -> None:
    generated = generate_module(specs, module_name="lazy", source_digest="0" * 64)
    module = load_generated(generated.source, "<bundle>/policy_evaluator.py")
    reference = CompiledInvariants.compile(specs)
    for lazy, eager in zip(module.evaluate(state), reference.evaluate(state), strict=True):
        text = eager.detail
        assert isinstance(text, str) and lazy.detail == text
        assert repr(lazy) == repr(eager)
        assert exact(lazy.to_dict()) == exact(eager.to_dict())
        assert exact(lazy.fields()) == exact(eager.fields())
        if not any(isinstance(v, float) and math.isnan(v) for v in eager.fields()):
            assert lazy == eager and hash(lazy) == hash(eager)
        assert repr(pickle.loads(pickle.dumps(lazy))) == repr(eager)
        assert repr(copy.copy(lazy)) == repr(eager)


def test_the_fast_paths_are_taken_for_plain_input() -> None:
    from nomotic_dsl.runtime import columns
    from nomotic_dsl.runtime.interpreter import state as state_module

    item = {"timestamp": 1.0, "action_type": "read", "target": "kb", "semantic": {"tone": 0.5}}
    plain_state = {"actions": [item, {**item, "timestamp": 2.0}], "drift": {"action": 0.1}}
    assert columns._read_mapping(plain_state) is not None
    assert state_module._plain_observation(item) is not None
    assert columns._read_mapping({"actions": [{**item, "timestamp": 1}]}) is not None  # int times
    assert columns._read_mapping({"actions": [{**item, "semantic": {"tone": 1}}]}) is None
    assert state_module._plain_observation({**item, "semantic": {"tone": 1}}) is None


def test_a_result_is_a_record_not_a_tuple_to_compare() -> None:
    result = InvariantResult("a", True, -0.0, 0.3, 1.0, "satisfied", "fine")
    same = InvariantResult("a", True, -0.0, 0.3, 1.0, "satisfied", "fine")
    assert result == same and hash(result) == hash(same)
    assert (result != same) is False
    assert result != tuple(result) and tuple(result) != result
    assert result.measured is True and repr(result.current_value) == "-0.0"
    with pytest.raises(TypeError):
        _ = result < same
    with pytest.raises(AttributeError):
        result.status = "violated"  # type: ignore[misc]
    match result:
        case InvariantResult(invariant_id, satisfied):
            assert (invariant_id, satisfied) == ("a", True)
