"""The .nomotest reader: what each statement means, and errors that name file, line and column."""

from __future__ import annotations

import pytest

from nomotic_dsl.policytest.model import (
    AtEnd,
    AtLine,
    AtTime,
    Choice,
    Claim,
    Clock,
    Comparison,
    ErrorAt,
    FirstAt,
    LineRange,
    Never,
    NoErrors,
    NoViolations,
    Observe,
    Reaches,
    StateAt,
    Subject,
    TestCase,
    TestFile,
    TestFileError,
    Times,
    TraceStep,
    ValueAt,
    Wait,
)
from nomotic_dsl.policytest.syntax import parse_test_file


def parse(text: str) -> TestFile:
    return parse_test_file(text, "t.nomotest")


def one_test(body: str) -> TestCase:
    (test,) = parse('test "t" {\n' + body + "\n}\n").tests
    return test


def claim(line: str) -> Claim:
    return one_test("observe read on x\n" + line).expectations[0].claim


def error(text: str) -> TestFileError:
    with pytest.raises(TestFileError) as caught:
        parse(text)
    return caught.value


def test_file_settings_and_a_test() -> None:
    parsed = parse(
        '# a comment\npolicy "p.nomo"\ncontract "bot"\n'
        'start "2024-04-08 09:00" in "America/New_York"\npace 30s\noption drift-window 50\n\n'
        'test "first" {\n    observe 40 read on tickets\n    expect no violations\n}\n'
    )
    settings = parsed.settings
    assert settings.policy is not None and settings.policy.path == "p.nomo"
    assert settings.contract is not None and settings.contract.value == "bot"
    assert settings.start is not None and settings.start.zone == "America/New_York"
    assert settings.pace is not None and settings.pace.value == 30.0
    assert dict(settings.options)["drift-window"].value == 50
    (test,) = parsed.tests
    assert (test.name, test.where.line) == ("first", 8)
    assert test.expectations[0].where.line == 10
    assert test.expectations[0].text == "expect no violations"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("30 s", 30),
        ("5m", 300),
        ("5min", 300),
        ("2 hours", 7200),
        ("1h30m", 5400),
        ("500ms", 0.5),
        ("1d", 86400),
        ("0.2s", 0.2),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    (step,) = one_test(f"wait {text}\nexpect no errors").steps
    assert isinstance(step, Wait)
    assert step.seconds == pytest.approx(seconds)


def test_observe_with_every_option() -> None:
    (step,) = one_test(
        "observe 40 read 75%, reply 25% on tickets, kb every 30 s session s1 outcome allow, deny "
        'semantic refund 0.9, returns 80% agent "bot-1" drift action 0.3, overall 0.2\n'
        "expect no errors"
    ).steps
    assert isinstance(step, Observe)
    assert step.count == 40
    assert step.actions == (Choice("read", 0.75), Choice("reply", 0.25))
    assert step.targets == (Choice("tickets"), Choice("kb"))
    assert step.every == 30
    assert step.sessions == (Choice("s1"),)
    assert step.outcomes == (Choice("allow"), Choice("deny"))
    assert step.semantic == (("refund", 0.9), ("returns", 0.8))
    assert step.agent == "bot-1"
    assert step.drift == (("action", 0.3), ("overall", 0.2))


