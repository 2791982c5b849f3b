"""Rule conflicts and redundancy: per group of rules on one metric and window, near-linear."""

from __future__ import annotations

from nomotic_dsl.compiler.pipeline import compile_source
from tests.language.helpers import diagnostics_of


def codes(text: str) -> list[str]:
    return [d.code for d in compile_source(text, "policy.nomo").diagnostics]


def test_identical_rules_give_one_warning_for_the_group() -> None:
    result = compile_source("ratio write/read < 0.3 over 100 actions\n" * 400, "policy.nomo")
    (warning,) = result.diagnostics
    assert warning.code == "NMO501" and warning.line == 2
    assert "and so are 398 more" in warning.message and "and 388 more" in warning.message
    assert result.ok and len(result.invariants) == 1


def test_ten_thousand_rules_on_one_metric_give_one_diagnostic() -> None:
    text = "".join(f"rate < {n} per hour over 1h\n" for n in range(1, 10_001))
    result = compile_source(text, "policy.nomo")
    assert [d.code for d in result.diagnostics] == ["NMO501"]
    assert result.diagnostics[0].line == 2  # `< 2 per hour` is implied by `< 1 per hour`


def test_a_contradiction_names_the_two_rules_that_cannot_meet() -> None:
    text = "drift action < 0.2\ndrift action < 0.5\ndrift action > 0.6\ndrift action > 0.1\n"
    result = compile_source(text, "policy.nomo")
    (error,) = result.diagnostics
    assert error.code == "NMO500" and error.line == 3
    assert "policy.nomo:1" in error.message and "2 more rules" in error.message


def test_redundancy_points_at_the_implied_rule_whichever_comes_first() -> None:
    assert diagnostics_of("drift target < 0.4\ndrift target < 0.2\n") == [
        ("NMO501", "drift target < 0.4")
    ]
    assert diagnostics_of("drift target < 0.2\ndrift target < 0.4\n") == [
        ("NMO501", "drift target < 0.4")
    ]


def test_rules_on_different_windows_or_metrics_are_never_compared() -> None:
    text = (
        "ratio write/read < 0.3 over 100 actions\n"
        "ratio write/read < 0.5 over 50 actions\n"
        "ratio write/read < 0.5 over 1h\n"
        "ratio read/write < 0.5 over 100 actions\n"
    )
    assert codes(text) == []


def test_between_rules_inside_each_other() -> None:
    assert codes("drift overall between 0.1 and 0.3\ndrift overall between 0 and 0.5\n") == [
        "NMO501"
    ]
    assert codes("drift overall between 0.1 and 0.3\ndrift overall between 0.2 and 0.5\n") == []
    assert codes("drift overall between 0.1 and 0.2\ndrift overall between 0.3 and 0.5\n") == [
        "NMO500"
    ]
