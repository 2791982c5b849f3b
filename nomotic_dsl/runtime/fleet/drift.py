"""Drift of one agent, kept up to date one observation at a time.

Input: an agent's observations, oldest first, and its contract's baseline.
Output: drift scores (distribution -> 0..1) after each observation, equal bit
for bit to ``governance.drift.window_drift`` of the agent's last
``drift_window`` actions. Stage: runtime, per observation.

The window keeps, per action, only what drift reads (action, target, outcome,
local hour, anchored fidelities) and running counts of each, so an
observation costs O(1) to add and to evict. Each divergence keeps its
Jensen-Shannon terms per name (``_Divergence``): while the number of counted
actions stays the same (a full window), scoring recomputes only the terms of
the names whose count changed, then sums every term with ``math.fsum``, which
rounds the exact sum once and so gives the same bits in any order: equal to
``js_of_shares`` over the whole window. The mean fidelity is an exact sum
(``ScaledSum``), so adding and evicting never drifts from a recomputation.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Mapping
from itertools import chain
from typing import Any

from nomotic_dsl.runtime.fleet.policy import DriftBaseline
from nomotic_dsl.runtime.governance.drift import (
    HOURS_PER_DAY,
    active_hours_distribution,
    normalise,
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
# Changes kept between two scores before every term is recomputed instead.
_CHANGED_LIMIT = 256
_HOUR_NAMES = tuple(str(hour) for hour in range(HOURS_PER_DAY))
_Weighing = tuple[Mapping[str, float], tuple[str, ...], tuple[str, ...], tuple[float, ...], float]


class _Divergence:
    """Running counts of names and their Jensen-Shannon divergence from fixed expected shares.

    ``score()`` equals ``js_of_shares(normalise(counts), expected)``: the same
    two terms per name of the union, summed exactly. The terms are kept per
    name with the count they were computed from, for the total they were
    computed at; a name whose count changed is recomputed, all of them when
    the total changed (or after ``forget``).
    """

    __slots__ = ("_changed", "_score", "_scored", "_terms", "_terms_total", "counts", "expected")

    def __init__(self, expected: Mapping[str, float]) -> None:
        self.expected = expected
        self.counts: Counter[str] = Counter()
        # name -> (term of the observed share, term of the expected share), and the count
        # each was computed from, for _terms_total names counted.
        self._terms: dict[str, tuple[float, float]] = {}
        self._scored: dict[str, int] = {}
        self._terms_total = 0
        self._changed: list[str] = []
        self._score = 0.0

    def add(self, name: str) -> None:
        self.counts[name] += 1
        self._changed.append(name)

    def remove(self, name: str) -> None:
        _decrement(self.counts, name)
        self._changed.append(name)

    def forget(self) -> None:
        """Drop the changes noted since the last score: the next one recomputes every term."""
        self._changed.clear()
        self._terms_total = 0

    def score(self, total: int) -> float | None:
        """The divergence of the ``total`` names counted; None when nothing is expected or counted."""
        changed = self._changed
        if not total or not self.expected:
            self.forget()
            return None
        if total != self._terms_total:
            self._rebuild(total)
        elif changed:
            counts, scored, terms = self.counts, self._scored, self._terms
            moved = False
            for name in changed:
                count = counts.get(name, 0)
                if scored.get(name, 0) == count:
                    continue
                moved = True
                if count or name in self.expected:
                    scored[name] = count
                    terms[name] = self._term(name, count, total)
                else:
                    del scored[name], terms[name]
            changed.clear()
            if moved:
                self._score = _js(terms)
        return self._score

    def _rebuild(self, total: int) -> None:
        counts = self.counts
        self._scored = {name: counts.get(name, 0) for name in counts.keys() | self.expected.keys()}
        self._terms = {name: self._term(name, count, total) for name, count in self._scored.items()}
        self._terms_total = total
        self._changed.clear()
        self._score = _js(self._terms)

    def _term(self, name: str, count: int, total: int) -> tuple[float, float]:
        # What js_of_shares computes for one name, from normalise's shares.
        pi = count / float(total) if count else 0.0
        qi = self.expected.get(name, 0.0)
        mi = (pi + qi) / 2
        return (
            0.0 if pi == 0.0 else pi * math.log2(pi / mi),
            0.0 if qi == 0.0 else qi * math.log2(qi / mi),
        )


def _js(terms: Mapping[str, tuple[float, float]]) -> float:
    # fsum rounds the exact sum once: the order of the terms cannot change a bit.
    return min(1.0, max(0.0, math.fsum(chain.from_iterable(terms.values())) / 2))


class DriftWindow:
    """The last ``size`` actions of one agent, with the counts drift scores read."""

    __slots__ = (
        "_divergences",
        "_entries",
        "_fidelity",
        "_hours",
        "_outcomes",
        "_overall",
        "_semantic",
        "_unscored",
        "baseline",
        "seen",
        "size",
    )

    def __init__(self, baseline: DriftBaseline, size: int) -> None:
        self.baseline = baseline
        self.size = size
        self.seen = 0
        self._entries: deque[Entry] = deque()
        self._fidelity = ScaledSum()
        # How many entries have an outcome; pushes since the last score.
        self._outcomes = 0
        self._unscored = 0
        # overall_drift's weights of the last names scored: (weights, score names, names
        # weighed, their weights, the weights' sum).
        self._overall: _Weighing | None = None
        # (exact total, count, semantic score) of the fidelities last scored.
        self._semantic: tuple[int, int, float] = (0, 0, 0.0)
        # Normalised again, as js_divergence normalises both its arguments.
        self._hours = (
            _Divergence(normalise(active_hours_distribution(baseline.active_hours)))
            if baseline.active_hours is not None
            else None
        )
        # Per counted kind (action, target, outcome), in _COUNTED order, against the
        # expected shares normalised once (what js_divergence would do on every call).
        self._divergences = tuple(
            _Divergence(normalise(baseline.expected.get(name) or {})) for name in _COUNTED
        )

    def push(self, observation: Observation) -> None:
        """Take the agent's next action, evicting the oldest once the window is full."""
        hour = (
            local_hour(observation.timestamp, self.baseline.zone)
            if self._hours is not None
            else None
        )
        entry: Entry = (
            observation.action_type,
            observation.target,
            observation.outcome,
            hour,
            semantic_fidelities(observation, self.baseline.terms) if observation.semantic else (),
        )
        entries = self._entries
        self.seen += 1
        if len(entries) < self.size:
            self._add(entry)
        else:  # full: the oldest makes way, and only what differs between the two moves
            self._replace(entries.popleft(), entry)
            entries.append(entry)
        self._unscored += 1
        if self._unscored >= _CHANGED_LIMIT:
            self._forget_changes()

    def _forget_changes(self) -> None:
        # Many pushes unscored (drift given by the caller, a restore): recompute all terms.
        for divergence in self._divergences:
            divergence.forget()
        if self._hours is not None:
            self._hours.forget()
        self._unscored = 0

    def _add(self, entry: Entry) -> None:
        self._entries.append(entry)
        actions, targets, outcomes = self._divergences
        actions.add(entry[0])
        targets.add(entry[1])
        if entry[2] is not None:
            outcomes.add(entry[2])
            self._outcomes += 1
        if entry[3] is not None and self._hours is not None:
            self._hours.add(_HOUR_NAMES[entry[3]])
        for value in entry[4]:
            self._fidelity.add(value)

    def _replace(self, old: Entry, new: Entry) -> None:
        """``_remove(old)`` then ``_add(new)`` (without the entries deque), skipping equal parts.

        An action, target, outcome or hour the two share leaves its counts as
        they are (one added, one removed), so it is not touched and its
        divergence has nothing to recompute.
        """
        actions, targets, outcomes = self._divergences
        if old[0] != new[0]:
            actions.remove(old[0])
            actions.add(new[0])
        if old[1] != new[1]:
            targets.remove(old[1])
            targets.add(new[1])
        if old[2] != new[2]:
            if old[2] is not None:
                outcomes.remove(old[2])
                self._outcomes -= 1
            if new[2] is not None:
                outcomes.add(new[2])
                self._outcomes += 1
        hours = self._hours
        if hours is not None and old[3] != new[3]:
            hours.remove(_HOUR_NAMES[old[3]])  # type: ignore[index]
            hours.add(_HOUR_NAMES[new[3]])  # type: ignore[index]
        if old[4] != new[4]:
            fidelity = self._fidelity
            for value in old[4]:
                fidelity.remove(value)
            for value in new[4]:
                fidelity.add(value)

    def _remove(self, entry: Entry) -> None:
        actions, targets, outcomes = self._divergences
        actions.remove(entry[0])
        targets.remove(entry[1])
        if entry[2] is not None:
            outcomes.remove(entry[2])
            self._outcomes -= 1
        if entry[3] is not None and self._hours is not None:
            self._hours.remove(_HOUR_NAMES[entry[3]])
        for value in entry[4]:
            self._fidelity.remove(value)

    def scores(self, weights: Mapping[str, float], min_observations: int) -> dict[str, float]:
        """The drift scores now; empty before ``min_observations`` actions were seen."""
        if self.seen < min_observations or not self._entries:
            return {}
        self._unscored = 0
        size = len(self._entries)
        actions, targets, outcomes = self._divergences
        scores: dict[str, float] = {}
        for name, score in (
            ("action", actions.score(size)),
            ("target", targets.score(size)),
            ("outcome", outcomes.score(self._outcomes)),
            ("temporal", None if self._hours is None else self._hours.score(size)),
        ):
            if score is not None:
                scores[name] = score
        fidelity = self._fidelity
        if fidelity.count:
            held = self._semantic
            if held[0] != fidelity.total or held[1] != fidelity.count:  # the sum moved
                held = self._semantic = (
                    fidelity.total,
                    fidelity.count,
                    semantic_score(fidelity.mean()),
                )
            scores["semantic"] = held[2]
        overall = self._overall_drift(scores, weights)
        if overall is not None:
            scores["overall"] = overall
        return scores

    def _overall_drift(
        self, scores: dict[str, float], weights: Mapping[str, float]
    ) -> float | None:
        """``overall_drift(scores, weights)``, the weights of the same names taken once."""
        names = tuple(scores)
        held = self._overall
        if held is None or held[0] is not weights or held[1] != names:
            used = {name: weights[name] for name in names if weights.get(name, 0.0) > 0}
            held = (weights, names, tuple(used), tuple(used.values()), math.fsum(used.values()))
            self._overall = held
        _weights, _names, weighed, values, total = held
        if total <= 0:
            return None
        products = [scores[name] * weight for name, weight in zip(weighed, values, strict=True)]
        return min(1.0, max(0.0, math.fsum(products) / total))

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
            window._add(_entry(raw, window._hours is not None, f"{where}.entries[{index}]"))
        window.seen = seen
        window._forget_changes()
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
