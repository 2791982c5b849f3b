"""``nomo check``, ``fmt``, ``compile`` and ``explain`` run for real: exit codes, formats, files."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from nomotic_dsl._version import __version__
from nomotic_dsl.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
CLEAN = "ratio write/read < 0.3 over 100 actions\nno activity outside 8-18\n"
BROKEN = "ratio write/read < 3 over 0 actions\ndrift acton < 0.2\n"
PolicyWriter = Callable[..., Path]
MESSY = "ratio   write/read<0.3 over 100 actions  # keep me\n\n\n\ndrift action < 0.2"


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin)


@pytest.fixture
def policy(tmp_path: Path) -> PolicyWriter:
    """Write a policy file into the test's directory and return its path."""

    def write(text: str, name: str = "policy.nomo") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


# ---- check ----------------------------------------------------------------------------


def test_check_clean_file_exits_0(policy: PolicyWriter) -> None:
    result = run("check", str(policy(CLEAN)))
    assert result.exit_code == 0, result.output
    assert "checked 1 file: 0 errors, 0 warnings" in result.stdout


def test_check_reports_every_error_in_full_with_a_caret(policy: PolicyWriter) -> None:
    result = run("check", str(policy(BROKEN)))
    assert result.exit_code == 1
    assert "error[NMO303]" in result.stdout and "error[NMO403]" in result.stdout
    assert "2 | drift acton < 0.2\n  |       ^^^^^" in result.stdout
    assert "did you mean `action`?" in result.stdout


def test_check_concise_is_one_line_per_problem(policy: PolicyWriter) -> None:
    result = run("check", "--format", "concise", str(policy(BROKEN)))
    assert result.exit_code == 1
    problems = [line for line in result.stdout.splitlines() if "error[" in line]
    assert problems == [
        "policy.nomo:1:27: error[NMO303] a window of `0` actions is not a whole number of at least 1",
        "policy.nomo:2:7: error[NMO403] unknown drift key `acton`",
    ]


def test_check_json_is_machine_readable(policy: PolicyWriter) -> None:
    result = run("check", "--format", "json", str(policy(BROKEN)))
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["errors"] == 2 and document["warnings"] == 0
    first = document["diagnostics"][0]
    assert (first["code"], first["line"], first["column"]) == ("NMO303", 1, 27)
    assert set(first) == {
        "code",
        "severity",
        "message",
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
        "help",
    }


def test_check_directory_checks_every_policy_in_it() -> None:
    result = run("check", str(ROOT / "stdlib"), str(ROOT / "examples"))
    assert result.exit_code == 0, result.output
    shipped = len(
        list((ROOT / "stdlib").rglob("*.nomo")) + list((ROOT / "examples").rglob("*.nomo"))
    )
    assert f"checked {shipped} files: 0 errors" in result.stdout


def test_check_warnings_alone_exit_0(policy: PolicyWriter) -> None:
    result = run("check", str(policy("drift action < 0.2\ndrift action < 0.3\n")))
    assert result.exit_code == 0, result.output
    assert "warning[NMO501]" in result.stdout


def test_check_unreadable_file_is_an_input_problem(policy: PolicyWriter, tmp_path: Path) -> None:
    result = run("check", str(policy(CLEAN)), str(tmp_path / "missing.nomo"))
    assert result.exit_code == 1
    assert "error[NMO205]: cannot read" in result.stdout and "missing.nomo" in result.stdout
    assert "1 error" in result.stdout


