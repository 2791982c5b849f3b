"""Each metric's meaning, from the semantics page, including its edge cases."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from nomotic_dsl.runtime.interpreter import BehavioralState, Observation
from nomotic_dsl.runtime.interpreter.measure import exact_mean, local_hour

from .helpers import action, evaluate, make


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


class TestRatio:
    def test_counts_over_the_window(self) -> None:
        state = {
            "actions": [
                action(i, k) for i, k in enumerate(["read", "read", "write", "read", "write"])
            ]
        }
        result = evaluate(make("ratio", "write_to_read", "lt", 0.3, window=3), state)
        assert result.current_value == 2.0 and not result.satisfied
        assert evaluate(
            make("ratio", "write_to_read", "lt", 0.3), state
        ).current_value == pytest.approx(2 / 3)

    def test_division_by_zero(self) -> None:
        only_writes = {"actions": [action(1, "write"), action(2, "write")]}
        neither = {"actions": [action(1, "send")]}
        inf = evaluate(make("ratio", "write_to_read", "lt", 0.3), only_writes)
        assert (
            inf.current_value == math.inf and inf.margin == -math.inf and inf.status == "violated"
        )
        zero = evaluate(make("ratio", "write_to_read", "lt", 0.3), neither)
        assert zero.current_value == 0.0 and zero.satisfied

    def test_snapshot_distribution_is_used_without_a_window(self) -> None:
        state = {"actions": [action(1, "write")], "action_distribution": {"write": 1, "read": 4}}
        assert evaluate(make("ratio", "write_to_read", "lt", 0.3), state).current_value == 0.25
        windowed = evaluate(make("ratio", "write_to_read", "lt", 0.3, window=5), state)
        assert windowed.current_value == math.inf


SKEWED = {"actions": [action(i, target=t) for i, t in enumerate(["a", "a", "a", "b", "c"])]}


class TestDistribution:
    def test_target_max_and_count_from_actions(self) -> None:
        assert evaluate(make("distribution", "target_max", "lt", 0.6), SKEWED).current_value == 0.6
        assert evaluate(make("distribution", "target_count", "lte", 5), SKEWED).current_value == 3.0
        assert evaluate(make("distribution", "action_max", "lte", 1), SKEWED).current_value == 1.0

    def test_snapshot_shares_or_counts_are_normalised(self) -> None:
        shares = {"target_distribution": {"a": 0.5, "b": 0.3, "c": 0.2, "d": 0.0}}
        counts = {"target_distribution": {"a": 50, "b": 30, "c": 20}}
        for state in (shares, counts):
            assert (
                evaluate(make("distribution", "target_max", "lt", 0.6), state).current_value == 0.5
            )
        assert evaluate(make("distribution", "target_count", "lt", 9), shares).current_value == 3.0

    def test_all_zero_snapshot_has_nothing_to_measure(self) -> None:
        result = evaluate(
            make("distribution", "target_max", "lt", 0.6), {"target_distribution": {"a": 0}}
        )
        assert result.current_value == 0.0 and "nothing to measure" in result.detail


class TestDriftAndSemantic:
    def test_drift_read_from_scores(self) -> None:
        result = evaluate(
            make("drift", "overall", "between", 0.05, threshold_upper=0.3),
            {"drift": {"overall": 0.1}},
        )
        assert result.current_value == 0.1 and result.satisfied

    @pytest.mark.parametrize("state", [{}, {"drift": {"action": 0.9}}])
    def test_absent_drift_is_not_measured(self, state: dict[str, object]) -> None:
        result = evaluate(make("drift", "target", "lt", 0.2), state)
        assert result.satisfied and result.status == "satisfied"
        assert math.isnan(result.current_value) and math.isnan(result.margin)
        assert "no data" in result.detail

    def test_semantic_fidelity_is_one_minus_drift(self) -> None:
        result = evaluate(
            make("semantic", "research", "gt", 0.85), {"semantic_drift": {"research": 0.1}}
        )
        assert result.current_value == pytest.approx(0.9) and result.satisfied

    def test_windowed_semantic_averages_per_action_fidelity(self) -> None:
        actions = [
            action(1, semantic={"research": 0.2}),
            action(2, semantic={"research": 0.9}),
            action(3),
            action(4, semantic={"research": 0.7, "refund": 0.1}),
        ]
        state = {"actions": actions, "semantic_drift": {"research": 0.5}}
        windowed = evaluate(make("semantic", "research", "gt", 0.85, window=3), state)
        assert windowed.current_value == 0.8 and not windowed.satisfied
        assert (
            evaluate(make("semantic", "research", "gt", 0.85, window=1), state).current_value == 0.7
        )
        missing = evaluate(make("semantic", "billing", "gt", 0.85, window=3), state)
        assert math.isnan(missing.current_value) and missing.satisfied

    def test_exact_mean_is_order_independent(self) -> None:
        values = [0.1, 0.7, 1e-17, 0.3, 0.9999999999999999]
        assert exact_mean(values) == exact_mean(list(reversed(values)))


class TestTemporal:
    def test_fraction_outside_business_hours(self) -> None:
        hours = ["07:59:59", "08:00:00", "12:00:00", "17:59:59", "18:00:00"]
        state = {"actions": [action(at(f"2024-05-06T{h}")) for h in hours]}
        result = evaluate(make("temporal", "8-18", "eq", 0.0), state)
        assert result.current_value == pytest.approx(2 / 5) and not result.satisfied

    def test_wrapping_past_midnight(self) -> None:
        moments = [
            "06T21:00:00",
            "06T22:00:00",
            "06T23:59:00",
            "07T00:30:00",
            "07T05:59:59",
            "07T06:00:00",
        ]
        state = {"actions": [action(at(f"2024-05-{m}")) for m in moments]}
        result = evaluate(make("temporal", "22-6", "eq", 0.0), state)
        assert result.current_value == pytest.approx(2 / 6)

    def test_time_zone_with_daylight_saving(self) -> None:
        # 13:30 UTC is 08:30 EST on 9 March 2024 and 09:30 EDT on 11 March (DST began on the 10th).
        before, after = at("2024-03-09T13:30:00"), at("2024-03-11T13:30:00")
        spec = make("temporal", "9-17@America/New_York", "eq", 0.0)
        assert evaluate(spec, {"actions": [action(before)]}).current_value == 1.0
        assert evaluate(spec, {"actions": [action(after)]}).current_value == 0.0
        assert (
            evaluate(
                make("temporal", "9-17", "eq", 0.0), {"actions": [action(before)]}
            ).current_value
            == 0.0
        )

    def test_hour_is_that_of_the_whole_second(self) -> None:
        assert local_hour(3599.9999999, None) == 0
        assert local_hour(3600.0, None) == 1


class TestRate:
    def test_time_window_counts_half_open_interval(self) -> None:
        state = {"actions": [action(t) for t in (0.0, 40.0, 100.0, 130.0, 160.0)]}
        result = evaluate(make("rate", "action_frequency", "lte", 0.5, window_seconds=60), state)
        # (100, 160] holds 130 and 160; 100 itself is excluded.
        assert result.current_value == 2 / 60

    def test_count_window_uses_span_of_the_actions(self) -> None:
        state = {"actions": [action(t) for t in (0.0, 10.0, 20.0, 40.0)]}
        assert (
            evaluate(make("rate", "action_frequency", "lt", 1, window=3), state).current_value
            == 2 / 30
        )
        assert evaluate(make("rate", "action_frequency", "lt", 1), state).current_value == 3 / 40

    def test_one_action_or_one_timestamp_is_zero(self) -> None:
        spec = make("rate", "action_frequency", "lt", 1)
        assert evaluate(spec, {"actions": [action(5)]}).current_value == 0.0
        assert evaluate(spec, {"actions": [action(5), action(5)]}).current_value == 0.0

    def test_now_moves_the_time_window(self) -> None:
        state = {"actions": [action(0.0), action(10.0)], "now": 65.0}
        result = evaluate(make("rate", "action_frequency", "lt", 1, window_seconds=60), state)
        assert result.current_value == 1 / 60


class TestCount:
    def test_distinct_targets_and_actions(self) -> None:
        state = {
            "actions": [
                action(i, k, t)
                for i, (k, t) in enumerate(
                    [("read", "a"), ("read", "b"), ("write", "a"), ("send", "c")]
                )
            ]
        }
        assert (
            evaluate(make("count", "distinct_targets", "lte", 5, window=2), state).current_value
            == 2.0
        )
        assert evaluate(make("count", "distinct_actions", "gte", 2), state).current_value == 3.0

    def test_window_larger_than_history(self) -> None:
        state = {"actions": [action(1, target="a"), action(2, target="b")]}
        result = evaluate(make("count", "distinct_targets", "lte", 5, window=10_000), state)
        assert result.current_value == 2.0 and "over the last 10000 actions" in result.detail


class TestMissingData:
    @pytest.mark.parametrize(
        ("type_", "metric"),
        [
            ("ratio", "write_to_read"),
            ("distribution", "target_max"),
            ("temporal", "8-18"),
            ("rate", "action_frequency"),
            ("count", "distinct_actions"),
        ],
    )
    @pytest.mark.parametrize("window", [{}, {"window": 5}, {"window_seconds": 60.0}])
    def test_empty_window_is_not_measured_and_never_violated(
        self, type_: str, metric: str, window: dict[str, object]
    ) -> None:
        result = evaluate(make(type_, metric, "gte", 1, **window), {})
        assert result.current_value == 0.0
        assert result.satisfied and not result.measured
        assert math.isnan(result.margin) and result.status == "satisfied"
        assert "nothing to measure" in result.detail
        assert "so it is not measured; it must stay at or above 1." in result.detail
        assert result.to_dict()["measured"] is False

    def test_time_window_with_no_recent_actions(self) -> None:
        state = {"actions": [action(0.0, target="a")], "now": 1000.0}
        result = evaluate(make("count", "distinct_targets", "lte", 5, window_seconds=60), state)
        assert result.current_value == 0.0 and result.satisfied and not result.measured

    def test_a_measured_result_says_so(self) -> None:
        result = evaluate(make("count", "distinct_targets", "gte", 2), {"actions": [action(0.0)]})
        assert result.measured and not result.satisfied and result.status == "violated"
        assert result.to_dict()["measured"] is True


def test_detail_names_value_bound_and_window() -> None:
    state = BehavioralState(
        actions=tuple(Observation(i, "write" if i % 2 else "read", "kb") for i in range(10))
    )
    result = evaluate(make("ratio", "write_to_read", "lt", 0.3, window=100), state.to_dict())
    assert result.detail == (
        "Write-to-read ratio is 1 over the last 100 actions; it must stay below 0.3: violated."
    )
