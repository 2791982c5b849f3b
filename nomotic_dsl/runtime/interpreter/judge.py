"""Comparison, margin and status: how a measured value is judged against a bound.

These functions are the one definition of the operators' meaning. The
reference interpreter calls them, and generated evaluators call the
per-operator forms through ``nomotic_dsl.runtime`` so both agree bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable

from nomotic_dsl.ir.spec import APPROACHING_MARGIN, EQ_TOLERANCE

SATISFIED = "satisfied"
APPROACHING = "approaching"
VIOLATED = "violated"
STATUSES: tuple[str, ...] = (SATISFIED, APPROACHING, VIOLATED)


def margin_below(value: float, threshold: float) -> float:
    """Margin for lt/lte: (t - v) / |t|, or t - v when t is 0."""
    if threshold == 0:
        return threshold - value
    return (threshold - value) / abs(threshold)


def margin_above(value: float, threshold: float) -> float:
    """Margin for gt/gte: (v - t) / |t|, or v - t when t is 0."""
    if threshold == 0:
        return value - threshold
    return (value - threshold) / abs(threshold)


def margin_between(value: float, lower: float, upper: float) -> float:
    """Margin for between: distance to the nearer bound over the width of the band."""
    return min(value - lower, upper - value) / (upper - lower)


def margin_equal(value: float, threshold: float) -> float:
    """Margin for eq: 1.0 when exactly equal, 0.0 at the tolerance edge."""
    return 1.0 - abs(value - threshold) / EQ_TOLERANCE


def judge_lt(value: float, threshold: float) -> tuple[bool, float]:
    """lt: value < threshold."""
    return value < threshold, margin_below(value, threshold)


def judge_lte(value: float, threshold: float) -> tuple[bool, float]:
    """lte: value <= threshold."""
    return value <= threshold, margin_below(value, threshold)


def judge_gt(value: float, threshold: float) -> tuple[bool, float]:
    """gt: value > threshold."""
    return value > threshold, margin_above(value, threshold)


def judge_gte(value: float, threshold: float) -> tuple[bool, float]:
    """gte: value >= threshold."""
    return value >= threshold, margin_above(value, threshold)


def judge_eq(value: float, threshold: float) -> tuple[bool, float]:
    """eq: |value - threshold| <= 0.001."""
    return abs(value - threshold) <= EQ_TOLERANCE, margin_equal(value, threshold)


def judge_between(value: float, lower: float, upper: float) -> tuple[bool, float]:
    """between: lower <= value <= upper."""
    return lower <= value <= upper, margin_between(value, lower, upper)


SINGLE_BOUND_JUDGES: dict[str, Callable[[float, float], tuple[bool, float]]] = {
    "lt": judge_lt,
    "lte": judge_lte,
    "gt": judge_gt,
    "gte": judge_gte,
    "eq": judge_eq,
}


def judge(
    operator: str, value: float, threshold: float, threshold_upper: float | None
) -> tuple[bool, float]:
    """Return (satisfied, margin) of ``value`` under any operator."""
    if operator == "between":
        assert threshold_upper is not None, "validated specs carry threshold_upper"
        return judge_between(value, threshold, threshold_upper)
    return SINGLE_BOUND_JUDGES[operator](value, threshold)


def status_of(satisfied: bool, margin: float) -> str:
    """violated when not satisfied; approaching when satisfied with margin < 0.20."""
    if not satisfied:
        return VIOLATED
    if margin < APPROACHING_MARGIN:
        return APPROACHING
    return SATISFIED
