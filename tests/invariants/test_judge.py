"""Operators, margins and status at their edges (values fed through drift scores)."""

from __future__ import annotations

import math

import pytest

from nomotic_dsl.runtime.interpreter.judge import judge, status_of

from .helpers import evaluate, make


def drift_result(operator: str, value: float, threshold: float, upper: float | None = None):
    spec = make("drift", "action", operator, threshold, threshold_upper=upper)
    return evaluate(spec, {"drift": {"action": value}})


@pytest.mark.parametrize(
    ("operator", "value", "threshold", "satisfied"),
    [
        ("lt", 0.3, 0.3, False),
        ("lt", 0.29, 0.3, True),
        ("lte", 0.3, 0.3, True),
        ("lte", 0.31, 0.3, False),
        ("gt", 0.3, 0.3, False),
        ("gt", 0.31, 0.3, True),
        ("gte", 0.3, 0.3, True),
        ("gte", 0.29, 0.3, False),
    ],
)
def test_exactly_at_the_threshold(
    operator: str, value: float, threshold: float, satisfied: bool
) -> None:
    result = drift_result(operator, value, threshold)
    assert result.satisfied is satisfied
    assert result.status == ("violated" if not satisfied else result.status)
    if value == threshold:
        assert result.margin == 0.0
        assert result.status == ("approaching" if satisfied else "violated")


def test_eq_tolerance_edges() -> None:
    exact = drift_result("eq", 0.0, 0.0)
    assert (exact.satisfied, exact.margin, exact.status) == (True, 1.0, "satisfied")
    edge = drift_result("eq", 0.001, 0.0)
    assert edge.satisfied and edge.margin == 0.0 and edge.status == "approaching"
    beyond = drift_result("eq", 0.0011, 0.0)
    assert not beyond.satisfied and beyond.margin < 0 and beyond.status == "violated"
    near = drift_result("eq", 0.0005, 0.0)
    assert near.satisfied and near.margin == pytest.approx(0.5)


def test_between_includes_both_ends() -> None:
    low = drift_result("between", 0.05, 0.05, 0.3)
    high = drift_result("between", 0.3, 0.05, 0.3)
    middle = drift_result("between", 0.175, 0.05, 0.3)
    outside = drift_result("between", 0.31, 0.05, 0.3)
    assert low.satisfied and high.satisfied
    assert low.margin == 0.0 and high.margin == 0.0
    assert middle.margin == pytest.approx(0.5) and middle.status == "satisfied"
    assert not outside.satisfied and outside.margin < 0


def test_margin_is_relative_to_the_threshold() -> None:
    assert drift_result("lt", 0.1, 0.4).margin == pytest.approx(0.75)
    assert drift_result("gt", 0.6, 0.4).margin == pytest.approx(0.5)
    assert drift_result("lt", 0.5, 0.4).margin == pytest.approx(-0.25)


def test_zero_threshold_uses_plain_difference() -> None:
    assert drift_result("gt", 0.35, 0.0).margin == 0.35
    assert drift_result("lte", 0.35, 0.0).margin == -0.35


def test_margin_020_is_the_approaching_boundary() -> None:
    # gt with threshold 0: margin is exactly the value.
    assert drift_result("gt", 0.2, 0.0).status == "satisfied"
    assert drift_result("gt", 0.19, 0.0).status == "approaching"
    # Whole counts give exact relative margins: (5 - 4) / 5 == 0.2.
    from .helpers import action

    spec = make("count", "distinct_targets", "lte", 5.0)
    state = {"actions": [action(i, target=f"t{i}") for i in range(4)]}
    assert evaluate(spec, state).margin == 0.2
    assert evaluate(spec, state).status == "satisfied"
    state["actions"].append(action(9, target="t9"))
    assert evaluate(spec, state).status == "approaching"


def test_infinite_value_gives_infinite_margin() -> None:
    assert judge("lt", math.inf, 0.3, None) == (False, -math.inf)
    assert judge("gte", math.inf, 0.3, None) == (True, math.inf)
    assert judge("between", math.inf, 0.0, 1.0) == (False, -math.inf)
    assert judge("eq", math.inf, 1.0, None) == (False, -math.inf)
    assert status_of(True, math.inf) == "satisfied"
    assert status_of(False, -math.inf) == "violated"


@pytest.mark.parametrize("operator", ["lt", "lte", "gt", "gte", "eq", "between"])
def test_status_agrees_with_satisfied_and_margin(operator: str) -> None:
    for value in (0.0, 0.1, 0.2, 0.3, 0.5, 0.9, 1.0):
        result = drift_result(operator, value, 0.3, 0.6 if operator == "between" else None)
        expected = (
            "violated"
            if not result.satisfied
            else "approaching"
            if result.margin < 0.2
            else "satisfied"
        )
        assert result.status == expected
