"""The reference meaning of the optional spec fields and metrics beyond the seed's:
warm-ups (``min_actions``), sessions (``per_session``), every term, rate growth."""

from __future__ import annotations

import math

import pytest

from nomotic_dsl.runtime.interpreter import CompiledInvariants
from nomotic_dsl.runtime.interpreter.measure import session_actions
from nomotic_dsl.runtime.interpreter.state import Observation

from .helpers import action, evaluate, make


class TestWarmup:
    def test_not_measured_until_the_window_holds_enough(self) -> None:
        spec = make("ratio", "write_to_read", "lt", 0.3, window=4, min_actions=4)
        writes = [action(i, "write") for i in range(4)]
        early = evaluate(spec, {"actions": writes[:3]})
        assert not early.measured and early.satisfied and early.status == "satisfied"
        assert math.isnan(early.current_value) and math.isnan(early.margin)
        assert early.detail == (
            "Write-to-read ratio is not measured yet: it needs 4 actions over the last 4 "
            "actions and has 3; it must stay below 0.3."
        )
        full = evaluate(spec, {"actions": writes})
        assert full.measured and full.status == "violated"

    def test_time_window_counts_the_actions_in_it(self) -> None:
        spec = make("count", "distinct_targets", "gte", 2, window_seconds=60, min_actions=2)
        state = {"actions": [action(0, target="a"), action(100, target="b")]}
        assert not evaluate(spec, state).measured  # only one action in the last minute
        state["actions"].append(action(110, target="b"))
        result = evaluate(spec, state)
        assert result.measured and result.status == "violated" and result.current_value == 1.0

    def test_without_a_window_every_action_counts_and_snapshots_wait_too(self) -> None:
        spec = make("distribution", "target_max", "lte", 0.6, min_actions=3)
        snapshot = {"target_distribution": {"a": 1.0}}
        assert not evaluate(spec, snapshot).measured
        actions = [action(i, target="a") for i in range(3)]
        result = evaluate(spec, {**snapshot, "actions": actions})
        assert result.measured and result.current_value == 1.0

    def test_a_drift_rule_waits_for_actions_and_an_empty_window_reads_as_warm_up(self) -> None:
        drift = make("drift", "action", "lt", 0.2, min_actions=2)
        state = {"actions": [action(0)], "drift": {"action": 0.5}}
        assert not evaluate(drift, state).measured
        state["actions"].append(action(1))
        assert evaluate(drift, state).status == "violated"
        empty = evaluate(make("count", "distinct_targets", "lte", 5, min_actions=1), {})
        assert "not measured yet" in empty.detail and math.isnan(empty.current_value)


def _obs(ts: float, session: str | None, target: str = "t") -> Observation:
    return Observation(ts, "read", target, session_id=session)


class TestSessions:
    def test_the_session_of_the_last_action(self) -> None:
        actions = [_obs(0, "a"), _obs(1, None), _obs(2, "a"), _obs(3, None), _obs(4, "b")]
        assert session_actions(actions) == (actions[4],)
        assert session_actions(actions[:4]) == (actions[1], actions[3])
        assert session_actions(actions[:3]) == (actions[0], actions[2])
        assert session_actions(()) == ()

    def test_an_idle_session_starts_afresh_after_its_last_long_gap(self) -> None:
        actions = [_obs(0, "a"), _obs(50, "b"), _obs(200, "a"), _obs(250, "a"), _obs(260, "a")]
        mine = (actions[0], *actions[2:])
        assert session_actions(actions, None) == mine
        assert session_actions(actions, 150.0) == mine[1:]  # the gap of 200 s released it
        assert session_actions(actions, 40.0) == mine[2:]  # and so did the gap of 50 s
        # A gap of exactly the idle time is not longer than it: the session is kept.
        assert session_actions(actions, 200.0) == mine

    def test_per_session_count_reads_only_the_current_session(self) -> None:
        spec = make("count", "distinct_targets", "lte", 2, per_session=True)
        actions = [
            action(0, target="x", session_id="s1"),
            action(1, target="y", session_id="s2"),
            action(2, target="z", session_id="s2"),
            action(3, target="w", session_id="s1"),
        ]
        result = evaluate(spec, {"actions": actions})
        assert result.current_value == 2.0 and result.measured
        assert result.detail == (
            "Number of distinct targets is 2 over the actions of the current session; "
            "it must stay at or below 2: satisfied, but close to the bound (margin 0)."
        )
        windowed = make("count", "distinct_targets", "lte", 2, per_session=True, window=1)
        assert evaluate(windowed, {"actions": actions}).detail.startswith(
            "Number of distinct targets is 1 over the last action of the current session"
        )

    def test_per_session_rules_never_read_snapshots(self) -> None:
        spec = make("distribution", "target_max", "lte", 0.6, per_session=True)
        state = {"actions": [action(0, target="a")], "target_distribution": {"a": 1, "b": 9}}
        assert evaluate(spec, state).current_value == 1.0
        plain = make("distribution", "target_max", "lte", 0.6)
        assert evaluate(plain, state).current_value == 0.9

    def test_time_windows_end_at_now_and_idle_release_is_a_parameter(self) -> None:
        spec = make("rate", "action_frequency", "lte", 1, per_session=True, window_seconds=10)
        actions = [action(0, session_id="a"), action(5, session_id="a"), action(8, session_id="b")]
        compiled = CompiledInvariants.compile([spec])
        [result] = compiled.evaluate({"actions": actions[:2], "now": 12.0})
        assert result.current_value == 0.1
        [released] = compiled.evaluate({"actions": actions[:2]}, session_idle_seconds=4.0)
        assert released.current_value == 0.1  # the gap of 5 s released it: one action left

    @pytest.mark.parametrize("bad", [0, -1.0, math.inf, math.nan, True, "60"])
    def test_idle_seconds_must_be_a_positive_number(self, bad: object) -> None:
        with pytest.raises(ValueError, match=r"session_idle_seconds: .* must be a positive number"):
            CompiledInvariants.compile([]).evaluate({}, session_idle_seconds=bad)  # type: ignore[arg-type]

    def test_drift_rules_have_no_session(self) -> None:
        with pytest.raises(ValueError, match="per_session: a drift invariant reads"):
            CompiledInvariants.compile([make("drift", "action", "lt", 0.2, per_session=True)])


