"""Jensen-Shannon drift: properties of the divergence and of window scores."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nomotic_dsl.ir.prior import ActiveHours
from nomotic_dsl.runtime.governance.drift import (
    DEFAULT_DRIFT_WEIGHTS,
    active_hours_distribution,
    js_divergence,
    overall_drift,
    window_drift,
)
from nomotic_dsl.runtime.interpreter import Observation

NAMES = st.sampled_from(["read", "write", "delete", "reply", "close", "escalate"])
WEIGHTS = st.dictionaries(NAMES, st.floats(min_value=0.01, max_value=100.0), min_size=1)


@settings(max_examples=300, deadline=None)
@given(WEIGHTS, WEIGHTS)
def test_symmetric_and_within_unit_interval(p: dict[str, float], q: dict[str, float]) -> None:
    forward, backward = js_divergence(p, q), js_divergence(q, p)
    assert 0.0 <= forward <= 1.0
    assert math.isclose(forward, backward, abs_tol=1e-12)


@settings(max_examples=200, deadline=None)
@given(WEIGHTS, st.floats(min_value=0.1, max_value=10.0))
def test_zero_for_equal_shares_even_as_counts(p: dict[str, float], scale: float) -> None:
    assert js_divergence(p, p) == pytest.approx(0.0, abs=1e-12)
    assert js_divergence(p, {k: v * scale for k, v in p.items()}) == pytest.approx(0.0, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(WEIGHTS, WEIGHTS)
def test_one_for_disjoint_support(p: dict[str, float], q: dict[str, float]) -> None:
    q_disjoint = {f"other-{k}": v for k, v in q.items()}
    assert js_divergence(p, q_disjoint) == pytest.approx(1.0, abs=1e-12)


def test_known_value() -> None:
    # p = (1, 0), q = (0.5, 0.5): JS = 1.5 - 0.75 * log2(3) in bits.
    expected = 1.5 - 0.75 * math.log2(3)
    assert js_divergence({"a": 1.0}, {"a": 0.5, "b": 0.5}) == pytest.approx(expected, rel=1e-12)


def test_empty_distributions() -> None:
    assert js_divergence({}, {}) == 0.0
    assert js_divergence({"a": 1.0}, {}) == 1.0
    assert js_divergence({"a": 0.0}, {"a": 1.0}) == 1.0


def test_active_hours_distribution_wraps_midnight() -> None:
    shares = active_hours_distribution(ActiveHours(22, 2))
    assert set(shares) == {"22", "23", "0", "1"}
    assert sum(shares.values()) == pytest.approx(1.0)
    assert len(active_hours_distribution(ActiveHours(8, 18))) == 10


def test_overall_is_the_weighted_mean_of_present_scores() -> None:
    scores = {"action": 0.4, "target": 0.2}
    expected = (0.4 * 0.30 + 0.2 * 0.25) / (0.30 + 0.25)
    assert overall_drift(scores, DEFAULT_DRIFT_WEIGHTS) == pytest.approx(expected)
    assert overall_drift({}, DEFAULT_DRIFT_WEIGHTS) is None
    assert overall_drift({"action": 0.4}, {"target": 1.0}) is None


def _actions(*pairs: tuple[str, str], start: float = 36_000.0) -> list[Observation]:
    return [
        Observation(timestamp=start + i, action_type=a, target=t, outcome="allow")
        for i, (a, t) in enumerate(pairs)
    ]


def test_window_drift_scores_only_what_is_expected_and_observed() -> None:
    window = _actions(("read", "kb"), ("read", "kb"), ("write", "kb"), ("read", "kb"))
    scores = window_drift(window, {"action": {"read": 0.75, "write": 0.25}})
    assert scores["action"] == pytest.approx(0.0, abs=1e-12)
    assert set(scores) == {"action", "overall"}
    assert scores["overall"] == pytest.approx(scores["action"])


def test_window_drift_disjoint_targets_and_temporal() -> None:
    window = _actions(("read", "kb"), ("read", "kb"))  # 10:00 UTC
    scores = window_drift(
        window,
        {"target": {"tickets": 1.0}, "outcome": {"allow": 1.0}},
        ActiveHours(8, 18),
    )
    assert scores["target"] == pytest.approx(1.0)
    assert scores["outcome"] == pytest.approx(0.0, abs=1e-12)
    # Both actions at 10:00 against ten equally likely hours: a partial overlap.
    assert 0.0 < scores["temporal"] < 1.0
    night = window_drift(_actions(("read", "kb"), start=3 * 3600.0), {}, ActiveHours(8, 18))
    assert night["temporal"] == pytest.approx(1.0)


def test_window_drift_semantic_is_one_minus_mean_fidelity() -> None:
    window = [
        Observation(timestamp=1.0, action_type="a", target="t", semantic={"refund": 0.9}),
        Observation(timestamp=2.0, action_type="a", target="t", semantic={"refund": 0.7}),
    ]
    assert window_drift(window, {})["semantic"] == pytest.approx(0.2)
