"""Sliding-window aggregates for generated evaluators and streaming monitors.

Input: observations (oldest first) added to and removed from a window; output:
counts, distinct counts, largest counts, outside-hours tests and exact sums,
each updated in O(1) per observation so a monitor's cost does not grow with
its window. Snapshot evaluation builds the same structures in bulk (``of``).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from nomotic_dsl.ir.spec import load_zone
from nomotic_dsl.runtime.interpreter.detail import (
    BASIS_NO_BASELINE,
    BASIS_WINDOW,
    empty_before_note,
    growth_note,
    short_history_note,
)
from nomotic_dsl.runtime.interpreter.measure import local_hour
from nomotic_dsl.runtime.interpreter.state import Observation

# Every finite float is p / 2**k with k <= 1074, so scaling by 2**1074 makes
# each value an exact integer and sums exact whatever the order of updates.
SCALE_BITS = 1074

_TIMESTAMP = attrgetter("timestamp")
_BUCKET = 900
# Largest power of two ScaledSum.of scales by in floats (2**1000 stays finite).
_FAST_SHIFT_LIMIT = 1000
_MAX_BUCKETS = 1 << 16


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

    def export(self) -> dict[str, int]:
        """The counts as a JSON-clean dict, sorted by name (for monitor state)."""
        return {name: self._counts[name] for name in sorted(self._counts)}

    @classmethod
    def restore(cls, counts: Mapping[str, int]) -> KeyCounts:
        """Counts from ``export()``; the caller has checked names and positive counts."""
        restored = cls()
        restored._counts = dict(counts)
        restored._buckets = dict(Counter(restored._counts.values()))
        restored.max_count = max(restored._buckets, default=0)
        return restored

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
        """The sum of ``values`` (each in 0..1), built in bulk."""
        exact = cls()
        items = values if isinstance(values, list) else list(values)
        exact.count = len(items)
        smallest = min(filter(None, items), default=0.0)
        if smallest == 0.0:
            return exact
        # Every value v >= smallest is a multiple of 2**(e - 53), e the exponent
        # of ``smallest``, so v * 2**shift is an integer-valued float, computed
        # without rounding; summing those ints in C is exact and fast.
        shift = 53 - math.frexp(smallest)[1]
        if shift <= _FAST_SHIFT_LIMIT:
            factor = math.ldexp(1.0, shift)
            exact.total = sum(map(int, map(factor.__mul__, items))) << (SCALE_BITS - shift)
        else:  # subnormal values: convert one by one
            exact.total = sum(map(scaled, items))
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

    def export(self) -> dict[str, Any]:
        """``{"count", "total"}``, the exact total as lowercase hex (JSON numbers cannot hold it)."""
        return {"count": self.count, "total": format(self.total, "x")}

    @classmethod
    def restore(cls, count: int, total: int) -> ScaledSum:
        """A sum from its checked count and exact total."""
        restored = cls()
        restored.count = count
        restored.total = total
        return restored


class HourRule:
    """Allowed hours of a temporal invariant, with its time zone loaded once.

    Local hours are read through a cache per 15-minute bucket of UTC time:
    when the UTC offset is the same at both ends of a bucket and is a whole
    number of 15-minute steps, every second of the bucket falls in one and the
    same local hour (no zone changes offset twice within 15 minutes), so the
    bucket's verdict (inside or outside the allowed hours) is cached. Other
    buckets, such as those holding a DST change, are read exactly with
    ``local_hour`` every time.
    """

    __slots__ = ("_inside", "_outside_by_bucket", "_zone")

    def __init__(self, allowed: Iterable[int], zone: str | None) -> None:
        hours = frozenset(allowed)
        self._inside = tuple(hour in hours for hour in range(24))
        self._zone = load_zone(zone) if zone is not None else None
        # bucket -> 1 when the whole bucket is outside the allowed hours, else 0.
        self._outside_by_bucket: dict[int, int] = {}

    def _uniform_offset(self, bucket: int) -> int | None:
        """The UTC offset in seconds that holds for the whole bucket, else None."""
        if self._zone is None:
            return 0
        first = datetime.fromtimestamp(bucket * _BUCKET, self._zone).utcoffset()
        last = datetime.fromtimestamp(bucket * _BUCKET + _BUCKET - 1, self._zone).utcoffset()
        if (
            first is not None
            and first == last
            and first % timedelta(seconds=_BUCKET) == timedelta(0)
        ):
            return first // timedelta(seconds=1)
        return None

    def _outside_slow(self, whole: int) -> int:
        """Outside-ness of the whole second ``whole``, caching its bucket when uniform."""
        bucket = whole // _BUCKET
        offset = self._uniform_offset(bucket)
        if offset is None:
            return int(not self._inside[local_hour(whole, self._zone)])
        if len(self._outside_by_bucket) >= _MAX_BUCKETS:
            self._outside_by_bucket.clear()
        flag = int(not self._inside[((whole + offset) // 3600) % 24])
        self._outside_by_bucket[bucket] = flag
        return flag

    def outside(self, timestamp: float) -> bool:
        """True when an action at ``timestamp`` falls outside the allowed hours."""
        whole = math.floor(timestamp)
        flag = self._outside_by_bucket.get(whole // _BUCKET)
        return bool(self._outside_slow(whole) if flag is None else flag)

    def count_outside_times(self, timestamps: Sequence[float], lo: int, hi: int) -> int:
        """How many of ``timestamps[lo:hi]`` (oldest first) fall outside the allowed hours.

        Timestamps are sorted, so the run sharing a 15-minute bucket is found
        by bisection and counted at once: the work grows with the number of
        buckets the slice spans, not with its length.
        """
        floor, cached, count = math.floor, self._outside_by_bucket.get, 0
        start = lo
        while start < hi:
            whole = floor(timestamps[start])
            bucket = whole // _BUCKET
            stop = bisect_left(timestamps, (bucket + 1) * _BUCKET, start, hi)
            flag = cached(bucket)
            if flag is None:
                self._outside_slow(whole)  # caches the bucket's verdict when it is uniform
                flag = cached(bucket)
            if flag is None:  # the offset changes inside the bucket: read each second exactly
                count += sum(self.outside(timestamps[index]) for index in range(start, stop))
            else:
                count += flag * (stop - start)
            start = stop
        return count

    def count_outside(self, actions: Sequence[Observation]) -> int:
        """How many of ``actions`` (oldest first) fall outside the allowed hours.

        Actions are sorted, so the run of actions sharing a 15-minute bucket is
        found by bisection and counted at once: the work grows with the number
        of buckets the actions span, not with the number of actions.
        """
        floor, cached, count = math.floor, self._outside_by_bucket.get, 0
        start, end = 0, len(actions)
        while start < end:
            whole = floor(actions[start].timestamp)
            bucket = whole // _BUCKET
            stop = bisect_left(actions, (bucket + 1) * _BUCKET, lo=start, key=_TIMESTAMP)
            flag = cached(bucket)
            if flag is None:
                self._outside_slow(whole)  # caches the bucket's verdict when it is uniform
                flag = cached(bucket)
            if flag is None:  # the offset changes inside the bucket: read each second exactly
                count += sum(self.outside(action.timestamp) for action in actions[start:stop])
            else:
                count += flag * (stop - start)
            start = stop
        return count


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


def column_values(semantics: Sequence[Mapping[str, float]], term: str) -> list[float]:
    """The fidelities of ``term`` in a column of per-action fidelities, oldest first."""
    return [fidelities[term] for fidelities in semantics if term in fidelities]


class TermFidelities:
    """Exact fidelity sums for every term the window's observations carry.

    A term is present while some observation in the window carries it, so
    ``lowest()`` ranges over exactly the terms with data.
    """

    __slots__ = ("_sums",)

    def __init__(self) -> None:
        self._sums: dict[str, ScaledSum] = {}

    @classmethod
    def of(cls, actions: Sequence[Observation]) -> TermFidelities:
        """The sums of ``actions``, built in bulk."""
        return cls.of_column([action.semantic for action in actions])

    @classmethod
    def of_column(cls, semantics: Sequence[Mapping[str, float]]) -> TermFidelities:
        """The sums of a column of per-action fidelities, built in bulk."""
        by_term: dict[str, list[float]] = {}
        for carried in semantics:
            for term, fidelity in carried.items():
                by_term.setdefault(term, []).append(fidelity)
        fidelities = cls()
        fidelities._sums = {term: ScaledSum.of(values) for term, values in by_term.items()}
        return fidelities

    def add(self, semantic: Mapping[str, float]) -> None:
        """Include an observation's fidelities."""
        for term, fidelity in semantic.items():
            exact = self._sums.get(term)
            if exact is None:
                exact = self._sums[term] = ScaledSum()
            exact.add(fidelity)

    def remove(self, semantic: Mapping[str, float]) -> None:
        """Exclude an observation's fidelities, which were included."""
        for term, fidelity in semantic.items():
            exact = self._sums[term]
            exact.remove(fidelity)
            if not exact.count:
                del self._sums[term]

    def lowest(self) -> tuple[float, str] | None:
        """``(mean fidelity, term)`` of the lowest term (ties: first by name); None without data."""
        return min(((exact.mean(), term) for term, exact in self._sums.items()), default=None)

    def export(self) -> dict[str, dict[str, Any]]:
        """Each term's exact sum, sorted by term (for monitor state)."""
        return {term: self._sums[term].export() for term in sorted(self._sums)}

    @classmethod
    def restore(cls, sums: Mapping[str, ScaledSum]) -> TermFidelities:
        """Sums checked by the caller (each with a count of at least 1)."""
        fidelities = cls()
        fidelities._sums = dict(sums)
        return fidelities


