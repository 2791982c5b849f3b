"""The virtual clock (zones, daylight saving, forward only) and generated observations."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nomotic_dsl.policytest.clock import (
    load_zone,
    parse_clock,
    parse_moment,
    parse_point_time,
)
from nomotic_dsl.policytest.generate import Names, clock_after, observations
from nomotic_dsl.policytest.model import Choice, Observe, Where

NEW_YORK = load_zone("America/New_York")
UTC = load_zone(None)


def test_local_times_follow_the_zone_and_its_daylight_saving() -> None:
    # 09:00 in New York is 14:00 UTC in winter (EST) and 13:00 UTC in summer (EDT).
    assert parse_moment("2024-01-08 09:00", NEW_YORK) == parse_moment("2024-01-08 14:00", UTC)
    assert parse_moment("2024-04-08 09:00", NEW_YORK) == parse_moment("2024-04-08T13:00:00Z", UTC)
    assert parse_moment("2024-04-08 09:00:30.5", UTC) == 1712566830.5
    assert parse_moment("2024-04-08 11:00+02:00", NEW_YORK) == parse_moment("2024-04-08 09:00", UTC)


def test_a_skipped_local_time_is_refused_and_a_repeated_one_is_the_first() -> None:
    with pytest.raises(ValueError, match="does not exist in America/New_York"):
        parse_moment("2024-03-10 02:30", NEW_YORK)
    first = parse_moment("2024-11-03 01:30", NEW_YORK)  # clocks go back at 02:00 EDT
    assert first == parse_moment("2024-11-03 05:30", UTC)


def test_the_clock_moves_forward_only_and_keeps_its_day() -> None:
    now = parse_moment("2024-04-08 09:00", NEW_YORK)
    assert parse_clock("13:30", now, NEW_YORK) == now + 4.5 * 3600
    assert parse_clock("09:00", now, NEW_YORK) == now
    with pytest.raises(ValueError, match="only moves forward"):
        parse_clock("08:59", now, NEW_YORK)
    with pytest.raises(ValueError, match="not a time of day"):
        parse_clock("25:00", now, NEW_YORK)
    assert parse_clock("2024-04-09 08:00", now, NEW_YORK) == now + 23 * 3600


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01 09:00", "2024-04-08", "9h"])
def test_bad_times_say_what_to_write(text: str) -> None:
    with pytest.raises(ValueError, match="2024"):
        parse_moment(text, UTC)


def test_points_in_time_need_a_day() -> None:
    with pytest.raises(ValueError, match="needs a day"):
        parse_point_time("13:30", None, UTC)
    assert parse_point_time("2024-04-08 13:30", None, UTC) == parse_moment("2024-04-08 13:30", UTC)


def test_unknown_zone() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        load_zone("Mars/Olympus")


def _step(count: int, actions: tuple[Choice, ...], every: float | None = None) -> Observe:
    return Observe(Where("t", 1, 1), "observe", count, actions, (Choice("t"),), every)


def test_observations_are_spaced_from_the_clock_and_names_cycle() -> None:
    step = _step(5, (Choice("read"), Choice("reply")), every=30)
    made = list(observations(step, 1000.0, 1.0, "bot"))
    assert [item.timestamp for item in made] == [1000, 1030, 1060, 1090, 1120]
    assert [item.item.observation.action_type for item in made] == [
        "read",
        "reply",
        "read",
        "reply",
        "read",
    ]
    assert {item.item.agent_id for item in made} == {"bot"}
    assert clock_after(step, 1000.0, 1.0) == 1150
    assert clock_after(_step(3, (Choice("read"),)), 0.0, 2.0) == 6.0


@given(
    st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=5),
    st.integers(min_value=1, max_value=300),
)
def test_shares_are_kept_after_every_prefix(parts: list[int], length: int) -> None:
    total = sum(parts)
    choices = tuple(Choice(f"a{index}", part / total) for index, part in enumerate(parts))
    names = Names(choices)
    counts: Counter[str] = Counter()
    for made in range(1, length + 1):
        name = names.next()
        assert name is not None
        counts[name] += 1
        for choice in choices:
            assert abs(counts[choice.name] - made * (choice.weight or 0)) < len(choices)
