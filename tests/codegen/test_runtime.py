"""The runtime API: its exported names are pinned, and its window structures are exact."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import nomotic_dsl.runtime as runtime
from nomotic_dsl.runtime import HourRule, KeyCounts, ScaledSum, scaled
from nomotic_dsl.runtime.interpreter.measure import exact_mean
from tests.conftest import GoldenCheck

GOLDEN = Path(__file__).parent / "golden" / "runtime_exported.txt"


def test_exported_names_are_pinned(golden: GoldenCheck) -> None:
    text = "".join(f"{name}\n" for name in runtime.EXPORTED)
    golden(text, GOLDEN)
    assert all(hasattr(runtime, name) for name in runtime.EXPORTED)
    assert list(runtime.EXPORTED) == runtime.__all__


updates = st.lists(st.tuples(st.booleans(), st.sampled_from("abcd")), max_size=200)


@settings(max_examples=300, deadline=None)
@given(updates)
def test_key_counts_match_a_recount(steps: list[tuple[bool, str]]) -> None:
    counts, model = KeyCounts(), Counter[str]()
    for add, name in steps:
        if add or not model[name]:
            counts.add(name)
            model[name] += 1
        else:
            counts.remove(name)
            model[name] -= 1
        live = +model
        assert counts.distinct == len(live)
        assert counts.max_count == max(live.values(), default=0)
        assert all(counts.get(key) == live[key] for key in "abcd")
    bulk = KeyCounts.of(model.elements())
    assert (bulk.distinct, bulk.max_count) == (counts.distinct, counts.max_count)


finite = st.floats(0.0, 1.0) | st.sampled_from((5e-324, 1e-300, 1 / 3, 0.1, 1.0))


@settings(max_examples=300, deadline=None)
@given(st.lists(finite, min_size=1, max_size=30), st.integers(0, 29))
def test_scaled_sum_mean_is_exact_in_any_order(values: list[float], drop: int) -> None:
    exact = ScaledSum()
    for value in values:
        exact.add(value)
    assert exact.mean() == exact_mean(values) == ScaledSum.of(reversed(values)).mean()
    if len(values) > 1:
        exact.remove(values[drop % len(values)])
        rest = values[: drop % len(values)] + values[drop % len(values) + 1 :]
        assert exact.mean() == exact_mean(rest)
    assert all(Fraction(scaled(v), 2**runtime.SCALE_BITS) == Fraction(v) for v in values)


def test_hour_rule_reads_local_hours_across_a_dst_change() -> None:
    rule = HourRule(range(8, 18), "America/New_York")
    # 2024-03-10 12:30 UTC is 08:30 EDT (inside); one day earlier it was 07:30 EST (outside).
    assert not rule.outside(1_710_073_800.0)
    assert rule.outside(1_710_073_800.0 - 86_400)
    assert HourRule(range(8, 18), None).outside(1_710_073_800.0 - 86_400 - 5 * 3600)


ODD_ZONES = (
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Africa/Monrovia",
    "America/St_Johns",
    "UTC",
)
# Instants near zone changes: US/UK DST 2024, Lord Howe's 30-minute DST, Monrovia's 1972 change.
EDGES = (1_710_054_000, 1_730_595_600, 1_711_812_600, 1_729_999_000, 63_072_000, 63_115_200)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(ODD_ZONES),
    st.sampled_from(EDGES),
    st.integers(-7200, 7200) | st.integers(-(10**8), 10**8),
    st.floats(0.0, 0.999),
)
def test_hour_rule_reads_the_local_hour(zone: str, edge: int, shift: int, fraction: float) -> None:
    from nomotic_dsl.ir.spec import load_zone
    from nomotic_dsl.runtime.interpreter.measure import local_hour

    timestamp = max(0.0, edge + shift + fraction)
    hour = local_hour(timestamp, load_zone(zone))
    only_that_hour, only_the_next = HourRule({hour}, zone), HourRule({(hour + 1) % 24}, zone)
    for _ in range(2):  # the first read fills the bucket cache, the second reads it
        assert not only_that_hour.outside(timestamp)
        assert only_the_next.outside(timestamp)


@settings(max_examples=300, deadline=None)
@given(st.lists(finite, max_size=40))
def test_bulk_scaled_sum_equals_value_by_value(values: list[float]) -> None:
    bulk = ScaledSum.of(values)
    assert (bulk.total, bulk.count) == (sum(map(scaled, values)), len(values))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(ODD_ZONES),
    st.sampled_from(EDGES),
    st.integers(0, 23),
    st.integers(0, 24),
    st.lists(st.sampled_from((0.0, 0.4, 1.0, 59.0, 600.0, 899.6, 3_600.0, 86_400.0)), max_size=60),
)
def test_count_outside_equals_counting_local_hours(
    zone: str, edge: int, start: int, end: int, steps: list[float]
) -> None:
    from nomotic_dsl.ir.spec import load_zone
    from nomotic_dsl.runtime.interpreter.measure import local_hour
    from nomotic_dsl.runtime.interpreter.state import Observation

    allowed = {
        hour
        for hour in range(24)
        if (start <= hour < end) or (start > end and (hour >= start or hour < end))
    }
    timestamps, moment = [], float(edge - 7_200)
    for step in steps:
        moment += step
        timestamps.append(moment)
    actions = [Observation(t, "read", "kb") for t in timestamps]
    expected = sum(local_hour(t, load_zone(zone)) not in allowed for t in timestamps)
    rule = HourRule(allowed, zone)
    assert rule.count_outside(actions) == expected
    assert sum(rule.outside(t) for t in timestamps) == expected


term_updates = st.lists(
    st.tuples(st.booleans(), st.dictionaries(st.sampled_from("xyz"), finite, max_size=3)),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(term_updates)
def test_term_fidelities_match_a_recount(steps: list[tuple[bool, dict[str, float]]]) -> None:
    from nomotic_dsl.runtime import TermFidelities
    from nomotic_dsl.runtime.interpreter.state import Observation

    fidelities, live = TermFidelities(), []
    for add, semantic in steps:
        if add or not live:
            fidelities.add(semantic)
            live.append(semantic)
        else:
            fidelities.remove(live.pop(0))
        by_term: dict[str, list[float]] = {}
        for item in live:
            for term, value in item.items():
                by_term.setdefault(term, []).append(value)
        expected = min(((exact_mean(v), t) for t, v in by_term.items()), default=None)
        assert fidelities.lowest() == expected
        bulk = TermFidelities.of([Observation(0.0, "a", "b", semantic=item) for item in live])
        assert bulk.lowest() == expected and bulk.export() == fidelities.export()
