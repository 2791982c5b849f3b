"""Checkpoint at any point + resume = one run; receipts find every changed, dropped or moved line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nomotic_dsl.runtime.fleet import FleetConfig, StateMismatch
from nomotic_dsl.runtime.fleet.checkpoint import (
    CheckpointError,
    checkpoint_document,
    read_checkpoint,
    restore,
    write_checkpoint,
)
from nomotic_dsl.runtime.fleet.decision import encode_record
from nomotic_dsl.runtime.fleet.log import BundleIdentity, LogError, verify_log
from nomotic_dsl.runtime.interpreter import StateError
from tests.fleet.helpers import SMALL, fleet_runtime, run_runtime, trace_lines

IDLE = FleetConfig(drift_window=6, min_drift_observations=3, agent_idle_seconds=100.0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trace_lines(), st.integers(min_value=0, max_value=40), st.sampled_from([SMALL, IDLE]))
def test_checkpoint_anywhere_then_resume_gives_one_run(
    lines: list[str], cut: int, config: FleetConfig
) -> None:
    cut = min(cut, len(lines))
    whole = fleet_runtime(config)
    expected = run_runtime(whole, lines)
    first = fleet_runtime(config)
    before = run_runtime(first, lines[:cut])
    state = json.loads(json.dumps(first.export_state()))  # what a file would hold
    second = fleet_runtime(config)
    second.import_state(state)
    after = run_runtime(second, lines[cut:], start=cut)
    assert before + after == expected
    assert second.end_record() == whole.end_record()
    assert second.export_state() == whole.export_state()


def test_idle_agents_start_afresh_and_are_released() -> None:
    runtime = fleet_runtime(IDLE)
    line = {"agent_id": "gamma", "action_type": "read", "target": "tickets"}
    first = runtime.process_line(json.dumps({**line, "timestamp": 1000.0}))
    again = runtime.process_line(json.dumps({**line, "timestamp": 1050.0}))
    assert first["changed"] and all(c["from"] is None for c in first["changed"])
    assert again["changed"] == []
    fresh = runtime.process_line(json.dumps({**line, "timestamp": 1151.0}))
    assert fresh["changed"] and all(c["from"] is None for c in fresh["changed"])
    assert fresh["seq"] == 3  # the receipt chain goes on
    assert runtime.held == 1
    other = {"agent_id": "beta", "action_type": "read", "target": "warehouse"}
    runtime.process_line(json.dumps({**other, "timestamp": 1352.0}))
    assert runtime.held == 1  # gamma idle for more than twice 100 s: released
    provenance = runtime.provenance("gamma")
    assert provenance is not None and provenance["decisions"] == 3 and not provenance["held"]


def test_max_agents_refuses_new_agents_with_an_error_decision() -> None:
    config = FleetConfig(max_agents=1)
    runtime = fleet_runtime(config)
    ok = runtime.process_line(
        '{"agent_id": "alpha", "timestamp": 1, "action_type": "read", "target": "tickets"}'
    )
    refused = runtime.process_line(
        '{"agent_id": "beta", "timestamp": 2, "action_type": "read", "target": "x"}'
    )
    assert ok["error"] is None
    assert refused["agent_id"] is None and "limit of 1 agents" in refused["error"]


def test_a_state_of_other_options_or_bundles_is_refused(tmp_path: Path) -> None:
    runtime = fleet_runtime()
    run_runtime(
        runtime,
        ['{"agent_id": "alpha", "timestamp": 1, "action_type": "read", "target": "tickets"}'],
    )
    state = runtime.export_state()
    with pytest.raises(StateMismatch, match="drift_window"):
        fleet_runtime(FleetConfig(drift_window=7, min_drift_observations=3)).import_state(state)
    with pytest.raises(StateMismatch, match="bundle"):
        fleet_runtime().import_state({**state, "digest": "f" * 64})
    broken = json.loads(json.dumps(state))
    broken["chains"][0]["seq"] = 5
    target = fleet_runtime()
    with pytest.raises(StateError, match="decisions"):
        target.import_state(broken)
    assert target.export_state()["chains"] == []  # unchanged
    path = tmp_path / "cp.json"
    write_checkpoint(
        path, checkpoint_document(runtime, line=1, observations=1, trace_digest="0" * 64)
    )
    document = read_checkpoint(path)
    fresh = fleet_runtime()
    restore(fresh, document)
    assert fresh.export_state() == state
    path.write_text('{"format": "nomotic_dsl.fleet_checkpoint", "version": 9}')
    with pytest.raises(CheckpointError):
        read_checkpoint(path)
    with pytest.raises(CheckpointError, match="more than"):
        read_checkpoint(path, max_bytes=10)


def _log(lines: list[str]) -> tuple[list[bytes], BundleIdentity]:
    runtime = fleet_runtime()
    records = run_runtime(runtime, lines)
    encoded = [encode_record(record) + b"\n" for record in records]
    encoded.append(encode_record(runtime.end_record(len(lines))) + b"\n")
    by_agent = {agent: runtime.digest for agent in runtime.agents}
    return encoded, BundleIdentity(runtime.digest, by_agent)


def _altered(line: bytes) -> list[bytes]:
    record = json.loads(line)
    out = []
    for key, value in record.items():
        if key == "receipt":
            continue
        if isinstance(value, bool):
            replacement: object = not value
        elif isinstance(value, int | float):
            replacement = value + 1
        elif isinstance(value, str):
            replacement = value + "x"
        elif value is None:
            replacement = "x"
        elif isinstance(value, list):
            replacement = [*value, "x"]
        else:
            replacement = {**value, "x": 1}
        out.append(encode_record({**record, key: replacement}) + b"\n")
    return out


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trace_lines(max_size=10))
def test_every_single_line_alteration_removal_and_swap_is_found(lines: list[str]) -> None:
    log, identity = _log(lines)
    assert verify_log(log, identity).decisions == len(lines)
    for index, line in enumerate(log):
        for changed in _altered(line):
            with pytest.raises(LogError):
                verify_log([*log[:index], changed, *log[index + 1 :]], identity)
        with pytest.raises(LogError):
            verify_log(log[:index] + log[index + 1 :], identity)
        with pytest.raises(LogError):
            verify_log([*log[:index], line.replace(b":", b": ", 1), *log[index + 1 :]], identity)
        if index + 1 < len(log):
            swapped = [*log[:index], log[index + 1], line, *log[index + 2 :]]
            with pytest.raises(LogError):
                verify_log(swapped, identity)
        with pytest.raises(LogError):
            verify_log([*log[: index + 1], line, *log[index + 1 :]], identity)  # duplicated


def test_the_first_bad_line_is_named() -> None:
    log, identity = _log(
        [
            json.dumps(
                {"agent_id": "alpha", "timestamp": t, "action_type": "read", "target": "tickets"}
            )
            for t in (1, 2, 3, 4)
        ]
    )
    changed = _altered(log[1])[0]
    with pytest.raises(LogError) as caught:
        verify_log([log[0], changed, *log[2:]], identity)
    assert caught.value.line == 2
    with pytest.raises(LogError, match="does not end with an end record") as cut:
        verify_log(log[:-1], identity)
    assert cut.value.line == len(log)
    with pytest.raises(LogError, match="end record counts") as dropped:
        verify_log([*log[:-2], log[-1]], identity)
    assert dropped.value.line == len(log) - 1
    with pytest.raises(LogError, match="expected"):
        verify_log(log, identity, expected_head="0" * 64)