@pytest.mark.parametrize(
    "args", [["check"], ["fmt"], ["compile"], ["explain"], ["check", "--format", "xml", "x.nomo"]]
)
def test_misuse_exits_2(args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert "Usage:" in result.stderr


# ---- fmt --------------------------------------------------------------------------------


def test_fmt_check_lists_files_that_would_change_and_changes_nothing(policy: PolicyWriter) -> None:
    messy, clean = policy(MESSY, "messy.nomo"), policy(CLEAN, "clean.nomo")
    result = run("fmt", "--check", str(messy), str(clean))
    assert result.exit_code == 1
    assert result.stdout == f"would reformat {messy}\n"
    assert messy.read_text(encoding="utf-8") == MESSY


def test_fmt_rewrites_in_place_and_then_check_passes(policy: PolicyWriter) -> None:
    messy = policy(MESSY)
    assert run("fmt", str(messy)).exit_code == 0
    assert messy.read_text(encoding="utf-8") == (
        "ratio write/read < 0.3 over 100 actions  # keep me\n\ndrift action < 0.2\n"
    )
    assert [p.name for p in messy.parent.iterdir()] == ["policy.nomo"]  # no temporary left
    again = run("fmt", "--check", str(messy))
    assert again.exit_code == 0 and again.stdout == ""


def test_fmt_leaves_a_file_that_does_not_parse_untouched(policy: PolicyWriter) -> None:
    broken = policy('contract "a" {\n    version 1\n')
    result = run("fmt", str(broken))
    assert result.exit_code == 1
    assert "error[NMO106]" in result.stderr
    assert broken.read_text(encoding="utf-8") == 'contract "a" {\n    version 1\n'


def test_fmt_dash_formats_stdin_to_stdout() -> None:
    result = run("fmt", "-", stdin=MESSY)
    assert result.exit_code == 0
    assert result.stdout.startswith("ratio write/read < 0.3 over 100 actions  # keep me\n")


# ---- compile and explain ------------------------------------------------------------------


def test_compile_prints_specs_contracts_and_archetypes() -> None:
    result = run("compile", str(ROOT / "examples" / "customer_support" / "policy.nomo"))
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert list(document) == ["spec_version", "invariants", "contracts", "archetypes"]
    assert document["spec_version"] == 1
    (contract,) = document["contracts"]
    assert contract["agent_id"] == "support-bot"
    assert [spec["invariant_id"] for spec in contract["invariants"]][:2] == [
        "hourly_rate",
        "burst_rate",
    ]
    (prior,) = document["archetypes"]
    assert prior["name"] == "customer-experience" and prior["baseline_rate"] == 0.02
    assert prior["active_hours"] == {"start": 8, "end": 20, "zone": None}


def test_compile_lowers_a_rule_exactly(policy: PolicyWriter) -> None:
    result = run("compile", str(policy("count distinct_actions >= 2 over 15m\n")))
    (spec,) = json.loads(result.stdout)["invariants"]
    assert {
        key: spec[key] for key in ("type", "metric", "operator", "threshold", "window_seconds")
    } == {
        "type": "count",
        "metric": "distinct_actions",
        "operator": "gte",
        "threshold": 2.0,
        "window_seconds": 900.0,
    }


def test_compile_emits_each_stage(policy: PolicyWriter) -> None:
    path = policy('import "std/packs/burst_limits"\nratio write/read < 0.3 over 100 actions\n')
    ast = run("compile", "--emit", "ast", str(path))
    assert ast.exit_code == 0, ast.output
    assert ast.stdout.startswith("# std/packs/burst_limits.nomo\nModule\n")
    assert f"# {path.as_posix()}\nModule\n" in ast.stdout or "policy.nomo\nModule" in ast.stdout
    assert "RatioMetric" in ast.stdout
    python = run("compile", "--emit", "python", str(path))
    assert python.exit_code == 0, python.output
    assert python.stdout.startswith("# Generated by nomotic_dsl")
    compile(python.stdout, "generated.py", "exec")
    specs = run("compile", "--emit", "specs", str(path))
    assert json.loads(specs.stdout) == json.loads(run("compile", str(path)).stdout)


def test_compile_emit_python_names_a_missing_agent(policy: PolicyWriter) -> None:
    result = run("compile", "--emit", "python", "--agent", "nobody", str(policy(CLEAN)))
    assert result.exit_code == 1
    assert "no contract for agent 'nobody'" in result.stderr


def test_the_library_result_prints_what_the_cli_prints() -> None:
    from nomotic_dsl import compile_file

    path = ROOT / "examples" / "customer_support" / "policy.nomo"
    printed = json.loads(run("compile", str(path)).stdout)
    assert compile_file(path).to_json() == printed


def test_compile_errors_go_to_stderr_and_nothing_to_stdout(policy: PolicyWriter) -> None:
    result = run("compile", "--format", "json", str(policy(BROKEN)))
    assert result.exit_code == 1
    assert result.stdout == ""
    codes = [item["code"] for item in json.loads(result.stderr)["diagnostics"]]
    assert codes == ["NMO303", "NMO403"]


def test_explain_says_each_rule_in_plain_words(policy: PolicyWriter) -> None:
    result = run("explain", str(policy(CLEAN)))
    assert result.exit_code == 0, result.output
    assert (
        "The write-to-read ratio must stay below 0.3, measured over the last 100 actions."
        in result.stdout
    )
    assert "No action may fall outside the allowed hours 08:00-18:00 (UTC)" in result.stdout


def test_explain_json_covers_every_contract_rule() -> None:
    path = ROOT / "examples" / "healthcare_scheduling" / "policy.nomo"
    document = json.loads(run("explain", "--format", "json", str(path)).stdout)
    (contract,) = document["contracts"]
    compiled = json.loads(run("compile", str(path)).stdout)["contracts"][0]
    assert [rule["invariant_id"] for rule in contract["invariants"]] == [
        spec["invariant_id"] for spec in compiled["invariants"]
    ]
    assert all(rule["explanation"].endswith(".") for rule in contract["invariants"])


@pytest.mark.parametrize("command", ["check", "fmt", "compile", "explain"])
def test_every_command_has_help(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert f"Usage: cli {command}" in result.stdout or f"Usage: nomo {command}" in result.stdout


# ---- the installed entry point ---------------------------------------------------------------


def _module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nomotic_dsl", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_python_dash_m_version() -> None:
    completed = _module("--version")
    assert completed.returncode == 0
    assert __version__ in completed.stdout


def test_python_dash_m_exit_codes(tmp_path: Path) -> None:
    broken = tmp_path / "broken.nomo"
    broken.write_text(BROKEN, encoding="utf-8")
    assert _module("check", str(broken)).returncode == 1
    assert _module("check", "examples/data_pipeline/policy.nomo").returncode == 0
    misuse = _module("compile")
    assert misuse.returncode == 2 and "Traceback" not in misuse.stderr
