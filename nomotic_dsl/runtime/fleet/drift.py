"""Drift of one agent, kept up to date one observation at a time.

Input: an agent's observations, oldest first, and its contract's baseline.
Output: drift scores (distribution -> 0..1) after each observation, equal bit
for bit to ``governance.drift.window_drift`` of the agent's last
``drift_window`` actions. Stage: runtime, per observation.

The window keeps, per action, only what drift reads (action, target, outcome,
local hour, anchored fidelities) and running counts of each, so an
observation costs O(1) to add and to evict, and scoring costs one pass over
the names present (at most the window's size plus the contract's expected
names, and 24 hours). The mean fidelity is an exact sum (``ScaledSum``), so
adding and evicting never drifts from a recomputation.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Mapping
from typing import Any

from nomotic_dsl.runtime.fleet.policy import DriftBaseline
from nomotic_dsl.runtime.governance.drift import (
    active_hours_distribution,
    js_of_shares,
    normalise,
    overall_drift,
    semantic_fidelities,
    semantic_score,
)
from nomotic_dsl.runtime.interpreter.measure import local_hour
from nomotic_dsl.runtime.interpreter.state import Observation, StateError
from nomotic_dsl.runtime.windows import ScaledSum

# (action, target, outcome, local hour or None, anchored fidelities)
Entry = tuple[str, str, str | None, int | None, tuple[float, ...]]
DRIFT_STATE_FORMAT = "nomotic_dsl.drift_window"
DRIFT_STATE_VERSION = 1
_COUNTED = ("action", "target", "outcome")


class DriftWindow:
    """The last ``size`` actions of one agent, with the counts drift scores read."""

    __slots__ = (
        "_counts_by_kind",
        "_entries",
        "_expected",
        "_expected_hours",
        "_fidelity",
        "_hours",
        "baseline",
        "seen",
        "size",
    )

    def __init__(self, baseline: DriftBaseline, size: int) -> None:
        self.baseline = baseline
        self.size = size
        self.seen = 0
        self._entries: deque[Entry] = deque()
        self._hours: Counter[str] = Counter()
        self._fidelity = ScaledSum()
        # Normalised again, as js_divergence normalises both its arguments.
        self._expected_hours = (
            normalise(active_hours_distribution(baseline.active_hours))
            if baseline.active_hours is not None
            else None
        )
        # The expected shares, normalised once (what js_divergence would do on every call).
        self._expected = tuple(normalise(baseline.expected.get(name) or {}) for name in _COUNTED)
        # Counts per counted kind (action, target, outcome), in _COUNTED order.
        self._counts_by_kind: tuple[Counter[str], Counter[str], Counter[str]] = (
            Counter(),
            Counter(),
            Counter(),
        )

    def push(self, observation: Observation) -> None:
        """Take the agent's next action, evicting the oldest once the window is full."""
        hour = (
            local_hour(observation.timestamp, self.baseline.zone)
            if self._expected_hours is not None
            else None
        )
        entry: Entry = (
            observation.action_type,
            observation.target,
            observation.outcome,
            hour,
            semantic_fidelities(observation, self.baseline.terms),
        )
        self._add(entry)
        self.seen += 1
        if len(self._entries) > self.size:
            self._remove(self._entries.popleft())

    def _add(self, entry: Entry) -> None:
        self._entries.append(entry)
        actions, targets, outcomes = self._counts_by_kind
        actions[entry[0]] += 1
        targets[entry[1]] += 1
        if entry[2] is not None:
            outcomes[entry[2]] += 1
        if entry[3] is not None:
            self._hours[str(entry[3])] += 1
        for value in entry[4]:
            self._fidelity.add(value)

    def _remove(self, entry: Entry) -> None:
        actions, targets, outcomes = self._counts_by_kind
        _decrement(actions, entry[0])
        _decrement(targets, entry[1])
        if entry[2] is not None:
            _decrement(outcomes, entry[2])
        if entry[3] is not None:
            _decrement(self._hours, str(entry[3]))
        for value in entry[4]:
            self._fidelity.remove(value)

    def scores(self, weights: Mapping[str, float], min_observations: int) -> dict[str, float]:
        """The drift scores now; empty before ``min_observations`` actions were seen."""
        if self.seen < min_observations or not self._entries:
            return {}
        scores: dict[str, float] = {}
        for name, counts, expected in zip(
            _COUNTED, self._counts_by_kind, self._expected, strict=True
        ):
            if expected and counts:
                scores[name] = js_of_shares(normalise(counts), expected)
        if self._expected_hours is not None:
            scores["temporal"] = js_of_shares(normalise(self._hours), self._expected_hours)
        if self._fidelity.count:
            scores["semantic"] = semantic_score(self._fidelity.mean())
        overall = overall_drift(scores, weights)
        if overall is not None:
            scores["overall"] = overall
        return scores

    def export(self) -> dict[str, Any]:
        """The window as JSON-clean data: the actions it holds (what drift reads of each)."""
        return {
            "format": DRIFT_STATE_FORMAT,
            "version": DRIFT_STATE_VERSION,
            "size": self.size,
            "seen": self.seen,
            "entries": [
                [action, target, outcome, hour, list(values)]
                for action, target, outcome, hour, values in self._entries
            ],
        }

    @classmethod
    def restore(
        cls, data: Any, baseline: DriftBaseline, size: int, where: str = "drift"
    ) -> DriftWindow:
        """The window ``export`` described; StateError naming the field when it is not valid."""
        if not isinstance(data, Mapping) or set(data) != {
            "format",
            "version",
            "size",
            "seen",
            "entries",
        }:
            raise StateError(f"{where}: expected format, version, size, seen and entries")
        if data["format"] != DRIFT_STATE_FORMAT or data["version"] != DRIFT_STATE_VERSION:
            raise StateError(
                f"{where}: not a {DRIFT_STATE_FORMAT} version {DRIFT_STATE_VERSION} state"
            )
        if data["size"] != size:
            raise StateError(f"{where}.size: {data['size']!r} is not this runtime's {size}")
        entries = data["entries"]
        seen = data["seen"]
        if not isinstance(entries, list) or len(entries) > size:
            raise StateError(f"{where}.entries: expected a list of at most {size} actions")
        if (
            not _is_whole(seen)
            or seen < len(entries)
            or (len(entries) < size and seen != len(entries))
        ):
            raise StateError(f"{where}.seen: {seen!r} does not fit the {len(entries)} actions held")
        window = cls(baseline, size)
        for index, raw in enumerate(entries):
            window._add(
                _entry(raw, window._expected_hours is not None, f"{where}.entries[{index}]")
            )
        window.seen = seen
        return window


def _entry(raw: Any, has_hours: bool, where: str) -> Entry:
    if not isinstance(raw, list) or len(raw) != 5:
        raise StateError(f"{where}: expected [action, target, outcome, hour, fidelities]")
    action, target, outcome, hour, values = raw
    for name, value in (("action", action), ("target", target)):
        if not isinstance(value, str) or not value:
            raise StateError(f"{where}: {name} must be a non-empty string")
    if outcome is not None and (not isinstance(outcome, str) or not outcome):
        raise StateError(f"{where}: outcome must be a non-empty string or null")
    if has_hours:
        if not _is_whole(hour) or not 0 <= hour <= 23:
            raise StateError(f"{where}: hour must be a whole number 0..23")
    elif hour is not None:
        raise StateError(f"{where}: hour must be null (the archetype has no active hours)")
    if not isinstance(values, list) or not all(
        isinstance(value, float) and math.isfinite(value) and 0.0 <= value <= 1.0
        for value in values
    ):
        raise StateError(f"{where}: fidelities must be numbers within 0..1")
    return (action, target, outcome, hour, tuple(values))


def _decrement(counts: Counter[str], name: str) -> None:
    left = counts[name] - 1
    if left:
        counts[name] = left
    else:
        del counts[name]


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
