"""Monitor state: export at any point, import into a fresh monitor, continue exactly.

``Monitor.export_state()`` gives JSON-clean data; ``Monitor.import_state()``
checks every field and refuses a state from another policy, naming the field.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nomotic_dsl.compiler.codegen import generate_module, load_generated
from nomotic_dsl.runtime import MONITOR_STATE_FORMAT, StateError
from tests.codegen.strategies import (
    DRIFT_DISTRIBUTIONS,
    TERMS,
    idle_seconds,
    spec_sets,
    traces,
    unit_floats,
)
from tests.codegen.test_differential import assert_same


def build(specs: Sequence[dict[str, Any]], digest: str = "0" * 64) -> ModuleType:
    generated = generate_module(specs, module_name="state", source_digest=digest)
    return load_generated(generated.source, "<bundle>/policy_evaluator.py")


def through_json(state: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(state, allow_nan=False))
    return loaded


@settings(max_examples=150, deadline=None)
@given(spec_sets(), traces(max_size=30), idle_seconds, st.data())
def test_export_import_continue_equals_the_uninterrupted_monitor(
    specs: list[dict[str, Any]],
    trace: list[dict[str, Any]],
    idle: float | None,
    data: st.DataObject,
) -> None:
    module = build(specs)
    cut = data.draw(st.integers(0, len(trace)))
    drifts = st.none() | st.dictionaries(st.sampled_from(DRIFT_DISTRIBUTIONS), unit_floats)
    semantics = st.none() | st.dictionaries(st.sampled_from(TERMS), unit_floats)
    original = module.Monitor(session_idle_seconds=idle)
    for raw in trace[:cut]:
        original.observe(raw)
    if data.draw(st.booleans()):
        original.set_drift(data.draw(drifts))
        original.set_semantic_drift(data.draw(semantics))
    exported = original.export_state()
    resumed = module.Monitor(session_idle_seconds=idle)
    resumed.import_state(through_json(exported))
    assert resumed.export_state() == exported
    assert_same(resumed.results(), original.results())
    for raw in trace[cut:]:
        if data.draw(st.integers(0, 7)) == 0:
            drift = data.draw(drifts)
            original.set_drift(drift)
            resumed.set_drift(drift)
        assert_same(resumed.observe(raw), original.observe(raw))
    assert resumed.export_state() == original.export_state()


SPECS: list[dict[str, Any]] = [
    {
        "invariant_id": "targets",
        "type": "count",
        "metric": "distinct_targets",
        "operator": "lte",
        "threshold": 2.0,
        "window": 3,
    },
    {
        "invariant_id": "burst",
        "type": "rate",
        "metric": "action_frequency",
        "operator": "lt",
        "threshold": 1.0,
        "window_seconds": 60.0,
    },
    {
        "invariant_id": "writes",
        "type": "ratio",
        "metric": "write_to_read",
        "operator": "lt",
        "threshold": 1.0,
    },
    {
        "invariant_id": "tone",
        "type": "semantic",
        "metric": "tone",
        "operator": "gt",
        "threshold": 0.5,
    },
    {
        "invariant_id": "night",
        "type": "temporal",
        "metric": "8-18",
        "operator": "eq",
        "threshold": 0.0,
    },
    {
        "invariant_id": "drift",
        "type": "drift",
        "metric": "action",
        "operator": "lt",
        "threshold": 0.2,
    },
]


def busy_monitor(module: ModuleType) -> Any:
    monitor = module.Monitor()
    for index in range(8):
        monitor.observe(
            {
                "timestamp": 1_000.0 + 20 * index,
                "action_type": "write" if index % 2 else "read",
                "target": f"t{index % 3}",
                "semantic": {"tone": index / 8},
            }
        )
    monitor.set_drift({"action": 0.1})
    return monitor


def test_a_state_is_json_clean_versioned_and_names_its_policy() -> None:
    module = build(SPECS)
    state = busy_monitor(module).export_state()
    assert json.loads(json.dumps(state, allow_nan=False)) == state
    assert state["format"] == MONITOR_STATE_FORMAT and state["version"] == 1
    assert state["source_digest"] == module.SOURCE_DIGEST
    assert state["specs_digest"] == module.SPECS_DIGEST
    assert state["invariant_ids"] == list(module.INVARIANT_IDS)
    assert sorted(state["windows"]) == ["count:3", "history", "time:60.0"]
    # The count window of 3 holds a suffix of the time window's observations: stored once.
    assert len(state["observations"]) == 3
    assert state["windows"]["count:3"] == {"n": 3}
    history = state["windows"]["history"]
    assert history["by_action"] == {"read": 4, "write": 4}
    assert set(history["fidelity"]) == {"tone"} and history["outside"] == {"8-18": 8}


def test_a_fresh_monitor_exports_an_empty_state_that_imports() -> None:
    module = build(SPECS)
    state = module.Monitor().export_state()
    assert state["last"] is None and state["observations"] == []
    monitor = busy_monitor(module)
    monitor.import_state(state)
    assert_same(monitor.results(), module.Monitor().results())


def test_a_monitor_without_invariants_round_trips() -> None:
    module = build([])
    monitor = module.Monitor()
    monitor.observe({"timestamp": 5.0, "action_type": "a", "target": "b"})
    fresh = module.Monitor()
    fresh.import_state(through_json(monitor.export_state()))
    assert fresh.export_state() == monitor.export_state()


def test_a_state_from_another_policy_is_refused() -> None:
    state = busy_monitor(build(SPECS)).export_state()
    with pytest.raises(StateError, match=r"state\.source_digest: .*another policy"):
        build(SPECS, digest="1" * 64).Monitor().import_state(state)
    changed = [dict(SPECS[0], threshold=3.0), *SPECS[1:]]
    with pytest.raises(StateError, match=r"state\.specs_digest: .*other invariants"):
        build(changed).Monitor().import_state(state)


Edit = Callable[[dict[str, Any]], None]


def _set(path: tuple[Any, ...], value: Any) -> Edit:
    def edit(state: dict[str, Any]) -> None:
        target = state
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _drop(path: tuple[Any, ...]) -> Edit:
    def edit(state: dict[str, Any]) -> None:
        target = state
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return edit


BAD_STATES: list[tuple[Edit, str]] = [
    (_set(("format",), "pickle"), r"state\.format: 'pickle' is not"),
    (_set(("version",), 2), r"state\.version: 2 is not a monitor state version"),
    (_set(("version",), True), r"state\.version: True"),
    (_set(("invariant_ids",), ["x"]), r"state\.invariant_ids: \['x'\] are not"),
    (_set(("extra",), 1), r"state: unknown field\(s\) 'extra'"),
    (_drop(("windows",)), r"state: missing field\(s\) 'windows'"),
    (_set(("last",), "noon"), r"state\.last: 'noon' is not a Unix time"),
    (_set(("last",), 99_999.0), r"state\.observations: the newest observation is at 1140\.0"),
    (_set(("drift",), {"action": 2}), r"state\.drift\['action'\]: 2 must be between 0 and 1"),
    (_set(("drift",), [1]), r"state\.drift: expected an object"),
    (_set(("observations",), {}), r"state\.observations: expected a list"),
    (_set(("observations", 0, "timestamp"), "x"), r"observations\[0\]\.timestamp: 'x'"),
    (_set(("observations", 1, "timestamp"), 1_141.0), r"observations\[2\]\.timestamp: earlier"),
    (_set(("observations", 0, "code"), "1"), r"observations\[0\]: unknown field"),
    (_set(("windows", "count:3", "n"), 4), r"state\.windows\['count:3'\]\.n: 4 is more than 3"),
    (_set(("windows", "count:3", "n"), 2), r"\['count:3'\]\.n: a window of 3 holding 2"),
    (_set(("windows", "count:3", "n"), -1), r"\['count:3'\]\.n: -1 is not a whole number"),
    (_set(("windows", "count:3", "n"), 1.0), r"\['count:3'\]\.n: 1\.0 is not a whole number"),
    (_set(("windows", "time:60.0", "n"), 2), r"\['time:60\.0'\]\.n: 2 leaves out observations"),
    (_set(("windows", "time:60.0", "n"), 5), r"\['time:60\.0'\]\.n: 5 is more than 3"),
    (_set(("windows", "time:60.0", "x"), 5), r"\['time:60\.0'\]: unknown field\(s\) 'x'"),
    (_drop(("windows", "history")), r"state\.windows: missing field\(s\) 'history'"),
    (_set(("windows", "count:9"), {"n": 1}), r"state\.windows: unknown field\(s\) 'count:9'"),
    (_set(("windows", "history", "n"), 2), r"history\.n: 2 is fewer than the 3 observations"),
    (_set(("windows", "history", "last_ts"), 5.0), r"history\.last_ts: 5\.0 must be the last"),
    (
        _set(("windows", "history", "by_action"), {"read": 4, "write": 5}),
        r"history\.by_action: the counts add up to 9, not to 8",
    ),
    (
        _set(("windows", "history", "by_action"), {"read": 8, "write": 0}),
        r"history\.by_action\.write: a name that is counted has a count of at least 1",
    ),
    (
        _set(("windows", "history", "by_action"), {"": 8}),
        r"history\.by_action: names must be non-empty strings",
    ),
    (
        _set(("windows", "history", "outside", "8-18"), 9),
        r"history\.outside\['8-18'\]: 9 is more than 8",
    ),
    (
        _set(("windows", "history", "fidelity", "tone", "total"), "0x1f"),
        r"fidelity\.tone\.total: '0x1f' is not a lowercase hexadecimal number",
    ),
    (
        _set(("windows", "history", "fidelity", "tone", "total"), "f" * 300),
        r"fidelity\.tone\.total: is more than 8 values of at most 1",
    ),
    (
        _set(("windows", "history", "fidelity", "tone", "count"), 9),
        r"fidelity\.tone\.count: 9 is more than 8",
    ),
]


@pytest.mark.parametrize(("edit", "message"), BAD_STATES)
def test_a_malformed_state_is_refused_naming_the_field_and_changes_nothing(
    edit: Edit, message: str
) -> None:
    module = build(SPECS)
    state = copy.deepcopy(busy_monitor(module).export_state())
    edit(state)
    monitor = module.Monitor()
    monitor.observe({"timestamp": 5.0, "action_type": "read", "target": "a"})
    before = monitor.export_state()
    with pytest.raises(StateError, match=message):
        monitor.import_state(state)
    assert monitor.export_state() == before


@pytest.mark.parametrize("state", [None, [], "state", 3])
def test_a_state_that_is_not_an_object_is_refused(state: Any) -> None:
    with pytest.raises(ValueError, match="state: expected an object"):
        build(SPECS).Monitor().import_state(state)


SESSION_SPECS: list[dict[str, Any]] = [
    {
        "invariant_id": "session-targets",
        "type": "count",
        "metric": "distinct_targets",
        "operator": "lte",
        "threshold": 2.0,
        "per_session": True,
    },
    {
        "invariant_id": "session-recent",
        "type": "count",
        "metric": "distinct_targets",
        "operator": "lte",
        "threshold": 2.0,
        "window": 2,
        "per_session": True,
    },
]


def session_monitor(module: ModuleType, idle: float | None = 100.0) -> Any:
    monitor = module.Monitor(session_idle_seconds=idle)
    for timestamp, target, session in [(0, "a", "s1"), (10, "b", None), (20, "c", "s1")]:
        monitor.observe(
            {
                "timestamp": float(timestamp),
                "action_type": "r",
                "target": target,
                "session_id": session,
            }
        )
    return monitor


def test_sessions_are_exported_oldest_first_and_restored() -> None:
    module = build(SESSION_SPECS)
    monitor = session_monitor(module)
    state = monitor.export_state()
    assert state["session_idle_seconds"] == 100.0
    assert [(s["session_id"], s["last_seen"]) for s in state["sessions"]] == [
        (None, 10.0),
        ("s1", 20.0),
    ]
    assert state["sessions"][1]["windows"] == {
        "count:2": {"n": 2},
        "history": {"n": 2, "first_ts": 0.0, "last_ts": 20.0, "by_target": {"a": 1, "c": 1}},
    }
    resumed = module.Monitor(session_idle_seconds=100.0)
    resumed.import_state(through_json(state))
    assert resumed.export_state() == state
    assert_same(resumed.results(), monitor.results())
    later = {"timestamp": 125.0, "action_type": "r", "target": "d", "session_id": "s1"}
    assert_same(resumed.observe(later), monitor.observe(later))
    # At 125 both monitors released the session without an id (idle 115 s) and s1 (idle
    # 105 s), so s1 started afresh with one target.
    assert [s["session_id"] for s in monitor.export_state()["sessions"]] == ["s1"]
    assert monitor.results()[0].current_value == 1.0


SESSION_EDITS: list[tuple[Edit, str]] = [
    (_set(("session_idle_seconds",), 50.0), r"session_idle_seconds: 50\.0 is not this monitor's"),
    (_set(("sessions",), {}), r"state\.sessions: expected a list of sessions"),
    (_set(("sessions",), []), r"state\.sessions: the session of the last observation is missing"),
    (
        _set(("sessions", 1, "session_id"), None),
        r"sessions\[1\]\.session_id: session None is listed",
    ),
    (_set(("sessions", 1, "session_id"), ""), r"sessions\[1\]\.session_id: '' is not a session id"),
    (_set(("sessions", 0, "last_seen"), 25.0), r"sessions\[0\]\.last_seen: 25\.0 is out of order"),
    (_set(("sessions", 1, "last_seen"), 15.0), r"sessions\[1\]\.observations: the newest"),
    (_drop(("sessions", 0, "windows")), r"sessions\[0\]: missing field\(s\) 'windows'"),
    (
        _set(("sessions", 1, "observations", 0, "session_id"), "s9"),
        r"sessions\[1\]\.observations\[0\]\.session_id: 's9' is not this session's id 's1'",
    ),
    (
        _set(("sessions", 1, "windows", "count:2", "n"), 1),
        r"sessions\[1\]\.windows\['count:2'\]\.n: a window of 2 holding 1",
    ),
]


@pytest.mark.parametrize(("edit", "message"), SESSION_EDITS)
def test_a_malformed_session_is_refused_naming_the_field(edit: Edit, message: str) -> None:
    module = build(SESSION_SPECS)
    state = copy.deepcopy(session_monitor(module).export_state())
    edit(state)
    monitor = module.Monitor(session_idle_seconds=100.0)
    with pytest.raises(StateError, match=message):
        monitor.import_state(state)
    assert monitor.export_state() == module.Monitor(session_idle_seconds=100.0).export_state()


def test_a_session_idle_longer_than_the_monitor_keeps_is_refused() -> None:
    module = build(SESSION_SPECS)
    state = session_monitor(module, idle=None).export_state()
    state["sessions"][0]["last_seen"] = 10.0
    state["session_idle_seconds"] = 5.0
    with pytest.raises(StateError, match=r"sessions\[0\]\.last_seen: 10\.0 is idle longer"):
        module.Monitor(session_idle_seconds=5.0).import_state(state)


def test_a_module_without_sessions_refuses_sessions_and_another_idle_time() -> None:
    module = build(SPECS)
    state = busy_monitor(module).export_state()
    assert state["sessions"] == [] and state["session_idle_seconds"] is None
    with pytest.raises(StateError, match=r"state\.sessions: this module has no per-session"):
        module.Monitor().import_state({**state, "sessions": [{}]})
    with pytest.raises(StateError, match=r"state\.session_idle_seconds: None is not this"):
        module.Monitor(session_idle_seconds=60).import_state(state)


GROWTH_SPECS: list[dict[str, Any]] = [
    {
        "invariant_id": "growth",
        "type": "rate",
        "metric": "action_frequency_growth",
        "operator": "lte",
        "threshold": 2.0,
        "window_seconds": 100.0,
    }
]


def growth_monitor(module: ModuleType) -> Any:
    monitor = module.Monitor()
    for timestamp in (0.0, 50.0, 120.0, 150.0, 210.0, 230.0):
        monitor.observe({"timestamp": timestamp, "action_type": "r", "target": "t"})
    return monitor


def test_the_window_before_is_exported_as_timestamps() -> None:
    module = build(GROWTH_SPECS)
    monitor = growth_monitor(module)
    state = monitor.export_state()
    # now 230: the last 100 s (130, 230] hold 150, 210, 230; the 100 s before hold 50, 120.
    assert state["windows"]["time:100.0"] == {
        "n": 3,
        "growth": {"origin": 0.0, "previous": [50.0, 120.0]},
    }
    assert monitor.results()[0].current_value == 1.5
    resumed = module.Monitor()
    resumed.import_state(through_json(state))
    for timestamp in (300.0, 301.0, 302.0, 303.0, 500.0):
        raw = {"timestamp": timestamp, "action_type": "r", "target": "t"}
        assert_same(resumed.observe(raw), monitor.observe(raw))


GROWTH_EDITS: list[tuple[Edit, str]] = [
    (
        _set(("windows", "time:100.0", "growth", "origin"), None),
        r"growth\.origin: a window that took observations has an origin",
    ),
    (
        _set(("windows", "time:100.0", "growth", "origin"), 60.0),
        r"growth\.origin: 60\.0 is later than the first timestamp kept",
    ),
    (
        _set(("windows", "time:100.0", "growth", "previous"), [120.0, 50.0]),
        r"growth\.previous\[1\]: earlier than the timestamp before it",
    ),
    (
        _set(("windows", "time:100.0", "growth", "previous"), [20.0, 120.0]),
        r"growth\.previous: holds a timestamp outside the window before the last",
    ),
    (
        _set(("windows", "time:100.0", "growth", "previous"), ["x"]),
        r"growth\.previous\[0\]: 'x' is not a Unix time",
    ),
    (_drop(("windows", "time:100.0", "growth")), r"\['time:100\.0'\]: missing field\(s\) 'growth'"),
]


@pytest.mark.parametrize(("edit", "message"), GROWTH_EDITS)
def test_a_malformed_window_before_is_refused(edit: Edit, message: str) -> None:
    module = build(GROWTH_SPECS)
    state = copy.deepcopy(growth_monitor(module).export_state())
    edit(state)
    with pytest.raises(StateError, match=message):
        module.Monitor().import_state(state)
