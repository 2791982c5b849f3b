"""The example traces are fresh, well formed, and show exactly their documented incident."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from nomotic_dsl.compiler.pipeline import compile_file
from nomotic_dsl.runtime.interpreter import CompiledInvariants
from nomotic_dsl.runtime.interpreter.state import BehavioralState, Observation

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# Scenario -> the invariants its incident breaks; nothing else breaks, from the first line on.
INCIDENTS = {
    "customer_support": {"burst_rate", "replies_follow_reads", "refunds_on_topic"},
    "financial_analysis": {"few_writes", "no_ledger_fixation"},
    "data_pipeline": {"careful_deletes", "no_single_step_loop"},
    "research_assistant": {"stays_on_brief"},
    "healthcare_scheduling": {"clinic_hours", "on_task"},
}


def _make_traces() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_traces", EXAMPLES / "make_traces.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def _trace(name: str) -> list[dict[str, object]]:
    lines = (EXAMPLES / name / "trace.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_committed_traces_match_their_recipes() -> None:
    assert _make_traces().main(["--check"]) == 0


def test_every_scenario_is_documented() -> None:
    listed = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for name in INCIDENTS:
        assert f"]({name}/)" in listed
        assert (EXAMPLES / name / "README.md").read_text(encoding="utf-8").strip()


@pytest.mark.parametrize("name", sorted(INCIDENTS))
def test_trace_is_well_formed(name: str) -> None:
    lines = _trace(name)
    assert 200 <= len(lines) <= 2000
    observations = [Observation.from_mapping(line) for line in lines]
    stamps = [item.timestamp for item in observations]
    assert stamps == sorted(stamps)
    assert all(
        set(line) <= {"timestamp", "action_type", "target", "outcome", "session_id", "semantic"}
        for line in lines
    )


@pytest.mark.parametrize("name", sorted(INCIDENTS))
def test_replay_shows_exactly_the_documented_incident(name: str) -> None:
    (contract,) = compile_file(EXAMPLES / name / "policy.nomo").contracts
    compiled = CompiledInvariants.compile(contract.invariants)
    observations = tuple(Observation.from_mapping(line) for line in _trace(name))
    incident_start = next(
        i
        for i, line in enumerate(_trace(name))
        if not str(line["session_id"]).split("-")[1].isdigit()
    )
    violated: dict[str, int] = {}
    for end in range(1, len(observations) + 1):
        for result in compiled.evaluate(BehavioralState(actions=observations[:end])):
            if result.status == "violated":
                violated.setdefault(result.invariant_id, end)
    assert set(violated) == INCIDENTS[name]
    assert min(violated.values()) > incident_start
