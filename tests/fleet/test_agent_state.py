"""One agent's state on its own: routing keys, export_agent / import_agent, and state kept per key.

An engine that partitions agents (the Flink job) keys each line with
``Routing.line_key`` and keeps each agent's ``export_agent`` text apart. These
tests drive exactly that with dicts, no Flink: every line's decision must be
the one runtime's, byte for byte, whatever the runtime instance holding the
agent, as long as it is given the agent's last stored state.
"""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings

from nomotic_dsl.runtime.fleet import FleetConfig
from nomotic_dsl.runtime.fleet.decision import encode_record
from nomotic_dsl.runtime.fleet.routing import Routing
from nomotic_dsl.runtime.fleet.runtime import StateMismatch
from nomotic_dsl.runtime.interpreter.state import StateError
from tests.fleet.helpers import fleet_runtime, run_runtime, trace_lines


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trace_lines())
def test_the_routing_key_is_the_chain_the_runtime_chooses(lines: list[str]) -> None:
    runtime = fleet_runtime()
    for number, text in enumerate(lines, 1):
        decision = runtime.process_line(text, number)
        assert runtime.routing.line_key(text) == decision["agent_id"], text
    assert runtime.routing.line_key(None) is None


def test_routing_of_one_contract_and_of_a_policy_for_every_agent() -> None:
    only = Routing.of(["alpha"])
    line = '{"timestamp": 1.0, "action_type": "read", "target": "t"}'
    assert only.line_key(line) == "alpha"
    assert only.line_key('{"timestamp": 1.0}') is None  # unreadable: the agent-less chain
    assert only.line_key('{"agent_id": "beta", "timestamp": "x"}') == "beta"
    every = Routing.of([], governs_all=True)
    assert every.line_key(line) is None
    assert every.line_key('{"agent_id": "x", ' + line[1:]) == "x"


def per_key_run(lines: list[str], config: FleetConfig, seed: int) -> list[bytes]:
    """Each line decided by one of three runtimes at random, given only its key's stored state."""
    runtimes = [fleet_runtime(config) for _ in range(3)]
    stored: dict[str | None, str] = {}
    rng = random.Random(seed)
    out = []
    for number, text in enumerate(lines, 1):
        runtime = runtimes[rng.randrange(3)]
        key = runtime.routing.line_key(text)
        if key in stored:
            runtime.import_agent(json.loads(stored[key]))
        decision = runtime.process_line(text, number)
        state = runtime.release_agent(key)
        assert state is not None and runtime.provenance(key) is None
        stored[key] = json.dumps(state)
        out.append(encode_record(decision))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trace_lines())
def test_state_kept_per_key_gives_the_one_runtimes_decisions(lines: list[str]) -> None:
    config = FleetConfig(drift_window=6, min_drift_observations=3, session_idle_seconds=60)
    expected = [encode_record(d) for d in run_runtime(fleet_runtime(config), lines)]
    assert per_key_run(lines, config, seed=len(lines)) == expected


def test_an_agent_state_is_the_chain_of_the_whole_state() -> None:
    runtime = fleet_runtime()
    lines = [
        json.dumps({"agent_id": agent, "timestamp": 1e9 + n, "action_type": "read", "target": "t"})
        for n, agent in enumerate(["alpha", "beta", "alpha"])
    ]
    run_runtime(runtime, lines)
    whole = runtime.export_state()
    alpha = runtime.export_agent("alpha")
    assert alpha is not None and runtime.export_agent("nobody") is None
    assert alpha["format"] == "nomotic_dsl.fleet_agent_state" and alpha["version"] == 1
    assert alpha["digest"] == whole["digest"] and alpha["config"] == whole["config"]
    assert alpha["chain"] in whole["chains"]
    assert alpha["chain"]["seq"] == 2


def test_a_bad_or_foreign_agent_state_is_refused_and_changes_nothing() -> None:
    runtime = fleet_runtime()
    run_runtime(
        runtime, ['{"agent_id": "alpha", "timestamp": 1e9, "action_type": "read", "target": "t"}']
    )
    good = runtime.export_agent("alpha")
    assert good is not None
    other = fleet_runtime(FleetConfig(drift_window=7, min_drift_observations=3))
    with pytest.raises(StateMismatch, match="drift_window"):
        other.import_agent(good)
    with pytest.raises(StateMismatch, match="bundle"):
        other.import_agent({**good, "digest": "0" * 64})
    broken = json.loads(json.dumps(good))
    broken["chain"]["seq"] = 5
    with pytest.raises(StateError, match=r"agent state\.chain\.counts\.decisions"):
        runtime.import_agent(broken)
    with pytest.raises(StateError, match="expected exactly"):
        runtime.import_agent({"chain": good["chain"]})
    assert runtime.export_agent("alpha") == good