def test_steps_in_order() -> None:
    steps = one_test(
        'trace "t.jsonl"\nwait 5m\nclock "13:30"\nobserve read on x\nexpect no errors'
    ).steps
    assert [type(step) for step in steps] == [TraceStep, Wait, Clock, Observe]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("expect r violated", StateAt(Subject("invariant", "r"), "violated", AtEnd())),
        (
            "expect r approaching at line 4",
            StateAt(Subject("invariant", "r"), "approaching", AtLine(4)),
        ),
        (
            'expect r not measured at "13:30"',
            StateAt(Subject("invariant", "r"), "not_measured", AtTime("13:30")),
        ),
        (
            "expect r of bot satisfied at end",
            StateAt(Subject("invariant", "r", "bot"), "satisfied", AtEnd()),
        ),
        ("expect r never violated", Never(Subject("invariant", "r"), "violated")),
        (
            "expect r never violated from line 5 to line 9",
            Never(Subject("invariant", "r"), "violated", LineRange(5, 9)),
        ),
        (
            "expect r reaches approaching to line 9",
            Reaches(Subject("invariant", "r"), "approaching", LineRange(1, 9)),
        ),
        ("expect r first violated at line 7", FirstAt(Subject("invariant", "r"), "violated", 7)),
        (
            "expect r first violated at line 7 from line 3",
            FirstAt(Subject("invariant", "r"), "violated", 7, LineRange(3)),
        ),
        ("expect r violated on 3 observations", Times(Subject("invariant", "r"), "violated", 3)),
        ("expect r value < 0.3", ValueAt(Subject("invariant", "r"), Comparison("<", 0.3))),
        (
            "expect r value between 0.1 and 20% at line 2",
            ValueAt(Subject("invariant", "r"), Comparison("between", 0.1, 0.2), AtLine(2)),
        ),
        (
            'expect "inv-1a2b" value == 3',
            ValueAt(Subject("invariant", "inv-1a2b"), Comparison("==", 3.0)),
        ),
        ("expect scope violated at line 3", StateAt(Subject("scope", ""), "violated", AtLine(3))),
        ("expect no scope violations of etl", Never(Subject("scope", "", "etl"), "violated")),
        (
            "expect scope of etl violated on 40 observations",
            Times(Subject("scope", "", "etl"), "violated", 40),
        ),
        (
            "expect drift target of etl first exceeded at line 9",
            FirstAt(Subject("drift", "target", "etl"), "exceeded", 9),
        ),
        (
            "expect drift action score >= 0.2",
            ValueAt(Subject("drift", "action"), Comparison(">=", 0.2)),
        ),
        ("expect no violations", NoViolations()),
        ("expect no violations of bot to line 40", NoViolations("bot", LineRange(1, 40))),
        ("expect no errors", NoErrors()),
        ('expect error at line 3 containing "no contract"', ErrorAt(3, "no contract")),
    ],
)
def test_expectations(line: str, expected: object) -> None:
    assert claim(line) == expected


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ('test "t" {\n    observe read\n    expect no errors\n}\n', 2, 17, "expected `on`"),
        (
            'test "t" {\n    observe read on x every 5x\n    expect no errors\n}\n',
            2,
            29,
            "not a unit of time",
        ),
        ('test "t" {\n    observe read on x\n}\n', 1, 1, "expects nothing"),
        ('test "t" {\n    expect no errors\n}\n', 1, 1, "observes nothing"),
        ('test "t" {\n    observe read on x\n    expect r = 3\n', 3, 14, "write `==`"),
        ('test "t" {\n    observe read on x\n    expect r violatd\n}\n', 3, 14, "expected a state"),
        ('test "t" {\n    observe read on x\n    expect no errors\n', 1, 1, "never closed"),
        ('test "t" {\n    observe 0 read on x\n    expect no errors\n}\n', 2, 13, "between 1 and"),
        (
            'test "t" {\n    observe read 50%, reply on x\n    expect no errors\n}\n',
            2,
            13,
            "share to every name",
        ),
        (
            'test "t" {\n    observe read 50%, reply 40% on x\n    expect no errors\n}\n',
            2,
            13,
            "add up to 100%",
        ),
        (
            'test "t" {\n    observe read on x drift acton 0.3\n    expect no errors\n}\n',
            2,
            29,
            "unknown drift distribution",
        ),
        (
            'test "t" {\n    observe read on x semantic refund 1.5\n    expect no errors\n}\n',
            2,
            39,
            "within 0..1",
        ),
        (
            'test "t" {\n    observe read on x\n    expect drift acton exceeded\n}\n',
            3,
            18,
            "unknown drift distribution",
        ),
        (
            'test "t" {\n    observe read on x\n    expect scope value < 3\n}\n',
            3,
            18,
            "has no value",
        ),
        (
            'test "t" {\n    observe read on x\n    expect r never violated from line 9 to line 3\n}\n',
            3,
            49,
            "comes before",
        ),
        ('test "t" {\n    observe read on "x\n    expect no errors\n}\n', 2, 21, "not closed"),
        (
            'test "t" {\n    observe read on "x\\q"\n    expect no errors\n}\n',
            2,
            23,
            "unknown escape",
        ),
        ("option drift-windw 5\n", 1, 8, "unknown option"),
        ("pace 5s\npace 6s\n", 2, 1, "set twice"),
        ("frobnicate\n", 1, 1, "unknown statement `frobnicate`"),
        (
            'test "a" {\n observe read on x\n expect no errors\n}\ntest "a" {\n observe read on x\n expect no errors\n}\n',
            5,
            1,
            "already exists",
        ),
        ('policy {\n contract "c" {\n', 1, 8, "never closed"),
        (
            'test "t" {\n    observe read on x\n    expect error at line 0\n}\n',
            3,
            26,
            "numbered from 1",
        ),
    ],
)
def test_errors_name_line_and_column(text: str, line: int, column: int, message: str) -> None:
    problem = error(text)
    assert (problem.where.line, problem.where.column) == (line, column), problem
    assert message in problem.message
    assert str(problem).startswith(f"t.nomotest:{line}:{column}: ")


def test_inline_policy_keeps_its_place_in_the_file() -> None:
    parsed = parse(
        '# head\npolicy {\n    # "}" in a comment and "}" in a string\n    rate < 2 over 1m\n}\n'
    )
    assert parsed.settings.policy is not None
    inline = parsed.settings.policy.inline
    assert inline is not None
    lines = inline.split("\n")
    assert lines[3] == "    rate < 2 over 1m"
    assert lines[0].strip() == "" and lines[1].strip() == ""
    assert len(inline) == len(
        '# head\npolicy {\n    # "}" in a comment and "}" in a string\n    rate < 2 over 1m\n}\n'
    )


def test_a_huge_file_is_refused() -> None:
    problem = error("#" * (1024 * 1024 + 1))
    assert "at most" in problem.message