def lowest_fidelity(semantic_drift: Mapping[str, float]) -> tuple[float, str]:
    """``(1 - drift, term)`` of the term that drifted most in non-empty snapshot scores."""
    return min((1.0 - drift, term) for term, drift in semantic_drift.items())


class RateGrowth:
    """What a growth invariant adds to a time window of T seconds: the window before it.

    ``previous`` holds the timestamps in ``(now - 2T, now - T]`` (observations
    move here as they leave the time window, and go when they are older than
    2T), ``origin`` the first timestamp the window ever took, ``now`` the
    newest. Each observation is moved and dropped at most once: O(1) amortised.
    """

    __slots__ = ("now", "origin", "previous")

    def __init__(self) -> None:
        self.now: float | None = None
        self.origin: float | None = None
        self.previous: deque[float] = deque()

    @classmethod
    def of(cls, actions: Sequence[Observation], now: float | None, seconds: float) -> RateGrowth:
        """The window before the one ending at ``now``, from every action (oldest first)."""
        growth = cls()
        growth.now = now
        if actions:
            growth.origin = actions[0].timestamp
        if now is not None:
            low = bisect_right(actions, now - 2.0 * seconds, key=_TIMESTAMP)
            high = bisect_right(actions, now - seconds, lo=low, key=_TIMESTAMP)
            growth.previous = deque(action.timestamp for action in actions[low:high])
        return growth

    @classmethod
    def of_times(
        cls, timestamps: Sequence[float], lo: int, hi: int, now: float | None, seconds: float
    ) -> RateGrowth:
        """The window before the one ending at ``now``, from ``timestamps[lo:hi]`` (every action)."""
        growth = cls()
        growth.now = now
        if hi > lo:
            growth.origin = timestamps[lo]
        if now is not None:
            low = bisect_right(timestamps, now - 2.0 * seconds, lo, hi)
            high = bisect_right(timestamps, now - seconds, low, hi)
            growth.previous = deque(timestamps[low:high])
        return growth

    def start(self, timestamp: float) -> None:
        """An observation entered the time window."""
        if self.origin is None:
            self.origin = timestamp

    def retire(self, timestamp: float) -> None:
        """An observation left the time window: it is in the window before now."""
        self.previous.append(timestamp)

    def trim(self, now: float, seconds: float) -> None:
        """Advance to ``now``: let go of what is 2T old or more."""
        self.now = now
        low = now - 2.0 * seconds
        previous = self.previous
        while previous and previous[0] <= low:
            previous.popleft()

    def measure(self, recent: int, seconds: float) -> tuple[float, str, str]:
        """``(value, basis, note)``: ``recent`` over the window before, or why not measured."""
        now, origin = self.now, self.origin
        if now is None or origin is None or origin > now - 2.0 * seconds:
            return math.nan, BASIS_NO_BASELINE, short_history_note(seconds)
        if not self.previous:
            return math.nan, BASIS_NO_BASELINE, empty_before_note(seconds)
        count = len(self.previous)
        return recent / count, BASIS_WINDOW, growth_note(recent, count, seconds)

    def export(self) -> dict[str, Any]:
        """``{"origin", "previous"}`` for monitor state (``now`` is the window's last timestamp)."""
        return {"origin": self.origin, "previous": list(self.previous)}
