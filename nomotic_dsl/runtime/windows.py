"""Sliding-window aggregates for generated evaluators and streaming monitors.

Input: observations (oldest first) added to and removed from a window; output:
counts, distinct counts, largest counts, outside-hours tests and exact sums,
each updated in O(1) per observation so a monitor's cost does not grow with
its window. Snapshot evaluation builds the same structures in bulk (``of``).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from operator import attrgetter

from nomotic_dsl.invariants.measure import local_hour
from nomotic_dsl.invariants.spec import load_zone
from nomotic_dsl.invariants.state import Observation

# Every finite float is p / 2**k with k <= 1074, so scaling by 2**1074 makes
# each value an exact integer and sums exact whatever the order of updates.
SCALE_BITS = 1074

_TIMESTAMP = attrgetter("timestamp")
_BUCKET = 900
_MAX_BUCKETS = 1 << 16
_UNKNOWN = -(1 << 62)


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
        ratios = [value.as_integer_ratio() for value in values]
        exact.total = sum(p << (SCALE_BITS + 1 - q.bit_length()) for p, q in ratios)
        exact.count = len(ratios)
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
    """Allowed hours of a temporal invariant, with its time zone loaded once.

    Local hours are read through a cache of UTC offsets per 15-minute bucket
    of UTC time: when the offset is the same at both ends of a bucket and is
    a whole number of 15-minute steps, every second of the bucket has the same
    local hour arithmetic as ``local_hour`` (no zone changes offset twice within
    15 minutes). Other buckets, such as those holding a DST change, are read
    exactly with ``local_hour``.
    """

    __slots__ = ("_inside", "_offsets", "_zone")

    def __init__(self, allowed: Iterable[int], zone: str | None) -> None:
        hours = frozenset(allowed)
        self._inside = tuple(hour in hours for hour in range(24))
        self._zone = load_zone(zone) if zone is not None else None
        self._offsets: dict[int, int | None] = {}

    def hour(self, timestamp: float) -> int:
        """The local hour of ``timestamp``, equal to ``local_hour(timestamp, zone)``."""
        whole = math.floor(timestamp)
        if self._zone is None:
            return (whole // 3600) % 24
        bucket = whole // _BUCKET
        offset = self._offsets.get(bucket, _UNKNOWN)
        if offset == _UNKNOWN:
            offset = self._bucket_offset(bucket)
        if offset is None:
            return local_hour(whole, self._zone)
        return ((whole + offset) // 3600) % 24

    def _bucket_offset(self, bucket: int) -> int | None:
        """The UTC offset in seconds that holds for the whole bucket, else None."""
        if len(self._offsets) >= _MAX_BUCKETS:
            self._offsets.clear()
        first = datetime.fromtimestamp(bucket * _BUCKET, self._zone).utcoffset()
        last = datetime.fromtimestamp(bucket * _BUCKET + _BUCKET - 1, self._zone).utcoffset()
        offset = None
        if first is not None and first == last and first % timedelta(seconds=_BUCKET) == timedelta(0):
            offset = first // timedelta(seconds=1)
        self._offsets[bucket] = offset
        return offset

    def outside(self, timestamp: float) -> bool:
        """True when an action at ``timestamp`` falls outside the allowed hours."""
        return not self._inside[self.hour(timestamp)]

    def count_outside(self, actions: Sequence[Observation]) -> int:
        """How many of ``actions`` fall outside the allowed hours."""
        inside, hour = self._inside, self.hour
        return sum(1 for action in actions if not inside[hour(action.timestamp)])


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
