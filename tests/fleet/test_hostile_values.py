"""Any JSON value in any field of a trace line gets a decision (or an error decision), never a crash.

Found by generating exactly that: integers past the float range (JSON allows
any number of digits; ``math.isfinite`` and ``float()`` of one raise
OverflowError) crashed ``nomo run`` in the timestamp, a semantic score or a
drift score, and a lone surrogate anywhere (``test_lone_surrogates.py``)
crashed it later. The property holds every line's encoded form to its
record, so a decision that could not be written would fail it too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nomotic_dsl.cli.main import cli
from nomotic_dsl.ir.frozen import is_number
from nomotic_dsl.runtime.fleet.decision import encode_record

from .helpers import fleet_runtime

HUGE = 10**400
text = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=5),
    st.sampled_from(["read", "tickets", "alpha", "beta", "refund", "action", "\ud800"]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**400), 10**400),
    st.floats(),
    text,
    st.sampled_from([HUGE, -HUGE, 1e308, 5e-324, -0.0, 2**63, 10.0, 11.5]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=6,
)
fields = st.sampled_from(
    ["timestamp", "action_type", "target", "outcome", "session_id", "semantic", "agent_id", "drift"]
)


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.dictionaries(fields, values, max_size=7), min_size=1, max_size=4), st.booleans())
def test_any_value_in_any_field_gets_a_decision(items: list[dict[str, Any]], decoded: bool) -> None:
    runtime = fleet_runtime()
    for item in items:
        if decoded:
            record = runtime.process_value(item)
        else:
            line = json.dumps(item, allow_nan=True).encode("utf-8", "surrogatepass")
            record = runtime.process_line(line)
        assert runtime.last_encoded == encode_record(record)


@pytest.mark.parametrize(
    "extra",
    [
        {"timestamp": HUGE},
        {"semantic": {"refund": HUGE}},
        {"drift": {"action": -HUGE}},
        {"timestamp": -HUGE},
    ],
)
def test_a_number_past_the_float_range_is_named_by_its_size(extra: dict[str, Any]) -> None:
    item = {"timestamp": 10.0, "agent_id": "alpha", "action_type": "read", "target": "tickets"}
    record = fleet_runtime().process_line(json.dumps({**item, **extra}))
    assert "a number of 401 digits" in record["error"]


def test_is_number_refuses_ints_a_float_cannot_hold() -> None:
    assert is_number(2**1023) and is_number(-(2**1023)) and is_number(10**308)
    assert not is_number(HUGE) and not is_number(-HUGE) and not is_number(2**1024)
    assert not is_number(True) and not is_number(float("nan")) and not is_number("1")


def test_nomo_evaluate_reports_a_huge_threshold_or_time_as_input(tmp_path: Path) -> None:
    spec = {"invariant_id": "r", "type": "ratio", "metric": "write_to_read", "operator": "lt"}
    specs = tmp_path / "specs.json"
    specs.write_text(f'[{json.dumps(spec)[:-1]}, "threshold": {HUGE}, "window": 10}}]')
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"actions": []}))
    result = CliRunner().invoke(cli, ["evaluate", str(specs), str(state)])
    assert result.exit_code == 1 and "must be a finite number" in result.output
    specs.write_text(json.dumps([{**spec, "threshold": 0.3, "window": 10}]))
    state.write_text(
        f'{{"actions": [{{"timestamp": {HUGE}, "action_type": "read", "target": "t"}}]}}'
    )
    result = CliRunner().invoke(cli, ["evaluate", str(specs), str(state)])
    assert result.exit_code == 1 and "a number of 401 digits is not a Unix time" in result.output


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b'"timestamp":11.0', b'"timestamp":1e999', "inf is not a finite number"),
        (b'"agent_id":"alpha"', b'"agent_id":"al\\ud800pha"', "lone surrogate"),
        (b'"seq":1,', b'"seq":' + str(HUGE).encode() + b",", "decisions are missing"),
    ],
)
def test_log_verify_names_a_tampered_line_it_cannot_write_again(
    old: bytes, new: bytes, message: str
) -> None:
    # nomo log verify exists to examine logs that may have been tampered with; these
    # lines used to raise (UnicodeEncodeError, ValueError) instead of being named.
    from nomotic_dsl.runtime.fleet.log import BundleIdentity, LogError, verify_log

    runtime = fleet_runtime()
    item = {"timestamp": 11.0, "agent_id": "alpha", "action_type": "read", "target": "tickets"}
    records = [runtime.process_line(json.dumps(item)), runtime.end_record()]
    log = [encode_record(record) + b"\n" for record in records]
    identity = BundleIdentity(runtime.digest, {agent: runtime.digest for agent in runtime.agents})
    assert verify_log(log, identity).decisions == 1
    assert old in log[0]
    with pytest.raises(LogError, match=message) as found:
        verify_log([log[0].replace(old, new), log[1]], identity)
    assert found.value.line == 1


def test_a_decision_whose_line_cannot_be_made_moves_no_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Defence in depth: should encoding ever fail, the log's numbers (line, decisions,
    # the agent's seq and receipt) stay where the last written line left them, so the log
    # still verifies. (The agent's evaluation has taken the observation by then.)
    from nomotic_dsl.runtime.fleet import runtime as runtime_module

    runtime = fleet_runtime()
    item = {"timestamp": 11.0, "agent_id": "alpha", "action_type": "read", "target": "tickets"}
    first = runtime.process_line(json.dumps(item), 1)
    before = runtime.export_state()

    def failing(*args: object, **kwargs: object) -> bytes:
        raise ValueError("cannot encode")

    monkeypatch.setattr(runtime_module, "seal", failing)
    with pytest.raises(ValueError, match="cannot encode"):
        runtime.process_line(json.dumps({**item, "timestamp": 12.0}), 2)
    after = runtime.export_state()
    assert (after["line"], after["decisions"]) == (before["line"], before["decisions"])
    (chain,) = after["chains"]
    assert (chain["seq"], chain["receipt"]) == (1, first["receipt"])
    assert chain["counts"]["decisions"] == 1
