"""Running tests: every kind of expectation passes when it holds and fails, saying what
happened and where, when it does not; problems in a test are file:line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nomotic_dsl.policytest.runner import run_paths
from tests.policytest.helpers import failure_lines, run_tests, write_project

HEAD = 'start "2024-04-08 09:00" in "America/New_York"\n'
# 10 reads then 10 replies, one a minute: over 20 actions the ratio is 0.7 at line 17
# (satisfied), 0.8 at line 18 (approaching: 1 - 0.8 is just below the 0.2 margin in
# floating point), 1 at line 20 (violated); every
# action inside office hours. Action drift (expected 50/50) is 0.311 after the tenth read
# (above its 0.3 threshold), then falls to 0.
LOOP = "    observe 10 read on tickets every 1m\n    observe 10 reply on tickets every 1m\n"


def one(tmp_path: Path, expectation: str, steps: str = LOOP) -> list[str]:
    run = run_tests(tmp_path, HEAD + 'test "t" {\n' + steps + f"    {expectation}\n}}\n")
    assert not run.errors, run.errors
    return failure_lines(run)


@pytest.mark.parametrize(
    "holds",
    [
        "expect replies_follow_reads violated",
        "expect replies_follow_reads violated at end",
        "expect replies_follow_reads first violated at line 20",
        "expect replies_follow_reads first approaching at line 18",
        "expect replies_follow_reads approaching at line 19",
        "expect replies_follow_reads satisfied at line 10",
        'expect replies_follow_reads satisfied at "09:09"',
        'expect replies_follow_reads violated at "2024-04-08 13:30"',
        "expect replies_follow_reads reaches approaching",
        "expect replies_follow_reads never violated to line 19",
        "expect replies_follow_reads never violated from line 1 to line 19",
        "expect replies_follow_reads reaches violated from line 15",
        "expect replies_follow_reads first violated at line 20 from line 11",
        "expect replies_follow_reads violated on 1 observations",
        "expect replies_follow_reads value == 1",
        "expect replies_follow_reads value between 0.7 and 0.9 at line 18",
        "expect replies_follow_reads value < 0.5 at line 14",
        "expect office_hours never violated",
        "expect office_hours value == 0",
        "expect no violations to line 19",
        "expect no scope violations",
        "expect scope never violated",
        "expect no errors",
        "expect drift action score == 0",
        "expect drift action score > 0.3 at line 10",
        "expect drift action first exceeded at line 10",
        "expect drift action exceeded at line 10",
        "expect drift action never exceeded from line 11",
        "expect replies_follow_reads of bot violated",
    ],
)
def test_expectations_that_hold(tmp_path: Path, holds: str) -> None:
    assert one(tmp_path, holds) == []


@pytest.mark.parametrize(
    ("fails", "happened"),
    [
        (
            "expect replies_follow_reads satisfied",
            "it was violated at line 20: Reply-to-read ratio is 1",
        ),
        (
            "expect replies_follow_reads first violated at line 19",
            "it was first violated at line 20",
        ),
        ("expect replies_follow_reads approaching at line 17", "it was satisfied at line 17"),
        ('expect replies_follow_reads violated at "09:09"', "it was satisfied at line 10"),
        ("expect replies_follow_reads never violated", "it was first violated at line 20"),
        (
            "expect replies_follow_reads never approaching from line 2 to line 18",
            "it was approaching at line 18",
        ),
        (
            "expect replies_follow_reads reaches violated to line 19",
            "it never was violated from line 1 to line 19",
        ),
        (
            "expect replies_follow_reads violated on 2 observations",
            "it was violated on 1 observation (first at line 20)",
        ),
        ("expect replies_follow_reads value < 1", "its value was 1 at line 20"),
        (
            "expect replies_follow_reads value between 0 and 0.5 at line 18",
            "its value was 0.8 at line 18",
        ),
        (
            "expect replies_follow_reads violated at line 30",
            "the trace ends at line 20, before line 30",
        ),
        (
            "expect office_hours reaches violated",
            "it never was violated; it was satisfied on 20 observations",
        ),
        ("expect no violations", "replies_follow_reads of bot was violated at line 20"),
        ("expect scope violated", "it was in scope at line 20: in scope"),
        (
            "expect drift action never exceeded",
            "it was first exceeded at line 10: action drift 0.3113 is above its threshold 0.3",
        ),
        ("expect drift action score < 0.1 at line 5", "there was no action drift score at line 5"),
        ("expect error at line 3", "line 3 was decided, not refused"),
    ],
)
def test_expectations_that_fail_say_what_happened(
    tmp_path: Path, fails: str, happened: str
) -> None:
    failures = one(tmp_path, fails)
    assert len(failures) == 1, failures
    assert happened in failures[0], failures[0]


def test_a_failure_names_the_expectation_and_where_the_line_came_from(tmp_path: Path) -> None:
    run = run_tests(
        tmp_path, HEAD + 'test "t" {\n' + LOOP + "    expect replies_follow_reads satisfied\n}\n"
    )
    (outcome,) = run.outcomes
    (failure,) = outcome.failures
    assert failure.expected == "expect replies_follow_reads satisfied"
    assert (failure.where.line, failure.line) == (5, 20)
    assert failure.source == f"{outcome.file}:4"


def test_scope_violations_and_refused_lines(tmp_path: Path) -> None:
    steps = (
        "    observe 5 read on tickets every 1m\n"
        "    observe 2 delete on tickets, archive every 1m\n"
        '    observe read on tickets agent "intruder"\n'
    )
    assert (
        one(
            tmp_path,
            "expect scope first violated at line 6\n    expect scope violated on 2 observations\n"
            "    expect error at line 8 containing \"no contract for agent 'intruder'\"",
            steps,
        )
        == []
    )
    failures = one(tmp_path, "expect no scope violations", steps)
    assert "line 8 was refused: no contract for agent 'intruder'" in failures[-1]
    assert "it was first violated at line 6: out of scope: action 'delete'" in failures[0]


def test_an_unexpected_refused_line_fails_the_test(tmp_path: Path) -> None:
    failures = one(
        tmp_path,
        "expect office_hours never violated",
        '    observe 3 read on tickets every 1m agent "x"\n',
    )
    assert failures == [
        "t: agent bot had no observation at all",
        "t: line 1 was refused: no contract for agent 'x' (contracts: bot) (2 more)",
    ]


def test_a_trace_file_step_numbers_lines_as_the_file(tmp_path: Path) -> None:
    lines = [
        {
            "timestamp": 1712581200 + 60 * i,
            "action_type": "read" if i < 3 else "reply",
            "target": "tickets",
        }
        for i in range(6)
    ]
    text = (
        "\n".join(json.dumps(line) for line in lines[:3])
        + "\n\n"
        + "\n".join(json.dumps(line) for line in lines[3:])
        + "\n"
    )
    (tmp_path / "trace.jsonl").write_text(text, encoding="utf-8")
    run = run_tests(
        tmp_path,
        'test "t" {\n    trace "trace.jsonl"\n    observe reply on tickets\n'
        "    expect replies_follow_reads first violated at line 7\n"
        "    expect replies_follow_reads value > 1 at line 8\n}\n",
    )
    assert failure_lines(run) == []
    bad = run_tests(
        tmp_path,
        'test "t" {\n    trace "trace.jsonl"\n    expect replies_follow_reads satisfied\n}\n',
    )
    (failure,) = bad.outcomes[0].failures
    assert failure.source == "trace.jsonl:7"


@pytest.mark.parametrize(
    ("tests", "line", "message"),
    [
        ('test "t" {\n    observe read on tickets\n    expect no errors\n}\n', 2, "no start time"),
        (
            HEAD
            + 'test "t" {\n    observe read on tickets\n    expect replies_follow_read violated\n}\n',
            4,
            "no invariant 'replies_follow_read' in",
        ),
        (
            HEAD
            + 'contract "bott"\ntest "t" {\n    observe read on tickets\n    expect no errors\n}\n',
            2,
            "did you mean 'bot'?",
        ),
        (
            HEAD
            + 'test "t" {\n    observe read on tickets\n    expect no violations of robot\n}\n',
            4,
            "no contract for agent 'robot'",
        ),
        (
            HEAD + 'test "t" {\n    trace "missing.jsonl"\n    expect no errors\n}\n',
            3,
            "cannot read trace",
        ),
        (
            HEAD
            + 'test "t" {\n    observe read on tickets\n    clock "08:00"\n    expect no errors\n}\n',
            4,
            "only moves forward",
        ),
        (
            HEAD
            + 'test "t" {\n    observe read on tickets\n    expect no errors\n    policy "nope.nomo"\n}\n',
            5,
            "does not exist",
        ),
        (
            'start "2024-03-10 02:30" in "America/New_York"\ntest "t" {\n    observe read on tickets\n    expect no errors\n}\n',
            1,
            "does not exist in America/New_York",
        ),
        (
            'start "2024-04-08 09:00" in "Mars/Base"\ntest "t" {\n    observe read on tickets\n    expect no errors\n}\n',
            1,
            "unknown time zone",
        ),
    ],
)
def test_problems_in_a_test_are_errors_at_their_line(
    tmp_path: Path, tests: str, line: int, message: str
) -> None:
    run = run_tests(tmp_path, tests)
    (outcome,) = run.outcomes
    assert outcome.error is not None, outcome
    assert outcome.error.where.line == line
    assert message in outcome.error.message, outcome.error.message
    assert not outcome.passed


def test_a_policy_with_errors_fails_its_tests_with_its_diagnostics(tmp_path: Path) -> None:
    run = run_tests(
        tmp_path,
        HEAD + 'test "a" {\n    observe read on x\n    expect no errors\n}\n'
        'test "b" {\n    observe read on x\n    expect no errors\n}\n',
        policy="ratio write/read < 3 over 0 actions\n",
    )
    assert (run.passed, run.failed) == (0, 2)
    (problem,) = run.policy_problems
    assert [d.code for d in problem.result.errors] == ["NMO303"]


def test_each_test_starts_from_a_fresh_runtime(tmp_path: Path) -> None:
    run = run_tests(
        tmp_path,
        HEAD + 'test "a" {\n' + LOOP + "    expect replies_follow_reads violated\n}\n"
        'test "b" {\n    observe 10 read on tickets every 1m\n    expect replies_follow_reads satisfied\n'
        "    expect replies_follow_reads value == 0\n}\n",
    )
    assert (run.passed, run.failed) == (2, 0)


def test_inline_policy_and_diagnostics_point_into_the_test_file(tmp_path: Path) -> None:
    tests = tmp_path / "rules.nomotest"
    tests.write_text(
        HEAD + "policy {\n    rate < 2 over 0 actions\n}\n"
        'test "t" {\n    observe read on x\n    expect no errors\n}\n',
        encoding="utf-8",
    )
    run = run_paths([tests])
    (problem,) = run.policy_problems
    (diagnostic,) = problem.result.errors
    assert (diagnostic.file, diagnostic.line, diagnostic.column) == (
        str(tests.name if False else tests).split("/")[-1] if False else diagnostic.file,
        3,
        19,
    )


def test_options_reach_the_runtime(tmp_path: Path) -> None:
    by_default = one(tmp_path, "expect drift action score > 0.3 at line 2")
    assert by_default and "no action drift score at line 2" in by_default[0]
    assert one(tmp_path, "expect drift action score == 0 at line 12") != []
    run = run_tests(
        tmp_path,
        HEAD + "option min-drift-observations 2\noption drift-window 4\n"
        'test "t" {\n' + LOOP + "    expect drift action score == 0 at line 12\n"
        "    expect drift action score > 0.3 at line 2\n}\n",
    )
    assert failure_lines(run) == []


def test_a_sidecar_is_found_from_its_policy_and_folders_are_searched(tmp_path: Path) -> None:
    write_project(
        tmp_path / "a",
        HEAD + 'test "t" {\n' + LOOP + "    expect replies_follow_reads violated\n}\n",
    )
    write_project(
        tmp_path / "b" / "deep", HEAD + 'test "u" {\n' + LOOP + "    expect no errors\n}\n"
    )
    assert run_paths([tmp_path]).passed == 2
    assert run_paths([tmp_path / "a" / "policy.nomo"]).passed == 1
    lonely = tmp_path / "c.nomo"
    lonely.write_text("rate < 2 over 1m\n", encoding="utf-8")
    run = run_paths([lonely, tmp_path / "missing"])
    assert [error.message for error in run.errors] == [
        f"{lonely} has no tests: {tmp_path / 'c.nomotest'} does not exist",
        f"cannot read {tmp_path / 'missing'}: no such file or directory",
    ]
    assert not run.ok
