"""InvariantSpec validation, dict round trip, and the builder."""

from __future__ import annotations

import dataclasses
import json

import pytest

from nomotic_dsl.ir import InvariantBuilder, InvariantSpec
from nomotic_dsl.ir.spec import (
    EXTENSION_DEFAULTS,
    SEED_FIELDS,
    SPEC_FIELDS,
    parse_temporal_metric,
)
from nomotic_dsl.runtime.interpreter import CompiledInvariants


def spec(**changes: object) -> InvariantSpec:
    base = InvariantSpec(
        invariant_id="w",
        type="ratio",
        description="",
        metric="write_to_read",
        operator="lt",
        threshold=0.3,
        window=100,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_fields_are_the_seeds_in_order_then_the_optional_ones() -> None:
    assert SEED_FIELDS == (
        "invariant_id",
        "type",
        "description",
        "metric",
        "operator",
        "threshold",
        "threshold_upper",
        "window",
        "window_seconds",
    )
    assert SPEC_FIELDS[:9] == SEED_FIELDS
    assert SPEC_FIELDS[9:] == tuple(EXTENSION_DEFAULTS)
    assert EXTENSION_DEFAULTS == {"min_actions": None, "per_session": False}


def test_a_seed_expressible_spec_has_exactly_the_seeds_nine_keys() -> None:
    assert list(spec().to_dict()) == list(SEED_FIELDS)
    assert list(spec(min_actions=None).to_dict()) == list(SEED_FIELDS)


def test_optional_fields_appear_only_when_set_and_round_trip() -> None:
    warm = spec(window=100, min_actions=100)
    data = warm.to_dict()
    assert list(data) == [*SEED_FIELDS, "min_actions"]
    assert data["min_actions"] == 100
    assert InvariantSpec.from_dict(data) == warm
    assert InvariantSpec.from_dict(json.loads(json.dumps(data))) == warm


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"min_actions": 0}, "min_actions: 0 must be a whole number of actions, at least 1"),
        ({"min_actions": 2.0}, "min_actions: 2.0 must be a whole number of actions"),
        ({"min_actions": True}, "min_actions: True must be a whole number of actions"),
        (
            {"window": 10, "min_actions": 11},
            "min_actions: 11 is more than the window of 10 actions can hold",
        ),
    ],
)
def test_min_actions_problems_name_the_field(fields: dict[str, object], message: str) -> None:
    [problem] = spec(**fields).problems()
    assert str(problem).startswith(message)
    assert problem.path == "min_actions"


def test_spec_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec().threshold = 1.0  # type: ignore[misc]


def test_valid_spec_has_no_problems() -> None:
    assert spec().validate() == []


@pytest.mark.parametrize(
    ("changes", "path", "message"),
    [
        ({"invariant_id": ""}, "invariant_id", "non-empty"),
        ({"type": "ratios"}, "type", "'ratios'"),
        ({"operator": "ne"}, "operator", "'ne'"),
        ({"threshold": float("nan")}, "threshold", "finite"),
        ({"threshold": float("inf")}, "threshold", "finite"),
        ({"metric": "write-read"}, "metric", "X_to_Y"),
        ({"metric": "a_to_b_to_c"}, "metric", "X_to_Y"),
        ({"type": "drift", "metric": "actions"}, "metric", "drift metric 'actions'"),
        ({"type": "distribution", "metric": "target_min"}, "metric", "distribution metric"),
        ({"type": "count", "metric": "distinct_sessions"}, "metric", "count metric"),
        ({"type": "rate", "metric": "burstiness"}, "metric", "rate metric"),
        ({"type": "temporal", "metric": "8-25"}, "metric", "0..24"),
        ({"type": "temporal", "metric": "8-8"}, "metric", "no hour"),
        ({"type": "temporal", "metric": "8to18"}, "metric", "start-end"),
        ({"type": "temporal", "metric": "8-18@Mars/Olympus"}, "metric", "unknown time zone"),
        ({"operator": "between"}, "threshold_upper", "needs an upper bound"),
        ({"operator": "between", "threshold_upper": 0.3}, "threshold_upper", "greater than"),
        ({"operator": "between", "threshold_upper": 0.1}, "threshold_upper", "greater than"),
        ({"threshold_upper": 0.5}, "threshold_upper", "only used with 'between'"),
        ({"window": 0}, "window", "0 must be"),
        ({"window": -3}, "window", "-3 must be"),
        ({"window": 2.5}, "window", "whole number"),
        ({"window": True}, "window", "whole number"),
        ({"window": None, "window_seconds": 0.0}, "window_seconds", "positive"),
        ({"window": None, "window_seconds": -1.0}, "window_seconds", "positive"),
        ({"window_seconds": 60.0}, "window_seconds", "at most one"),
    ],
)
def test_each_rule_is_reported_with_its_field(
    changes: dict[str, object], path: str, message: str
) -> None:
    bad = spec(**changes)
    problems = bad.problems()
    assert any(p.path == path and message in p.message for p in problems), problems
    assert bad.validate() == [str(p) for p in problems]


def test_every_problem_is_reported_at_once() -> None:
    bad = spec(invariant_id="", operator="between", window=0, window_seconds=-1.0)
    assert len(bad.validate()) == 5


