"""Every value position is unit-typed: windows, shares, rates and counts, each failing and passing."""

from __future__ import annotations

import pytest

from nomotic_dsl.compiler.pipeline import compile_source
from tests.language.helpers import diagnostics_of, single_spec

# (code, failing source, underlined text, passing source)
WINDOW_CASES = [
    (
        "NMO306",
        "count distinct_targets <= 5 over 50%",
        "50%",
        "count distinct_targets <= 5 over 50 actions",
    ),
    (
        "NMO306",
        "count distinct_targets <= 5 over baseline",
        "baseline",
        "count distinct_targets <= 5 over 1h",
    ),
    (
        "NMO306",
        "count distinct_targets <= 5 over 2x baseline",
        "2x baseline",
        "count distinct_targets <= 5 over 2h",
    ),
    (
        "NMO306",
        "count distinct_targets <= 5 over 5 per minute",
        "5 per minute",
        "count distinct_targets <= 5 over 5 minutes",
    ),
    (
        "NMO203",
        "ratio write/read < 0.3 over 10 acitons",
        "acitons",
        "ratio write/read < 0.3 over 10 actions",
    ),
    (
        "NMO203",
        "ratio write/read < 0.3 over 10 fortnights",
        "fortnights",
        "ratio write/read < 0.3 over 10 days",
    ),
    (
        "NMO306",
        "ratio write/read < 0.3 over 10m minutes",
        "10m",
        "ratio write/read < 0.3 over 10 minutes",
    ),
    ("NMO104", "ratio write/read < 0.3 over 60", "60", "ratio write/read < 0.3 over 60 actions"),
    (
        "NMO303",
        "ratio write/read < 0.3 over 0 minutes",
        "0",
        "ratio write/read < 0.3 over 1 minute",
    ),
    (
        "NMO313",
        "ratio write/read < 0.3 over 5000000000 actions",
        "5000000000",
        "ratio write/read < 0.3 over 5000 actions",
    ),
    (
        "NMO313",
        "ratio write/read < 0.3 over 50000 days",
        "50000",
        "ratio write/read < 0.3 over 5000 days",
    ),
    ("NMO314", "drift action < 0.2 over 1h", "over 1h", "drift action < 0.2"),
    (
        "NMO314",
        "drift overall between 0.05 and 0.3 over 100 actions",
        "over 100 actions",
        "drift overall between 0.05 and 0.3",
    ),
]

BOUND_CASES = [
    # Rates: actions per unit of time, never a percent.
    (
        "NMO306",
        "rate action_frequency < 50% over 1h",
        "50%",
        "rate action_frequency < 50 per hour over 1h",
    ),
    ("NMO306", "rate < 1h over 1h", "1h", "rate < 1 per hour over 1h"),
    ("NMO203", "rate < 5 per fortnight", "fortnight", "rate < 5 per day"),
    # Counts: whole numbers.
    (
        "NMO306",
        "count distinct_targets <= 50% over 10 actions",
        "50%",
        "count distinct_targets <= 5 over 10 actions",
    ),
    ("NMO306", "at most 50% distinct targets", "50%", "at most 5 distinct targets"),
    ("NMO304", "count distinct_targets <= 2.5", "2.5", "count distinct_targets <= 2"),
    ("NMO304", "distribution target_count < 2.5", "2.5", "distribution target_count < 3"),
    # Shares: fractions or percents, never a rate or a duration.
    (
        "NMO306",
        "distribution target_max < 5 per minute",
        "5 per minute",
        "distribution target_max < 60%",
    ),
    ("NMO306", "no single target above 15m", "15m", "no single target above 0.6"),
    ("NMO300", "drift action < 150%", "150%", "drift action < 15%"),
    # Numbers: not too long, not too large.
    ("NMO312", "ratio write/read < 0." + "3" * 400, "0." + "3" * 400, "ratio write/read < 0.3"),
    ("NMO312", "count distinct_targets < " + "9" * 400, "9" * 400, "count distinct_targets < 9"),
    ("NMO313", "ratio write/read < 1" + "0" * 30, "1" + "0" * 30, "ratio write/read < 10"),
    (
        "NMO313",
        "count distinct_targets < 1" + "0" * 12,
        "1" + "0" * 12,
        "count distinct_targets < 100",
    ),
]


@pytest.mark.parametrize(
    ("code", "failing", "snippet", "passing"),
    WINDOW_CASES + BOUND_CASES,
    ids=[f"{case[0]}-{index}" for index, case in enumerate(WINDOW_CASES + BOUND_CASES)],
)
def test_value_kind(code: str, failing: str, snippet: str, passing: str) -> None:
    found = diagnostics_of(failing)
    assert (code, snippet) in found, found
    assert not compile_source(failing).ok
    result = compile_source(passing, "policy.nomo")
    assert result.ok and not result.diagnostics, [d.message for d in result.diagnostics]
    assert len(result.invariants) == 1


