"""A lone surrogate anywhere in an observation is refused as an error decision, before any state.

JSON text may spell ``"\\ud800"`` and Python's json decodes it, but no UTF-8
line, digest or checkpoint can hold it. The fleet runtime used to accept
such an observation, fail to encode its decision (a traceback from ``nomo
run``) and leave its agent's chain one decision ahead of its log.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nomotic_dsl.runtime.fleet.decision import encode_record
from nomotic_dsl.runtime.fleet.log import BundleIdentity, verify_log

from .helpers import fleet_runtime

ESCAPED = [
    '{"timestamp": 10.0, "agent_id": "alpha", "action_type": "re\\ud800ad", "target": "tickets"}',
    '{"timestamp": 10.0, "agent_id": "al\\udfffpha", "action_type": "read", "target": "tickets"}',
    '{"timestamp": 10.0, "agent_id": "alpha", "action_type": "read", "target": "tickets", '
    '"session_id": "\\udc00"}',
    '{"timestamp": 10.0, "agent_id": "alpha", "action_type": "read", "target": "tickets", '
    '"semantic": {"ref\\ud83dund": 0.5}}',
    '{"timestamp": 10.0, "agent_id": "alpha", "action_type": "read", "target": "tickets", '
    '"outcome": "\\ud800\\ud800"}',
]
GOOD = {"timestamp": 11.0, "agent_id": "alpha", "action_type": "read", "target": "tickets"}


@pytest.mark.parametrize("line", ESCAPED)
@pytest.mark.parametrize("form", ["bytes", "str", "value"])
def test_the_observation_is_refused_and_the_chain_stays_whole(line: str, form: str) -> None:
    runtime = fleet_runtime()
    if form == "value":
        record = runtime.process_value(json.loads(line))
    else:
        record = runtime.process_line(line.encode() if form == "bytes" else line)
    assert "lone surrogate" in record["error"]
    assert record["timestamp"] == 10.0 and record["agent_id"] is None
    assert runtime.last_encoded == encode_record(record)
    after = runtime.process_line(json.dumps(GOOD))
    assert after["error"] is None and after["seq"] == 1
    log = [encode_record(r) + b"\n" for r in (record, after, runtime.end_record())]
    identity = BundleIdentity(runtime.digest, {agent: runtime.digest for agent in runtime.agents})
    assert verify_log(log, identity).decisions == 2


def test_a_raw_surrogate_in_a_text_line_is_refused_too() -> None:
    runtime = fleet_runtime()
    line = '{"timestamp": 10.0, "agent_id": "alpha", "action_type": "re\ud800ad", "target": "t"}'
    record = runtime.process_line(line)
    assert "lone surrogate" in record["error"]


def test_nomo_run_reports_it_and_goes_on(tmp_path: Path) -> None:
    from .helpers import FLEET_POLICY

    policy = tmp_path / "fleet.nomo"
    policy.write_text(FLEET_POLICY, encoding="utf-8")
    trace = tmp_path / "trace.jsonl"
    trace.write_text(ESCAPED[0] + "\n" + json.dumps(GOOD) + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "nomotic_dsl", "run", str(policy), "--trace", str(trace)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert "lone surrogate" in done.stdout
    assert "2 observations" in done.stdout


def test_a_checkpoint_holding_a_lone_surrogate_is_refused(tmp_path: Path) -> None:
    from nomotic_dsl.runtime.fleet.checkpoint import (
        CheckpointError,
        checkpoint_document,
        read_checkpoint,
        write_checkpoint,
    )

    runtime = fleet_runtime()
    runtime.process_line(json.dumps(GOOD))
    path = tmp_path / "cp.json"
    write_checkpoint(
        path, checkpoint_document(runtime, line=1, observations=1, trace_digest="0" * 64)
    )
    read_checkpoint(path)  # as written, it reads back
    path.write_text(path.read_text(encoding="utf-8").replace('"alpha"', '"al\\ud800pha"', 1))
    with pytest.raises(CheckpointError, match="lone surrogate"):
        read_checkpoint(path)


# Any character, surrogates included (Hypothesis draws them rarely, so some are given).
any_text = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=6),
    st.sampled_from(["\ud800", "re\udfffad", "\ud83d", "\ude00x"]),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"timestamp": st.sampled_from([10.0, 11.0, 12.0])},
            optional={
                "agent_id": st.one_of(st.sampled_from(["alpha", "beta"]), any_text),
                "action_type": st.one_of(st.just("read"), any_text),
                "target": st.one_of(st.just("tickets"), any_text),
                "session_id": any_text,
                "outcome": any_text,
                "semantic": st.dictionaries(any_text, st.sampled_from([0.5, 1.0]), max_size=2),
            },
        ),
        min_size=1,
        max_size=6,
    ),
    st.booleans(),
)
def test_any_text_in_any_field_gets_a_decision_whose_line_is_its_record(
    items: list[dict[str, object]], ascii_only: bool
) -> None:
    runtime = fleet_runtime()
    for item in items:
        record = runtime.process_line(
            json.dumps(item, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
        )
        assert runtime.last_encoded == encode_record(record)
        assert json.loads(runtime.last_encoded) == record
