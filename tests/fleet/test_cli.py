"""``nomo run`` and ``nomo log verify`` as a user runs them: real files, real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from nomotic_dsl.cli.main import cli
from tests.fleet.helpers import FLEET_POLICY, write

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def fleet(tmp_path: Path) -> dict[str, Path]:
    runner = CliRunner()
    assert runner.invoke(cli, ["keygen", str(tmp_path / "k")]).exit_code == 0
    policy = tmp_path / "fleet.nomo"
    policy.write_text(FLEET_POLICY)
    bundle = tmp_path / "fleet.nomob"
    built = runner.invoke(
        cli, ["build", str(policy), "--key", str(tmp_path / "k.key"), "-o", str(bundle)]
    )
    assert built.exit_code == 0, built.output
    other = tmp_path / "other.nomob"
    alpha = runner.invoke(
        cli,
        [
            "build",
            str(policy),
            "--key",
            str(tmp_path / "k.key"),
            "-o",
            str(other),
            "--agent",
            "alpha",
        ],
    )
    assert alpha.exit_code == 0, alpha.output
    return {"policy": policy, "bundle": bundle, "other": other, "pub": tmp_path / "k.pub"}


def observation(t: float, agent: str, action: str = "read", target: str = "tickets") -> str:
    return json.dumps({"agent_id": agent, "timestamp": t, "action_type": action, "target": target})


def trace_of(count: int) -> list[str]:
    agents = ["alpha", "beta", "gamma"]
    actions = ["read", "reply", "delete", "read"]
    targets = ["tickets", "knowledge_base", "prod_database", "warehouse", "tickets"]
    return [
        observation(1_712_577_600.0 + 30 * i, agents[i % 3], actions[i % 4], targets[i % 5])
        for i in range(count)
    ]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nomotic_dsl", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def start_jsonl_run(
    fleet: dict[str, Path], trace: str, *extra: str, **popen: Any
) -> subprocess.Popen[Any]:
    """A live ``nomo run`` of the fleet bundle on ``trace`` writing JSON Lines, pipes attached."""
    command = [sys.executable, "-m", "nomotic_dsl", "run", str(fleet["bundle"])]
    command += ["--trust", str(fleet["pub"]), "--trace", trace, "--format", "jsonl", *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def test_jsonl_decisions_verify_and_name_the_bundle(fleet: dict[str, Path], tmp_path: Path) -> None:
    trace = write(tmp_path / "t.jsonl", trace_of(30))
    done = run(
        "run",
        str(fleet["bundle"]),
        "--trust",
        str(fleet["pub"]),
        "--trace",
        str(trace),
        "--format",
        "jsonl",
    )
    assert done.returncode == 1  # deletes on prod_database are out of alpha's scope
    lines = done.stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 31 and records[-1]["end"] is True
    inspect = run("inspect", str(fleet["bundle"]), "--format", "json")
    digest = json.loads(inspect.stdout)["manifest_sha256"]
    assert {r["bundle"] for r in records} == {digest}
    assert [r["line"] for r in records[:-1]] == list(range(1, 31))
    assert {"action": "delete", "target": "warehouse"} in [r["scope"] for r in records[:-1]]
    log = tmp_path / "log.jsonl"
    log.write_text(done.stdout)
    verified = run(
        "log", "verify", str(log), "--bundle", str(fleet["bundle"]), "--trust", str(fleet["pub"])
    )
    assert verified.returncode == 0, verified.stderr
    assert "intact: 30 decisions of 3 agents" in verified.stdout
    lines[4] = lines[4].replace('"seq":2', '"seq":3')
    log.write_text("\n".join(lines) + "\n")
    altered = run(
        "log", "verify", str(log), "--bundle", str(fleet["bundle"]), "--trust", str(fleet["pub"])
    )
    assert altered.returncode == 1 and f"{log}:5:" in altered.stderr
    # The .nomo file runs in the same runtime and names the same bundle digest.
    direct = run("run", str(fleet["policy"]), "--trace", str(trace), "--format", "jsonl")
    assert direct.stdout == done.stdout


def test_a_decision_is_written_before_the_input_ends(fleet: dict[str, Path]) -> None:
    process = start_jsonl_run(fleet, "-", stdin=subprocess.PIPE)
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write((observation(1_712_577_600.0, "beta") + "\n").encode())
        process.stdin.flush()
        got: list[bytes] = []
        reader = threading.Thread(target=lambda: got.append(process.stdout.readline()))
        reader.start()
        reader.join(timeout=60)
        assert got, "no decision within 60 s while the input stayed open"
        first = json.loads(got[0])
        assert first["agent_id"] == "beta" and first["line"] == 1 and first["error"] is None
        assert process.poll() is None  # still running: stdin is open
    finally:
        process.stdin.close()
        process.wait(timeout=60)
    rest = process.stdout.read().decode()
    assert json.loads(rest.splitlines()[-1])["end"] is True
    assert process.returncode == 0


def test_checkpoint_and_resume_give_the_uninterrupted_run(
    fleet: dict[str, Path], tmp_path: Path
) -> None:
    lines = trace_of(40)
    whole = write(tmp_path / "whole.jsonl", lines)
    base = ["--trust", str(fleet["pub"]), "--format", "jsonl"]
    one = run("run", str(fleet["bundle"]), "--trace", str(whole), *base)
    part = write(tmp_path / "part.jsonl", lines[:17])
    checkpoint = tmp_path / "cp.json"
    first = run(
        "run",
        str(fleet["bundle"]),
        "--trace",
        str(part),
        *base,
        "--checkpoint",
        str(checkpoint),
        "--checkpoint-every",
        "5",
    )
    assert json.loads(checkpoint.read_text())["position"]["line"] == 17
    resumed = run(
        "run", str(fleet["bundle"]), "--trace", str(whole), *base, "--resume", str(checkpoint)
    )
    decisions = [
        line for line in (first.stdout + resumed.stdout).splitlines() if '"end":true' not in line
    ]
    assert decisions == one.stdout.splitlines()[:-1]
    assert resumed.stdout.splitlines()[-1] == one.stdout.splitlines()[-1]  # same end record
    rest = write(tmp_path / "rest.jsonl", lines[17:])
    only_rest = run(
        "run",
        str(fleet["bundle"]),
        "--trace",
        str(rest),
        *base,
        "--resume",
        str(checkpoint),
        "--rest",
    )
    assert only_rest.stdout == resumed.stdout
    # The concatenated logs verify as one log.
    log = tmp_path / "log.jsonl"
    log.write_text(first.stdout + resumed.stdout)
    verified = run(
        "log", "verify", str(log), "--bundle", str(fleet["bundle"]), "--trust", str(fleet["pub"])
    )
    assert verified.returncode == 0, verified.stderr
    # Another bundle, or another trace, is refused: exit 2 and nothing on stdout.
    other = run(
        "run", str(fleet["other"]), "--trace", str(whole), *base, "--resume", str(checkpoint)
    )
    assert other.returncode == 2 and other.stdout == "" and "cannot resume" in other.stderr
    changed = write(tmp_path / "changed.jsonl", [lines[1], *lines[1:]])
    wrong = run(
        "run", str(fleet["bundle"]), "--trace", str(changed), *base, "--resume", str(checkpoint)
    )
    assert wrong.returncode == 2 and wrong.stdout == "" and "not the trace" in wrong.stderr
    options = run(
        "run",
        str(fleet["bundle"]),
        "--trace",
        str(whole),
        *base,
        "--resume",
        str(checkpoint),
        "--drift-window",
        "7",
    )
    assert options.returncode == 2 and options.stdout == "" and "drift_window" in options.stderr


def test_text_mode_prints_as_it_goes_and_gates(fleet: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    trace = write(tmp_path / "t.jsonl", [*trace_of(12), "{not json", observation(1.0, "nobody")])
    result = runner.invoke(
        cli, ["run", str(fleet["bundle"]), "--trust", str(fleet["pub"]), "--trace", str(trace)]
    )
    assert result.exit_code == 1
    output = result.output
    assert "line 7  alpha  out of scope: action 'delete'\n" in output
    assert f"{trace}:13: error: not valid JSON" in output
    assert "no contract for agent 'nobody'" in output
    assert "\n14 observations from 5 agents: " in output
    empty = write(tmp_path / "empty.jsonl", ["", "   "])
    nothing = runner.invoke(
        cli, ["run", str(fleet["bundle"]), "--trust", str(fleet["pub"]), "--trace", str(empty)]
    )
    assert nothing.exit_code == 1 and "holds no observations: nothing was checked" in nothing.output
    calm = write(
        tmp_path / "calm.jsonl", [observation(1_712_577_600.0 + i, "gamma") for i in range(3)]
    )
    ok = runner.invoke(
        cli, ["run", str(fleet["bundle"]), "--trust", str(fleet["pub"]), "--trace", str(calm)]
    )
    assert ok.exit_code == 0, ok.output
    strict = runner.invoke(
        cli,
        [
            "run",
            str(fleet["bundle"]),
            "--trust",
            str(fleet["pub"]),
            "--trace",
            str(calm),
            "--require-measured",
        ],
    )
    assert strict.exit_code == 1 and "gamma_semantic" in strict.output
    assert runner.invoke(cli, ["run", str(fleet["bundle"]), "--trace", str(calm)]).exit_code == 2
    misuse = runner.invoke(
        cli,
        [
            "run",
            str(fleet["bundle"]),
            "--trust",
            str(fleet["pub"]),
            "--trace",
            str(calm),
            "--checkpoint-every",
            "3",
        ],
    )
    assert misuse.exit_code == 2


def test_follow_reads_a_growing_file_and_stops_when_idle(
    fleet: dict[str, Path], tmp_path: Path
) -> None:
    trace = tmp_path / "live.jsonl"
    trace.write_text(observation(1_712_577_600.0, "gamma") + "\n")
    process = start_jsonl_run(fleet, str(trace), "--follow", "--follow-idle", "3", text=True)
    assert process.stdout is not None
    assert json.loads(process.stdout.readline())["line"] == 1
    with trace.open("a") as stream:
        stream.write(observation(1_712_577_601.0, "gamma")[:20])
        stream.flush()
        time.sleep(0.5)
        stream.write(observation(1_712_577_601.0, "gamma")[20:] + "\n")
    second = json.loads(process.stdout.readline())
    assert second["line"] == 2 and second["error"] is None
    out, _err = process.communicate(timeout=60)
    assert json.loads(out.splitlines()[-1])["decisions"] == 2
    assert process.returncode == 0


def test_sigint_stops_a_follow_run_with_an_end_record_and_checkpoint(
    fleet: dict[str, Path], tmp_path: Path
) -> None:
    trace = write(tmp_path / "live.jsonl", [observation(1_712_577_600.0, "gamma")])
    checkpoint = tmp_path / "cp.json"
    process = start_jsonl_run(
        fleet, str(trace), "--follow", "--checkpoint", str(checkpoint), text=True
    )
    assert process.stdout is not None
    assert json.loads(process.stdout.readline())["line"] == 1
    process.send_signal(2)
    out, _err = process.communicate(timeout=60)
    assert json.loads(out.splitlines()[-1])["end"] is True
    assert json.loads(checkpoint.read_text())["position"]["line"] == 1
    assert process.returncode == 0
    assert os.path.exists(checkpoint)
