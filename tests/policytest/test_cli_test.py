"""``nomo test`` as a user runs it: a real process, its output formats and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
import xmlschema

from tests.policytest.helpers import ROOT, nomo, write_project

JUNIT_SCHEMA = xmlschema.XMLSchema(ROOT / "tests" / "schemas" / "junit-10.xsd")
HEAD = 'start "2024-04-08 09:00" in "America/New_York"\n'
LOOP = "    observe 10 read on tickets every 1m\n    observe 10 reply on tickets every 1m\n"
PASSING = (
    'test "replies catch up with reads" {\n'
    + LOOP
    + "    expect replies_follow_reads violated\n}\n"
)
FAILING = 'test "a wrong expectation" {\n' + LOOP + "    expect replies_follow_reads satisfied\n}\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "bot", HEAD + PASSING + FAILING)


def test_the_examples_and_the_stdlib_pass() -> None:
    result = nomo("test", "examples", "stdlib")
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.rstrip("\n").splitlines()[-1]
    assert last.endswith(" passed, 0 failed")
    assert int(last.split()[0]) >= 40
    assert "examples/customer_support/policy.nomotest ....." in result.stdout


def test_a_failing_test_gives_a_failed_line_and_exit_1(project: Path) -> None:
    result = nomo("test", str(project))
    assert result.returncode == 1
    lines = result.stdout.rstrip("\n").splitlines()
    assert (
        lines[0] == f"{project.relative_to(ROOT) if project.is_relative_to(ROOT) else project} .F"
    )
    (failed,) = [line for line in lines if line.startswith("FAILED ")]
    assert '"a wrong expectation": expected `expect replies_follow_reads satisfied`' in failed
    assert "it was violated at line 20: Reply-to-read ratio is 1" in failed
    assert failed.endswith(f"[line 20, {project}:9]")
    assert lines[-1] == "1 passed, 1 failed"
    assert result.stderr == ""


def test_all_passing_exits_0(tmp_path: Path) -> None:
    path = write_project(tmp_path, HEAD + PASSING)
    result = nomo("test", str(path))
    assert (result.returncode, result.stdout.splitlines()[-1]) == (0, "1 passed, 0 failed")


def test_a_bad_test_file_is_an_input_problem_with_file_line_and_column(tmp_path: Path) -> None:
    path = write_project(
        tmp_path, HEAD + 'test "t" {\n    observe read tickets\n    expect no errors\n}\n'
    )
    result = nomo("test", str(path))
    assert result.returncode == 1
    assert f"ERROR {path}:3:18: expected `on` and the target(s)" in result.stdout
    assert result.stdout.splitlines()[-1] == "0 passed, 0 failed"


@pytest.mark.parametrize(
    "args",
    [("test",), ("test", "--format", "xml", "x"), ("test", "--frobnicate", "x")],
)
def test_misuse_exits_2(args: tuple[str, ...]) -> None:
    result = nomo(*args)
    assert result.returncode == 2
    assert result.stdout == ""


def test_a_missing_path_or_no_tests_is_exit_1(tmp_path: Path) -> None:
    missing = nomo("test", str(tmp_path / "nope"))
    assert missing.returncode == 1
    assert "no such file or directory" in missing.stdout
    empty = nomo("test", str(tmp_path))
    assert empty.returncode == 1
    assert "no tests ran: nothing was tested" in empty.stdout


def test_json_is_one_document(project: Path) -> None:
    result = nomo("test", str(project), "--format", "json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert (document["passed"], document["failed"]) == (1, 1)
    outcomes = {test["name"]: test for test in document["tests"]}
    failed = outcomes["a wrong expectation"]
    assert failed["outcome"] == "failed"
    assert failed["observations"] == 20
    (failure,) = failed["failures"]
    assert failure["expected"] == "expect replies_follow_reads satisfied"
    assert failure["at_line"] == 20 and failure["line"] == 10


def test_junit_validates_against_the_schema_and_counts_right(project: Path) -> None:
    result = nomo("test", str(project), "--format", "junit")
    assert result.returncode == 1
    JUNIT_SCHEMA.validate(result.stdout)
    root = ElementTree.fromstring(result.stdout)
    assert (root.tag, root.get("tests"), root.get("failures"), root.get("errors")) == (
        "testsuites",
        "2",
        "1",
        "0",
    )
    (suite,) = root
    cases = {case.get("name"): case for case in suite}
    assert cases["replies catch up with reads"].find("failure") is None
    failure = cases["a wrong expectation"].find("failure")
    assert failure is not None and "it was violated at line 20" in (failure.get("message") or "")
    # The same run writes the same bytes: no times, no host names.
    assert nomo("test", str(project), "--format", "junit").stdout == result.stdout


def test_junit_of_hostile_names_and_broken_files_is_still_valid(tmp_path: Path) -> None:
    hostile = (
        'test "<b>&\\"quotes\\"\u0001\u200b]]>" {\n'
        + LOOP
        + "    expect replies_follow_reads satisfied\n}\n"
    )
    path = write_project(tmp_path / "a", HEAD + hostile)
    broken = write_project(tmp_path / "b", "test {\n")
    not_running = write_project(
        tmp_path / "c", 'test "no start" {\n    observe read on tickets\n    expect no errors\n}\n'
    )
    result = nomo("test", str(path), str(broken), str(not_running), "--format", "junit")
    assert result.returncode == 1
    JUNIT_SCHEMA.validate(result.stdout)
    root = ElementTree.fromstring(result.stdout)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "2")
    names = [case.get("name") for case in root.iter("testcase")]
    assert '<b>&"quotes"\ufffd\u200b]]>' in names
    assert "(test file)" in names


def test_junit_file_beside_text_output(project: Path, tmp_path: Path) -> None:
    report = tmp_path / "out" / "junit.xml"
    report.parent.mkdir()
    result = nomo("test", str(project), "--junit", str(report))
    assert result.stdout.splitlines()[-1] == "1 passed, 1 failed"
    JUNIT_SCHEMA.validate(report.read_text(encoding="utf-8"))
    unwritable = nomo("test", str(project), "--junit", str(tmp_path / "no" / "such" / "dir.xml"))
    assert unwritable.returncode == 1
    assert "cannot write" in unwritable.stderr


def test_coverage_lists_states_windows_and_untested_invariants(tmp_path: Path) -> None:
    path = write_project(tmp_path, HEAD + PASSING)
    result = nomo("test", str(path), "--coverage")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    (follow,) = [line for line in lines if line.strip().startswith("replies_follow_reads")]
    assert "approaching yes" in follow and "violated yes" in follow
    assert "window filled" in follow and follow.endswith("named")
    (hours,) = [line for line in lines if line.strip().startswith("office_hours")]
    assert (
        "violated no" in hours and "window whole history" in hours and hours.endswith("not named")
    )
    assert "untested (no expectation names them): bot/office_hours" in lines
    assert lines[-1] == "1 passed, 0 failed"
    document = json.loads(nomo("test", str(path), "--coverage", "--format", "json").stdout)
    assert [row["invariant"] for row in document["coverage"]["untested"]] == ["office_hours"]


def test_window_not_filled_is_reported(tmp_path: Path) -> None:
    path = write_project(
        tmp_path,
        HEAD
        + 'test "short" {\n    observe 5 read on tickets every 1m\n    expect replies_follow_reads satisfied\n}\n',
    )
    result = nomo("test", str(path), "--coverage")
    (follow,) = [
        line
        for line in result.stdout.splitlines()
        if line.strip().startswith("replies_follow_reads")
    ]
    assert "window not filled" in follow
