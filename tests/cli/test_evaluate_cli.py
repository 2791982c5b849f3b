"""``nomo evaluate``: results, not-measured counts, ``--require-measured``, bad state files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from nomotic_dsl.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
SPECS: list[dict[str, Any]] = [
    {
        "invariant_id": "few-writes",
        "type": "ratio",
        "metric": "write_to_read",
        "operator": "lt",
        "threshold": 0.5,
        "window": 10,
    },
    {
        "invariant_id": "steady",
        "type": "drift",
        "metric": "action",
        "operator": "lt",
        "threshold": 0.2,
    },
]
ACTIONS = [
    {"timestamp": 1_700_000_000 + i, "action_type": kind, "target": "kb"}
    for i, kind in enumerate(["read", "read", "read", "write"])
]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def write(tmp_path: Path, name: str, value: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(value), encoding="utf-8")
    return str(path)


@pytest.fixture
def specs(tmp_path: Path) -> str:
    return write(tmp_path, "specs.json", SPECS)


def test_text_output_counts_what_was_not_measured(specs: str, tmp_path: Path) -> None:
    state = write(tmp_path, "state.json", {"actions": ACTIONS})
    result = run("evaluate", specs, state)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("satisfied   few-writes: Write-to-read ratio is 0.333333")
    assert lines[1] == (
        "unmeasured  steady: Action drift has no data, so it is not measured; "
        "it must stay below 0.2."
    )
    assert lines[2] == ("2 invariants: 1 satisfied, 0 approaching, 0 violated, 1 not measured")


def test_require_measured_fails_the_gate_on_an_unmeasured_result(
    specs: str, tmp_path: Path
) -> None:
    state = write(tmp_path, "state.json", {"actions": ACTIONS})
    result = run("evaluate", specs, state, "--require-measured")
    assert result.exit_code == 1
    assert "error: --require-measured: 1 invariant(s) not measured: steady" in result.output
    measured = write(tmp_path, "measured.json", {"actions": ACTIONS, "drift": {"action": 0.1}})
    assert run("evaluate", specs, measured, "--require-measured").exit_code == 0


def test_json_output_carries_measured_and_the_counts(specs: str, tmp_path: Path) -> None:
    state = write(tmp_path, "state.json", {"actions": []})
    result = run("evaluate", specs, state, "--format", "json", "--require-measured")
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert [r["measured"] for r in document["results"]] == [False, False]
    assert document["summary"]["by_measurement"] == {"measured": 0, "not_measured": 2}
    assert document["summary"]["not_measured"] == ["few-writes", "steady"]
    assert document["summary"]["by_status"] == {"satisfied": 0, "approaching": 0, "violated": 0}


def test_a_misspelt_drift_key_is_refused_with_a_suggestion(specs: str, tmp_path: Path) -> None:
    state = write(tmp_path, "state.json", {"actions": ACTIONS, "drift": {"acton": 0.1}})
    result = run("evaluate", specs, state)
    assert result.exit_code == 1
    assert "drift['acton']: unknown drift distribution (did you mean `action`?)" in result.output


def test_a_misspelt_state_field_is_refused_with_a_suggestion(specs: str, tmp_path: Path) -> None:
    state = write(tmp_path, "state.json", {"actoins": ACTIONS})
    result = run("evaluate", specs, state)
    assert result.exit_code == 1
    assert "unknown field(s) 'actoins' (did you mean `actions`?)" in result.output


def test_a_state_file_that_is_not_utf8_is_a_clear_error(specs: str, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_bytes(b'{"actions": [], "now": "\xff\xfe"}')
    completed = subprocess.run(
        [sys.executable, "-m", "nomotic_dsl", "evaluate", specs, str(state)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert f"cannot read state {state}: not UTF-8 text (byte 0xff at offset 24)" in completed.stderr


def test_a_lone_surrogate_in_a_state_is_an_input_problem(specs: str, tmp_path: Path) -> None:
    # json.dumps writes the surrogate as the escape "\ud800", which json.loads reads back.
    action = {"timestamp": 1.0, "action_type": "re\ud800ad", "target": "tickets"}
    state = write(tmp_path, "state.json", {"actions": [action]})
    result = run("evaluate", specs, state)
    assert result.exit_code == 1, result.output
    assert "holds a string with a lone surrogate" in result.output
