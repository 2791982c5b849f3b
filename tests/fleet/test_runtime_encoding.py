"""The fleet runtime's own decision lines are json.dumps' bytes, tiny floats included.

``FleetRuntime`` builds each decision in place and encodes it with orjson,
looking for floats orjson writes otherwise than json (strictly between
-1e-4 and 1e-4) only where a runtime decision can hold floats: the time,
drift scores and drift thresholds. These tests drive a real runtime with
such values in every one of those places (tiny times, tiny given drift
scores, a contract whose thresholds are tiny) and compare every line and
receipt with ``json.dumps`` of the record.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nomotic_dsl.compiler.evaluators import policies_of
from nomotic_dsl.compiler.generate import bundle_contents
from nomotic_dsl.compiler.pipeline import compile_source
from nomotic_dsl.runtime.fleet import FleetConfig, FleetRuntime
from nomotic_dsl.runtime.fleet.decision import DECISION_FIELDS, has_tiny

TINY_POLICY = """\
contract "tiny" {
    archetype customer-experience
    drift thresholds { action 0.00001 target 0.00002 overall 0.5 }
    invariant quiet: drift action < 0.00003
    invariant steady: ratio reply/read < 1.0 over 5 actions
}
"""
CONFIG = FleetConfig(drift_window=4, min_drift_observations=1)
# Around 1e-4, where orjson and json part ways, and plain values.
SMALL = [0.0, 5e-324, 1e-7, 1e-5, 9.99e-5, 1e-4, 0.25, 1.0]


def _runtime() -> FleetRuntime:
    result = compile_source(TINY_POLICY, "tiny.nomo")
    assert result.ok, result.render()
    contents = bundle_contents(result.contracts, result.invariants, result.sources, result.root)
    digest, policies = policies_of(contents, CONFIG)
    return FleetRuntime(policies, CONFIG, digest=digest)


@st.composite
def lines(draw: st.DrawFn) -> list[str]:
    clock = draw(st.sampled_from([0.0, 5e-324, 1e-6, 5e-5, 1.0]))
    out = []
    for _ in range(draw(st.integers(1, 12))):
        clock += draw(st.sampled_from([0.0, 1e-6, 3e-5, 0.5, 60.0]))
        line: dict[str, Any] = {
            "timestamp": clock,
            "action_type": draw(st.sampled_from(["read", "reply", "close"])),
            "target": draw(st.sampled_from(["tickets", "knowledge_base"])),
        }
        if draw(st.booleans()):
            names = st.sampled_from(["action", "target", "outcome", "semantic", "overall"])
            line["drift"] = draw(st.dictionaries(names, st.sampled_from(SMALL), max_size=3))
        out.append(json.dumps(line))
    return out


def _json_line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


@settings(max_examples=300, deadline=None)
@given(lines())
def test_every_runtime_line_is_what_json_dumps_writes(trace: list[str]) -> None:
    runtime = _runtime()
    previous = {None: runtime.digest}
    for number, text in enumerate(trace, start=1):
        record = runtime.process_line(text, number)
        assert record["error"] is None, record["error"]
        assert tuple(record) == DECISION_FIELDS
        assert runtime.last_encoded == _json_line(record)
        body = _json_line({key: record[key] for key in DECISION_FIELDS[:-1]})
        chained = previous.get(record["agent_id"], runtime.digest)
        assert record["receipt"] == hashlib.sha256(bytes.fromhex(chained) + body).hexdigest()
        previous[record["agent_id"]] = record["receipt"]


def test_the_trace_reaches_tiny_values_in_every_place_that_holds_floats() -> None:
    # Without these, the property above could pass without orjson ever writing a tiny float.
    runtime = _runtime()
    seen = set()
    trace = [
        {"timestamp": 5e-324, "action_type": "read", "target": "tickets"},
        {"timestamp": 1e-5, "action_type": "reply", "target": "tickets", "drift": {"action": 1e-5}},
        {"timestamp": 1.0, "action_type": "read", "target": "tickets", "drift": {"action": 0.5}},
    ]
    for number, line in enumerate(trace, start=1):
        record = runtime.process_line(json.dumps(line), number)
        assert runtime.last_encoded == _json_line(record)
        if 0 < record["timestamp"] < 1e-4:
            seen.add("timestamp")
        if has_tiny(record["drift"].values()):
            seen.add("drift")
        if has_tiny(entry["threshold"] for entry in record["drift_exceedances"]):
            seen.add("threshold")
    assert seen == {"timestamp", "drift", "threshold"}


def test_has_tiny_finds_only_nonzero_magnitudes_below_1e_4() -> None:
    assert has_tiny([0.5, -1e-5])
    assert has_tiny([5e-324])
    assert not has_tiny([0.0, -0.0, 1e-4, -1e-4, 1.0])
    assert not has_tiny([])
