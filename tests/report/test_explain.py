"""Explanations: the window behind a value and what drove it, per invariant type; and
``nomo explain --verdict`` as a user runs it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from nomotic_dsl.ir.spec import InvariantSpec
from nomotic_dsl.report.explain import Seen, explain, select
from nomotic_dsl.runtime.interpreter.result import InvariantResult
from tests.policytest.helpers import ROOT, nomo

CUSTOMER = ROOT / "examples" / "customer_support"
FLEET = ROOT / "examples" / "fleet"
START = 1712577600.0  # 2024-04-08 12:00 UTC


def seen(index: int, action: str = "read", target: str = "t", **more: object) -> Seen:
    return Seen(index + 1, START + 60 * index, action, target, **more)  # type: ignore[arg-type]


def result(value: float = 1.0) -> InvariantResult:
    return InvariantResult("i", False, value, 0.5, -1.0, "violated", "Detail.", True)


def spec(
    type_: str, metric: str, *, window: int | None = None, seconds: float | None = None
) -> InvariantSpec:
    return InvariantSpec("i", type_, "d", metric, "lt", 0.5, None, window, seconds)


def drivers(s: InvariantSpec, history: list[Seen], **options: object) -> list[str]:
    return list(explain(s, result(), history, **options).drivers)  # type: ignore[arg-type]


def test_windows_of_actions_time_and_whole_history() -> None:
    history = [seen(i) for i in range(10)]
    assert [s.line for s in select(spec("ratio", "a_to_b", window=3), history, 100)] == [8, 9, 10]
    assert [
        s.line for s in select(spec("rate", "action_frequency", seconds=120), history, 100)
    ] == [9, 10]
    assert len(select(spec("temporal", "8-18"), history, 100)) == 10
    assert len(select(spec("drift", "action"), history, 4)) == 4


def test_ratio_distribution_count_and_rate_drivers() -> None:
    history = [seen(i, "reply" if i % 3 else "read", f"t{i % 4}") for i in range(12)]
    assert drivers(spec("ratio", "reply_to_read", window=12), history) == [
        "8 reply against 4 read in 12 actions"
    ]
    assert drivers(spec("distribution", "target_max", window=12), history) == [
        "largest targets: t0 3 of 12 (25%), t1 3 of 12 (25%), t2 3 of 12 (25%)"
    ]
    assert drivers(spec("count", "distinct_targets", window=5), history) == [
        "4 distinct targets: t0, t1, t2, t3"
    ]
    assert drivers(spec("rate", "action_frequency", seconds=300), history)[0].startswith(
        "5 actions in the window, most of them reply 4 of 5 (80%), read 1 of 5 (20%)"
    )


def test_temporal_drivers_name_the_actions_outside_hours_in_local_time() -> None:
    history = [Seen(1, START, "read", "records"), Seen(2, START + 6 * 3600, "read", "records")]
    (text,) = drivers(spec("temporal", "7-15@America/Chicago"), history)
    # 12:00 UTC is 07:00 in Chicago (inside), 18:00 UTC is 13:00 (inside): nothing outside.
    assert text == "no action outside 7-15 (America/Chicago)"
    (text,) = drivers(spec("temporal", "7-12@America/Chicago"), history)
    assert text == "1 of 2 actions outside 7-12 (America/Chicago): line 2 read records at 13:00"


def test_semantic_and_drift_drivers() -> None:
    history = [seen(i, semantic={"refund": 0.9 - i / 10}) for i in range(5)]
    (text,) = drivers(spec("semantic", "refund", window=5), history)
    assert (
        text
        == '5 actions reported a fidelity for "refund"; the lowest: line 5 0.5, line 4 0.6, line 3 0.7'
    )
    history = [seen(i, "delete" if i > 5 else "read") for i in range(10)]
    found = drivers(
        spec("drift", "action"), history, expected={"action": {"read": 0.9, "delete": 0.1}}
    )
    assert found == [
        "delete: 40% of the window against 10% expected",
        "read: 60% of the window against 90% expected",
    ]


def test_the_explanation_reports_the_window_and_an_unknown_value() -> None:
    history = [seen(i) for i in range(3)]
    unmeasured = InvariantResult("i", True, math.nan, 0.5, math.nan, "satisfied", "Nothing.", False)
    explained = explain(spec("ratio", "read_to_write", window=2), unmeasured, history)
    assert explained.sentences[1] == (
        "The value (not measured) was measured over the last 2 actions: 2 actions, lines 2 to 3 "
        "(2024-04-08 12:01:00 UTC to 2024-04-08 12:02:00 UTC)."
    )
    assert (explained.first_line, explained.last_line, explained.actions) == (2, 3, 2)


def test_explain_verdict_in_words() -> None:
    result_ = nomo(
        "explain",
        str(CUSTOMER / "policy.nomo"),
        "--trace",
        str(CUSTOMER / "trace.jsonl"),
        "--verdict",
        "460",
        "--invariant",
        "replies_follow_reads",
    )
    assert result_.returncode == 0, result_.stderr
    lines = result_.stdout.splitlines()
    assert lines[0] == (
        "Line 460 (2024-04-08 20:33:17 UTC), agent support-bot under contract support-bot "
        "version 3: replies_follow_reads was violated."
    )
    assert (
        lines[1]
        == "  The rule: The reply-to-read ratio must stay below 1, measured over the last 100 actions."
    )
    assert "46 reply against 45 read in 100 actions" in result_.stdout
    assert lines[-1] == "  It became violated on this line."


def test_explain_verdict_json_and_since() -> None:
    result_ = nomo(
        "explain",
        str(FLEET / "policy.nomo"),
        "--trace",
        str(FLEET / "trace.jsonl"),
        "--verdict",
        "388",
        "--format",
        "json",
    )
    assert result_.returncode == 0, result_.stderr
    (verdict,) = json.loads(result_.stdout)["verdicts"]
    assert (verdict["agent_id"], verdict["invariant"], verdict["violated_since"]) == (
        "etl-pipeline",
        "few_deletes",
        368,
    )
    assert verdict["explanation"]["drivers"] == ["27 delete against 3 read in 40 actions"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--verdict", "10"), 1, "nothing was violated after line 10 for agent support-bot"),
        (("--verdict", "9999"), 1, "has no observation on line 9999"),
        (("--verdict", "460", "--invariant", "nope"), 1, "is held to no invariant 'nope'"),
    ],
)
def test_explain_verdict_when_there_is_nothing_to_explain(
    args: tuple[str, ...], code: int, message: str
) -> None:
    result_ = nomo(
        "explain", str(CUSTOMER / "policy.nomo"), "--trace", str(CUSTOMER / "trace.jsonl"), *args
    )
    assert result_.returncode == code
    assert message in result_.stderr
    assert result_.stdout == ""


def test_explain_verdict_of_a_refused_line_and_misuse(tmp_path: Path) -> None:
    refused = nomo(
        "explain",
        str(FLEET / "policy.nomo"),
        "--trace",
        str(FLEET / "trace.jsonl"),
        "--verdict",
        "642",
    )
    assert refused.returncode == 1 and "line 642 was refused" in refused.stderr
    no_trace = nomo("explain", str(FLEET / "policy.nomo"), "--verdict", "3")
    assert no_trace.returncode == 2 and "--verdict needs --trace" in no_trace.stderr
    plain = nomo("explain", str(FLEET / "policy.nomo"))
    assert plain.returncode == 0 and 'contract "etl-pipeline"' in plain.stdout