class TestEveryTerm:
    def test_the_lowest_term_counts_and_is_named(self) -> None:
        spec = make("semantic", "*", "gte", 0.85, window=3)
        actions = [
            action(0, semantic={"refund": 0.2}),
            action(1, semantic={"refund": 1.0, "billing": 0.9}),
            action(2, semantic={"refund": 0.9, "billing": 0.95}),
            action(3, semantic={"billing": 0.8}),
        ]
        result = evaluate(spec, {"actions": actions})
        # Last 3 actions: refund (1.0 + 0.9) / 2 = 0.95, billing (0.9 + 0.95 + 0.8) / 3.
        assert result.current_value == pytest.approx(2.65 / 3)
        assert result.detail == (
            'Lowest semantic fidelity of any term is 0.883333 (term "billing") over the last 3 '
            "actions; it must stay at or above 0.85: satisfied, but close to the bound "
            "(margin 0.0392157)."
        )

    def test_ties_go_to_the_first_term_by_name_and_snapshots_come_first(self) -> None:
        spec = make("semantic", "*", "gt", 0.5)
        tie = evaluate(spec, {"semantic_drift": {"b": 0.25, "a": 0.25, "c": 0.0}})
        assert tie.current_value == 0.75 and '(term "a")' in tie.detail
        history = evaluate(spec, {"actions": [action(0, semantic={"x": 0.4})]})
        assert history.current_value == 0.4 and history.status == "violated"
        assert "over all recorded actions" in history.detail

    def test_one_term_shifted_among_nine_steady_ones_is_violated(self) -> None:
        drift = {f"term{i}": 0.0 for i in range(9)} | {"refund": 0.5}
        mean_rule = make("drift", "semantic", "lt", 0.15)
        every = make("semantic", "*", "gte", 0.85)
        state = {"semantic_drift": drift, "drift": {"semantic": sum(drift.values()) / 10}}
        assert evaluate(mean_rule, state).satisfied
        assert evaluate(every, state).status == "violated"

    def test_no_term_with_data_is_not_measured(self) -> None:
        spec = make("semantic", "*", "gte", 0.85, window=2)
        result = evaluate(spec, {"actions": [action(0), action(1)]})
        assert not result.measured and math.isnan(result.current_value)
        assert result.detail == (
            "Lowest semantic fidelity of any term has no data, so it is not measured; "
            "it must stay at or above 0.85."
        )


class TestRateGrowth:
    SPEC = make("rate", "action_frequency_growth", "lte", 2, window_seconds=3600)

    def test_recent_over_previous_within_any_hour(self) -> None:
        # Hour before (0, 3600]: 2 actions; last hour (3600, 7200]: 5 actions.
        times = [0, 1000, 2000, 4000, 5000, 6000, 7000, 7200]
        result = evaluate(self.SPEC, {"actions": [action(t) for t in times]})
        assert result.current_value == 2.5 and result.status == "violated"
        assert result.detail == (
            "Growth of the action rate (actions in the window against the window before) is "
            "2.5 (5 against 2 in the 1 hour before) over the last 1 hour; it must stay at or "
            "below 2: violated."
        )

    def test_not_measured_before_the_history_reaches_back_two_windows(self) -> None:
        young = evaluate(self.SPEC, {"actions": [action(100), action(7200)]})
        assert not young.measured and math.isnan(young.current_value)
        assert "do not reach back 2 hours yet" in young.detail
        # Exactly 2T back is enough; the action at now - 2T itself is in neither window.
        old = evaluate(self.SPEC, {"actions": [action(0), action(3000), action(7200)]})
        assert old.measured and old.current_value == 1.0

    def test_not_measured_when_the_window_before_is_empty(self) -> None:
        result = evaluate(self.SPEC, {"actions": [action(0), action(7000), action(7200)]})
        assert not result.measured and result.satisfied
        assert "no action in the 1 hour before the last 1 hour" in result.detail

    def test_now_moves_both_windows(self) -> None:
        state = {"actions": [action(0), action(3000), action(3500), action(4000)], "now": 7300.0}
        result = evaluate(self.SPEC, state)
        # Last hour (3700, 7300]: 1 action; hour before (100, 3700]: 2 actions.
        assert result.current_value == 0.5

    def test_growth_needs_a_time_window(self) -> None:
        with pytest.raises(ValueError, match="needs window_seconds"):
            CompiledInvariants.compile([make("rate", "action_frequency_growth", "lt", 2, window=5)])


def test_summary_groups_per_session_rules_apart() -> None:
    compiled = CompiledInvariants.compile(
        [
            make("count", "distinct_targets", "lte", 5, invariant_id="a", per_session=True),
            make("count", "distinct_targets", "lte", 5, invariant_id="b", window=5),
            make(
                "count", "distinct_targets", "lte", 5, invariant_id="c", window=5, per_session=True
            ),
        ]
    )
    assert compiled.groups == {
        "count_window:5": ("b",),
        "session:all_actions": ("a",),
        "session:count_window:5": ("c",),
    }
