"""The bundle commands through click's CliRunner, and one real ``python -m nomotic_dsl`` run."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from nacl.signing import SigningKey

from nomotic_dsl.cli.main import cli
from nomotic_dsl.runtime.bundle.keys import load_signing_key, verify_key_to_text

from .conftest import make_contents


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def trusted(tmp_path: Path, old_key: SigningKey) -> Path:
    path = tmp_path / "old.pub"
    path.write_text(verify_key_to_text(old_key.verify_key))
    return path


@pytest.fixture
def stranger(tmp_path: Path, new_key: SigningKey) -> Path:
    path = tmp_path / "new.pub"
    path.write_text(verify_key_to_text(new_key.verify_key))
    return path


def _trace(tmp_path: Path) -> Path:
    path = tmp_path / "trace.jsonl"
    rows = [(100, "a"), (101, "b"), (102, "c"), (103, "c"), (104, "c")]
    path.write_text(
        "".join(
            json.dumps({"timestamp": t, "action_type": "read", "target": target}) + "\n"
            for t, target in rows
        )
    )
    return path


def test_keygen_writes_a_private_key_and_refuses_to_overwrite(
    runner: CliRunner, tmp_path: Path
) -> None:
    prefix = tmp_path / "release"
    result = runner.invoke(cli, ["keygen", str(prefix)])
    assert result.exit_code == 0, result.output
    secret = tmp_path / "release.key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert secret.read_text().strip() not in result.output
    assert "key id " in result.output
    again = runner.invoke(cli, ["keygen", str(prefix)])
    assert again.exit_code == 1 and "already exists" in again.output
    assert runner.invoke(cli, ["keygen", "--force", str(prefix)]).exit_code == 0
    assert load_signing_key(secret)


def test_verify_accepts_a_trusted_bundle_and_refuses_others(
    runner: CliRunner, write_bundle: Callable[..., Path], trusted: Path, stranger: Path
) -> None:
    bundle = write_bundle(revision=4)
    ok = runner.invoke(cli, ["verify", str(bundle), "--trust", str(trusted)])
    assert ok.exit_code == 0, ok.output
    assert "valid: demo-agent revision 4" in ok.output
    refused = runner.invoke(cli, ["verify", str(bundle), "--trust", str(stranger)])
    assert refused.exit_code == 1
    assert "refused: no signature from a trusted key" in refused.output
    assert runner.invoke(cli, ["verify", str(bundle)]).exit_code == 2


def test_verify_with_state_refuses_a_lower_revision(
    runner: CliRunner, write_bundle: Callable[..., Path], trusted: Path, tmp_path: Path
) -> None:
    from nomotic_dsl.runtime.bundle import load_bundle

    state = tmp_path / "state.json"
    load_bundle(
        write_bundle(name="new.nomob", revision=9),
        [trusted],
        rollback=state,
        initialise_rollback=True,
    )
    old = write_bundle(name="old.nomob", revision=8)
    result = runner.invoke(
        cli, ["verify", str(old), "--trust", str(trusted), "--state", str(state)]
    )
    assert result.exit_code == 1 and "older than revision 9" in result.output


def test_inspect_shows_members_and_invariants_as_text_and_json(
    runner: CliRunner, write_bundle: Callable[..., Path], trusted: Path, marker: Path
) -> None:
    bundle = write_bundle(make_contents(marker), not_before=1_700_000_000)
    text = runner.invoke(cli, ["inspect", str(bundle), "--trust", str(trusted)])
    assert text.exit_code == 0, text.output
    assert "policy_evaluator.py" in text.output and "verified" in text.output
    assert "valid from 2023-11-14T22:13:20Z until no expiry" in text.output
    as_json = runner.invoke(cli, ["inspect", str(bundle), "--format", "json"])
    description = json.loads(as_json.output)
    assert description["signatures"][0]["status"].startswith("not checked")
    assert [spec["invariant_id"] for spec in description["invariants"]] == [
        "few-targets",
        "write-read",
    ]
    assert not marker.exists()


def test_inspect_refuses_a_tampered_bundle(
    runner: CliRunner, write_bundle: Callable[..., Path]
) -> None:
    bundle = write_bundle()
    data = bytearray(bundle.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bundle.write_bytes(bytes(data))
    result = runner.invoke(cli, ["inspect", str(bundle)])
    assert result.exit_code == 1 and "error:" in result.output


def test_run_reports_violations_with_time_and_detail(
    runner: CliRunner, write_bundle: Callable[..., Path], trusted: Path, tmp_path: Path
) -> None:
    bundle, trace = write_bundle(), _trace(tmp_path)
    text = runner.invoke(cli, ["run", str(bundle), "--trace", str(trace), "--trust", str(trusted)])
    assert text.exit_code == 1
    lines = text.output.splitlines()
    assert lines[0].startswith("1970-01-01T00:01:42Z  line 3  few-targets: ")
    assert lines[-1] == (
        "5 observations from 1 agent: 1 violations, 0 out of scope, 0 drift exceedances, 0 errors"
    )
    as_json = runner.invoke(
        cli,
        ["run", str(bundle), "--trace", str(trace), "--trust", str(trusted), "--format", "json"],
    )
    report = json.loads(as_json.output)
    assert [v["line"] for v in report["violations"]] == [3]
    assert report["violation_count"] == 1 and report["observations"] == 5
    assert report["end"]["end"] is True and report["end"]["decisions"] == 5


def test_run_names_the_bad_trace_line_and_needs_trust_for_a_bundle(
    runner: CliRunner, write_bundle: Callable[..., Path], trusted: Path, tmp_path: Path
) -> None:
    bundle = write_bundle()
    trace = tmp_path / "bad.jsonl"
    trace.write_text('{"timestamp": 1, "action_type": "read", "target": "a"}\n[1, 2]\n')
    bad = runner.invoke(cli, ["run", str(bundle), "--trace", str(trace), "--trust", str(trusted)])
    assert bad.exit_code == 1
    assert f"{trace}:2: error: observation: expected an object" in bad.output
    assert "Traceback" not in bad.output
    assert runner.invoke(cli, ["run", str(bundle), "--trace", str(trace)]).exit_code == 2


def test_python_dash_m_verifies_a_bundle(write_bundle: Callable[..., Path], trusted: Path) -> None:
    bundle = write_bundle()
    ok = subprocess.run(
        [sys.executable, "-m", "nomotic_dsl", "verify", str(bundle), "--trust", str(trusted)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "valid: demo-agent" in ok.stdout


def test_progress_is_shown_on_stderr_only_for_long_traces_on_a_terminal(
    runner: CliRunner,
    write_bundle: Callable[..., Path],
    trusted: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nomotic_dsl.cli import fleet

    bundle, trace = write_bundle(), _trace(tmp_path)
    args = ["run", str(bundle), "--trace", str(trace), "--trust", str(trusted), "--format", "json"]
    quiet = runner.invoke(cli, args)
    assert "replayed" not in quiet.stderr
    monkeypatch.setattr(fleet, "_show_progress", lambda trace: True)
    monkeypatch.setattr(fleet, "_PROGRESS_EVERY", 2)
    shown = runner.invoke(cli, args)
    assert "\rreplayed 4 observations" in shown.stderr
    assert json.loads(shown.stdout)["observations"] == 5
