"""Sliding-window aggregates for generated evaluators and streaming monitors.

Input: observations (oldest first) added to and removed from a window; output:
counts, distinct counts, largest counts, outside-hours tests and exact sums,
each updated in O(1) per observation so a monitor's cost does not grow with
its window. Snapshot evaluation builds the same structures in bulk (``of``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from operator import attrgetter

from nomotic_dsl.invariants.measure import local_hour
from nomotic_dsl.invariants.spec import load_zone
from nomotic_dsl.invariants.state import Observation

# Every finite float is p / 2**k with k <= 1074, so scaling by 2**1074 makes
# each value an exact integer and sums exact whatever the order of updates.
SCALE_BITS = 1074

_TIMESTAMP = attrgetter("timestamp")


class KeyCounts:
    """A multiset of names: count per name, distinct names, and the largest count.

    The largest count is kept exact under +1/-1 updates by counting how many
    names have each count (count-of-counts buckets): a removal can lower the
    maximum by at most one, exactly when the top bucket empties.
    """

    __slots__ = ("_buckets", "_counts", "max_count")

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._buckets: dict[int, int] = {}
        self.max_count = 0

    @classmethod
    def of(cls, names: Iterable[str]) -> KeyCounts:
        """The counts of ``names``, built in bulk."""
        counts = cls()
        counts._counts = dict(Counter(names))
        counts._buckets = dict(Counter(counts._counts.values()))
        counts.max_count = max(counts._buckets, default=0)
        return counts

    @property
    def distinct(self) -> int:
        """How many names have a non-zero count."""
        return len(self._counts)

    def get(self, name: str) -> int:
        """The count of ``name`` (0 when absent)."""
        return self._counts.get(name, 0)

    def add(self, name: str) -> None:
        """Count one more ``name``."""
        count = self._counts.get(name, 0) + 1
        self._counts[name] = count
        buckets = self._buckets
        if count > 1:
            self._drop_bucket(count - 1)
        buckets[count] = buckets.get(count, 0) + 1
        if count > self.max_count:
            self.max_count = count

    def remove(self, name: str) -> None:
        """Count one fewer ``name``; it must have been added."""
        count = self._counts[name]
        if self._drop_bucket(count) and count == self.max_count:
            self.max_count = count - 1
        if count == 1:
            del self._counts[name]
            return
        self._counts[name] = count - 1
        self._buckets[count - 1] = self._buckets.get(count - 1, 0) + 1

    def _drop_bucket(self, count: int) -> bool:
        """One name fewer has ``count``; True when no name has it any more."""
        left = self._buckets[count] - 1
        if left:
            self._buckets[count] = left
            return False
        del self._buckets[count]
        return True


def scaled(value: float) -> int:
    """``value * 2**1074`` as an exact integer."""
    numerator, denominator = value.as_integer_ratio()
    return numerator << (SCALE_BITS - denominator.bit_length() + 1)


class ScaledSum:
    """An exact running sum of floats and their count, for exact means.

    ``mean()`` divides two integers, which Python rounds correctly, so it
    equals ``exact_mean`` of the same values in any order of additions and
    removals.
    """

    __slots__ = ("count", "total")

    def __init__(self) -> None:
        self.total = 0
        self.count = 0

    @classmethod
    def of(cls, values: Iterable[float]) -> ScaledSum:
        """The sum of ``values``, built in bulk."""
        exact = cls()
        for value in values:
            exact.total += scaled(value)
            exact.count += 1
        return exact

    def add(self, value: float) -> None:
        """Include ``value``."""
        self.total += scaled(value)
        self.count += 1

    def remove(self, value: float) -> None:
        """Exclude a value that was included."""
        self.total -= scaled(value)
        self.count -= 1

    def mean(self) -> float:
        """The exact mean, rounded once; the sum must not be empty."""
        return self.total / (self.count << SCALE_BITS)


class HourRule:
    """Allowed hours of a temporal invariant, with its time zone loaded once."""

    __slots__ = ("_inside", "_zone")

    def __init__(self, allowed: Iterable[int], zone: str | None) -> None:
        hours = frozenset(allowed)
        self._inside = tuple(hour in hours for hour in range(24))
        self._zone = load_zone(zone) if zone is not None else None

    def outside(self, timestamp: float) -> bool:
        """True when an action at ``timestamp`` falls outside the allowed hours."""
        return not self._inside[local_hour(timestamp, self._zone)]

    def count_outside(self, actions: Sequence[Observation]) -> int:
        """How many of ``actions`` fall outside the allowed hours."""
        inside, zone = self._inside, self._zone
        return sum(1 for action in actions if not inside[local_hour(action.timestamp, zone)])


def time_window(
    actions: Sequence[Observation], now: float | None, seconds: float
) -> Sequence[Observation]:
    """The actions in ``(now - seconds, now]``; actions are oldest first, so they are a slice."""
    if now is None:
        return ()
    start = now - seconds
    low = bisect_right(actions, start, key=_TIMESTAMP)
    high = bisect_right(actions, now, lo=low, key=_TIMESTAMP)
    return actions[low:high]


def term_values(actions: Sequence[Observation], term: str) -> list[float]:
    """The fidelities of ``term`` recorded on ``actions``, oldest first."""
    return [action.semantic[term] for action in actions if term in action.semantic]