@pytest.mark.parametrize(
    ("window", "seconds"),
    [
        ("30 seconds", 30.0),
        ("1 second", 1.0),
        ("10 minutes", 600.0),
        ("1 minute", 60.0),
        ("1 hour", 3600.0),
        ("2 hours", 7200.0),
        ("2 days", 172800.0),
        ("90s", 90.0),
        ("15m", 900.0),
        ("2d", 172800.0),
    ],
)
def test_spelled_out_durations_equal_the_short_ones(window: str, seconds: float) -> None:
    spec = single_spec(f"count distinct_targets <= 5 over {window}")
    assert spec["window_seconds"] == seconds and spec["window"] is None
    assert spec["description"] == f"count distinct_targets <= 5 over {window}"


@pytest.mark.parametrize(
    ("rate", "per_second"),
    [
        ("0.5", 0.5),
        ("30 per minute", 0.5),
        ("1800 per hour", 0.5),
        ("43200 per day", 0.5),
        ("2 per second", 2.0),
    ],
)
def test_rates_are_actions_per_unit_of_time(rate: str, per_second: float) -> None:
    spec = single_spec(f"rate < {rate} over 1h")
    assert spec["threshold"] == pytest.approx(per_second)


def test_rate_constants_and_baseline_rates_take_rate_values() -> None:
    result = compile_source("const LIMIT = 30 per minute\nrate < LIMIT over 1h\n")
    assert result.ok and result.invariants[0].threshold == 0.5
    prior = compile_source("archetype a { baseline rate 120 per hour }\n").archetypes[0]
    assert prior.baseline_rate == pytest.approx(120 / 3600)


# ---- bounds that can never hold, or always do -----------------------------------------------

VACUOUS = [
    ("NMO310", "drift action > 1", "1", "drift action > 0.9"),
    ("NMO310", "count distinct_targets < 0", "0", "count distinct_targets < 1"),
    ("NMO310", "rate < 0", "0", "rate <= 0"),
    ("NMO310", "ratio write/read < 0", "0", "ratio write/read <= 0"),
    ("NMO310", "distribution target_count < 0", "0", "distribution target_count < 1"),
    ("NMO310", "drift action between 1 and 1", None, "drift action between 0.5 and 1"),
    ("NMO311", "drift action <= 1", "1", "drift action < 1"),
    ("NMO311", "count distinct_targets >= 0", "0", "count distinct_targets >= 1"),
    ("NMO311", "ratio write/read >= 0", "0", "ratio write/read > 0"),
    (
        "NMO311",
        "distribution target_max between 0 and 1",
        "0 and 1",
        "distribution target_max between 0 and 0.9",
    ),
    ("NMO311", "temporal 8-18 <= 100%", "100%", "temporal 8-18 == 0"),
]


@pytest.mark.parametrize(("code", "failing", "snippet", "passing"), VACUOUS)
def test_bounds_that_never_or_always_hold_warn(
    code: str, failing: str, snippet: str | None, passing: str
) -> None:
    found = diagnostics_of(failing)
    if snippet is None:  # refused outright (between needs lower < upper)
        assert ("NMO301", "1 and 1") in found
    else:
        assert (code, snippet) in found, found
        assert compile_source(failing).ok  # a warning: the rule still compiles
    assert not diagnostics_of(passing), diagnostics_of(passing)


# ---- ratio action names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failing", "snippet"),
    [
        ("ratio write_to/read < 0.3", "write_to"),
        ("ratio write_to_x/read < 0.3", "write_to_x"),
        ("ratio read/write_to_x < 0.3", "write_to_x"),
        ("ratio a_to_b_to_c < 0.3", "a_to_b_to_c"),
    ],
)
def test_ratio_names_the_metric_cannot_carry_are_refused(failing: str, snippet: str) -> None:
    assert ("NMO315", snippet) in diagnostics_of(failing)


@pytest.mark.parametrize(
    ("passing", "metric"),
    [
        ("ratio write/to_read < 0.3", "write_to_to_read"),
        ("ratio to_write/read < 0.3", "to_write_to_read"),
        ("ratio write_to_read < 0.3", "write_to_read"),
    ],
)
def test_ratio_names_that_round_trip_are_kept_whole(passing: str, metric: str) -> None:
    assert single_spec(passing)["metric"] == metric


def test_a_rule_with_several_wrong_parts_reports_each() -> None:
    codes = [code for code, _ in diagnostics_of("count distinct_targets <= 2.5 over 50%")]
    assert codes == ["NMO304", "NMO306"]


def test_explain_never_gives_drift_a_window() -> None:
    from nomotic_dsl.compiler.explain import explain_spec
    from nomotic_dsl.ir import InvariantSpec

    spec = InvariantSpec("d", "drift", "", "action", "lt", 0.2, window_seconds=3600.0)
    assert "hour" not in explain_spec(spec) and "behavioral state" in explain_spec(spec)
