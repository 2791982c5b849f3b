"""The incremental drift window scores bit for bit what ``window_drift`` computes from scratch."""

from __future__ import annotations

import struct
from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st

from nomotic_dsl.ir.prior import ActiveHours
from nomotic_dsl.ir.spec import load_zone
from nomotic_dsl.runtime.fleet.drift import DriftWindow
from nomotic_dsl.runtime.fleet.policy import DriftBaseline
from nomotic_dsl.runtime.governance.drift import DEFAULT_DRIFT_WEIGHTS, window_drift
from nomotic_dsl.runtime.interpreter import Observation

NAMES = ("read", "reply", "escalate", "close", "delete", "x", "y")
START = 1_712_577_600.0
# A contract's expected shares are empty or sum to 1, so some share is positive; zeros may occur.
shares = st.dictionaries(
    st.sampled_from(NAMES), st.sampled_from([0.0, 0.05, 0.1, 0.25, 1 / 3, 0.5, 1.0]), max_size=5
).filter(lambda found: not found or any(found.values()))


def _bits(scores: dict[str, float]) -> dict[str, bytes]:
    return {name: struct.pack("<d", value) for name, value in scores.items()}


@st.composite
def baselines(draw: st.DrawFn) -> DriftBaseline:
    expected = {
        kind: MappingProxyType(draw(shares))
        for kind in ("action", "target", "outcome")
        if draw(st.booleans())
    }
    hours = None
    if draw(st.booleans()):
        zone = draw(st.sampled_from([None, "America/New_York", "Asia/Kathmandu"]))
        start, end = draw(st.integers(0, 23)), draw(st.integers(0, 24))
        hours = ActiveHours(start, end, zone)
    zone_info = load_zone(hours.zone) if hours is not None and hours.zone else None
    terms = frozenset(draw(st.sets(st.sampled_from(["refund", "billing"]), max_size=2)))
    return DriftBaseline(MappingProxyType(expected), hours, zone_info, terms)


@st.composite
def observations(draw: st.DrawFn) -> list[Observation]:
    clock = START
    out = []
    for _ in range(draw(st.integers(1, 80))):
        clock += draw(st.sampled_from([0.0, 1.0, 600.0, 3599.0, 7200.0]))
        semantic = draw(
            st.dictionaries(
                st.sampled_from(["refund", "billing", "other"]),
                st.sampled_from([0.0, 5e-324, 1e-9, 0.1, 0.5, 0.9, 1.0]),
                max_size=2,
            )
        )
        out.append(
            Observation(
                timestamp=clock,
                action_type=draw(st.sampled_from(NAMES[:5])),
                target=draw(st.sampled_from(NAMES[2:])),
                outcome=draw(st.sampled_from([None, "allow", "deny", "x"])),
                semantic=semantic,
            )
        )
    return out


@settings(max_examples=300, deadline=None)
@given(baselines(), observations(), st.integers(1, 12), st.integers(1, 4), st.integers(1, 5))
def test_every_score_equals_the_recomputation(
    baseline: DriftBaseline,
    stream: list[Observation],
    size: int,
    minimum: int,
    score_every: int,
) -> None:
    window = DriftWindow(baseline, size)
    for index, observation in enumerate(stream, start=1):
        window.push(observation)
        # Scoring only now and then (drift given by the caller in between) changes nothing.
        if index % score_every and index != len(stream):
            continue
        scores = window.scores(DEFAULT_DRIFT_WEIGHTS, minimum)
        if index < minimum:
            assert scores == {}
            continue
        expected = window_drift(
            stream[max(0, index - size) : index],
            baseline.expected,
            baseline.active_hours,
            DEFAULT_DRIFT_WEIGHTS,
            baseline.terms,
        )
        assert list(scores) == list(expected)
        assert _bits(scores) == _bits(expected)


def test_many_unscored_changes_are_forgotten_not_kept() -> None:
    baseline = DriftBaseline(
        MappingProxyType({"target": MappingProxyType({"a": 1.0})}), None, None, frozenset()
    )
    window = DriftWindow(baseline, 5)
    stream = [
        Observation(timestamp=START + i, action_type="read", target=f"t{i % 50}")
        for i in range(2_000)
    ]
    for observation in stream:
        window.push(observation)
    expected = window_drift(stream[-5:], baseline.expected)
    assert _bits(window.scores(DEFAULT_DRIFT_WEIGHTS, 1)) == _bits(expected)