def test_temporal_metric_parses_zone_and_wrap() -> None:
    hours = parse_temporal_metric("22-6@Europe/Berlin")
    assert (hours.start, hours.end, hours.zone) == (22, 6, "Europe/Berlin")
    assert hours.allows(23) and hours.allows(0) and hours.allows(5)
    assert not hours.allows(6) and not hours.allows(21)


def test_dict_round_trip_is_exact() -> None:
    original = spec(operator="between", threshold=0.1, threshold_upper=0.4)
    data = original.to_dict()
    assert list(data) == list(SEED_FIELDS)
    assert InvariantSpec.from_dict(data) == original
    assert InvariantSpec.from_dict(data).to_dict() == data


def test_from_dict_refuses_unknown_and_missing_keys() -> None:
    data = spec().to_dict()
    with pytest.raises(ValueError, match=r"unknown invariant spec key.*windw"):
        InvariantSpec.from_dict({**data, "windw": 5})
    del data["metric"]
    with pytest.raises(ValueError, match="missing metric"):
        InvariantSpec.from_dict(data)


def test_from_dict_makes_integer_thresholds_float() -> None:
    data = {**spec().to_dict(), "threshold": 5}
    assert InvariantSpec.from_dict(data).threshold == 5.0
    assert isinstance(InvariantSpec.from_dict(data).threshold, float)


def test_compile_names_every_invalid_spec() -> None:
    with pytest.raises(ValueError) as info:
        CompiledInvariants.compile(
            [
                spec(invariant_id="a"),
                spec(invariant_id="b", window=0),
                {"invariant_id": "c", "type": "ratio"},
                spec(invariant_id="a"),
            ]
        )
    lines = str(info.value).splitlines()[1:]
    assert any(line.strip().startswith("specs[1].window:") and "'b'" in line for line in lines)
    assert any(line.strip().startswith("specs[2]:") and "missing" in line for line in lines)
    assert any(
        line.strip().startswith("specs[3].invariant_id: duplicate") and "'a'" in line
        for line in lines
    )


def test_compile_accepts_dicts_and_objects() -> None:
    compiled = CompiledInvariants.compile(
        [spec(invariant_id="a"), spec(invariant_id="b").to_dict()]
    )
    assert [s.invariant_id for s in compiled.specs] == ["a", "b"]


class TestBuilder:
    def test_all_types_operators_and_windows(self) -> None:
        built = [
            InvariantBuilder().ratio("write", "read").lt(0.3).window(100).build(),
            InvariantBuilder().distribution("target_max").lte(0.6).build(),
            InvariantBuilder().drift("overall").between(0.05, 0.3).build(),
            InvariantBuilder().semantic("research").gt(0.85).window(10).build(),
            InvariantBuilder().temporal(8, 18, "America/New_York").eq(0).build(),
            InvariantBuilder().rate().lte(0.5).window_seconds(60).build(),
            InvariantBuilder().count("distinct_actions").gte(2).window_seconds(900).build(),
        ]
        assert [b.type for b in built] == [
            "ratio",
            "distribution",
            "drift",
            "semantic",
            "temporal",
            "rate",
            "count",
        ]
        assert built[0].metric == "write_to_read" and built[0].window == 100
        assert built[2].threshold_upper == 0.3
        assert built[4].metric == "8-18@America/New_York"
        assert built[5].window_seconds == 60.0
        assert all(b.validate() == [] for b in built)

    def test_generated_ids_are_stable_and_distinct(self) -> None:
        def make() -> InvariantSpec:
            return InvariantBuilder().ratio("write", "read").lt(0.3).window(100).build()

        assert make().invariant_id == make().invariant_id
        other = InvariantBuilder().ratio("write", "read").lt(0.3).window(101).build()
        assert other.invariant_id != make().invariant_id
        assert make().invariant_id.startswith("inv-")

    def test_given_id_and_description_are_kept(self) -> None:
        built = (
            InvariantBuilder("few-writes").ratio("write", "read").lt(0.3).description("d").build()
        )
        assert (built.invariant_id, built.description) == ("few-writes", "d")

    def test_description_is_generated_from_the_rule(self) -> None:
        built = InvariantBuilder().ratio("write", "read").lt(0.3).window(100).build()
        assert (
            built.description == "Write-to-read ratio must stay below 0.3 over the last 100 actions"
        )

    def test_incomplete_or_invalid_builds_are_refused(self) -> None:
        with pytest.raises(ValueError, match="operator"):
            InvariantBuilder().drift("action").build()
        with pytest.raises(ValueError, match="greater than"):
            InvariantBuilder().drift("action").between(0.5, 0.2).build()

    def test_later_window_replaces_earlier(self) -> None:
        built = InvariantBuilder().rate().lt(1).window(10).window_seconds(5).build()
        assert (built.window, built.window_seconds) == (None, 5.0)


def test_the_builder_sets_the_optional_fields() -> None:
    spec = (
        InvariantBuilder("g").rate_growth().lte(2).window_seconds(3600).min_actions(5).per_session()
    ).build()
    assert (spec.metric, spec.min_actions, spec.per_session) == ("action_frequency_growth", 5, True)
    assert spec.description == (
        "Growth of the action rate (actions in the window against the window before) must stay "
        "at or below 2 over the last 1 hour of the current session (measured from 5 actions on)"
    )
    every = InvariantBuilder().every_term().gte(0.85).build()
    assert every.metric == "*" and list(every.to_dict())[-1] == "window_seconds"
