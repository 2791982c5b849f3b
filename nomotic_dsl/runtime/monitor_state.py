"""Monitor state as data: what a generated ``Monitor`` exports and how it is read back.

Input: a generated monitor's windows (export), or a JSON-shaped mapping
(import). Output: a JSON-clean, versioned dict, and ``StateReader``, which
checks every field of such a dict and raises ``StateError`` naming the field
(``state.windows['count:50'].n: ...``). Nothing here executes or unpickles
anything: a state is plain numbers, strings, lists and objects.

Layout (format version 1)::

    {"format": "nomotic_dsl.monitor_state", "version": 1,
     "source_digest": ..., "specs_digest": ..., "invariant_ids": [...],
     "last": <timestamp or null>, "drift": {...} | null, "semantic_drift": {...} | null,
     "observations": [<observation>, ...],      # the longest window's, oldest first
     "windows": {"count:50": {"n": 12}, "time:3600.0": {"n": 40},
                 "history": {"n", "first_ts", "last_ts", "by_action", ...}}}

Count and time windows hold a suffix of the observations the monitor saw, so
one list carries them all and each window records how many it holds;
aggregates are rebuilt from those observations on import. Windows without a
bound keep no observations, so their aggregates are stored as they are.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nomotic_dsl.runtime.interpreter.state import (
    MAX_TIMESTAMP,
    Observation,
    StateError,
)
from nomotic_dsl.runtime.results import checked_scores
from nomotic_dsl.runtime.windows import (
    SCALE_BITS,
    KeyCounts,
    RateGrowth,
    ScaledSum,
    TermFidelities,
)

MONITOR_STATE_FORMAT = "nomotic_dsl.monitor_state"
MONITOR_STATE_VERSION = 1

_HEADER_KEYS = ("format", "version", "source_digest", "specs_digest", "invariant_ids")
_HEX = re.compile(r"[0-9a-f]{1,400}")


def state_header(
    source_digest: str, specs_digest: str, invariant_ids: Sequence[str]
) -> dict[str, Any]:
    """The fields that tie a state to its module: format, version, digests and ids."""
    return {
        "format": MONITOR_STATE_FORMAT,
        "version": MONITOR_STATE_VERSION,
        "source_digest": source_digest,
        "specs_digest": specs_digest,
        "invariant_ids": list(invariant_ids),
    }


def export_scores(scores: Mapping[str, float] | None) -> dict[str, float] | None:
    """Drift-like scores as a plain dict (None stays None)."""
    return None if scores is None else dict(scores)


def export_observations(*windows: Sequence[Observation]) -> list[dict[str, Any]]:
    """The observations of the longest window (every other one holds a suffix of them)."""
    longest: Sequence[Observation] = max(windows, key=len, default=())
    return [observation.to_dict() for observation in longest]


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


class StateReader:
    """Reads one mapping of a monitor state; every problem is a StateError naming its path."""

    __slots__ = ("_data", "path")

    def __init__(self, data: Any, path: str = "state", keys: Iterable[str] | None = None) -> None:
        if not isinstance(data, Mapping):
            raise StateError(f"{path}: expected an object, got {_kind(data)}")
        self._data = data
        self.path = path
        if keys is not None:
            self.keys_exactly(keys)

    @classmethod
    def monitor(
        cls,
        state: Any,
        *,
        source_digest: str,
        specs_digest: str,
        invariant_ids: Sequence[str],
        keys: Iterable[str],
    ) -> StateReader:
        """A reader over a whole monitor state, refused unless it was exported by this module."""
        reader = cls(state)
        reader.keys_exactly((*_HEADER_KEYS, *keys))
        if state["format"] != MONITOR_STATE_FORMAT:
            reader.fail("format", f"{state['format']!r} is not {MONITOR_STATE_FORMAT!r}")
        version = state["version"]
        if isinstance(version, bool) or version != MONITOR_STATE_VERSION:
            reader.fail(
                "version",
                f"{version!r} is not a monitor state version this runtime reads "
                f"({MONITOR_STATE_VERSION})",
            )
        if state["source_digest"] != source_digest:
            reader.fail(
                "source_digest",
                f"{state['source_digest']!r} is not this policy's source digest "
                f"{source_digest!r}; the state belongs to another policy",
            )
        if state["specs_digest"] != specs_digest:
            reader.fail(
                "specs_digest",
                f"{state['specs_digest']!r} is not this module's specs digest "
                f"{specs_digest!r}; the state belongs to other invariants",
            )
        ids = state["invariant_ids"]
        if not isinstance(ids, list) or ids != list(invariant_ids):
            reader.fail(
                "invariant_ids",
                f"{ids!r} are not this module's invariants {list(invariant_ids)!r}",
            )
        return reader

    # ---- structure ---------------------------------------------------------------

    def where(self, key: str) -> str:
        """The path of ``key`` in this mapping."""
        return f"{self.path}[{key!r}]" if not key.isidentifier() else f"{self.path}.{key}"

    def fail(self, key: str, message: str) -> None:
        """Raise the StateError for ``key``."""
        raise StateError(f"{self.where(key)}: {message}")

    def keys_exactly(self, keys: Iterable[str]) -> None:
        """Refuse unknown and missing keys."""
        expected = tuple(keys)
        unknown = sorted(str(key) for key in self._data if key not in expected)
        if unknown:
            raise StateError(f"{self.path}: unknown field(s) {', '.join(map(repr, unknown))}")
        missing = [key for key in expected if key not in self._data]
        if missing:
            raise StateError(f"{self.path}: missing field(s) {', '.join(map(repr, missing))}")

    def field(self, key: str) -> Any:
        """The raw value under ``key`` (its presence was checked by ``keys_exactly``)."""
        return self._data[key]

    def child(self, key: str, keys: Iterable[str] | None = None) -> StateReader:
        """The mapping under ``key`` (with exactly ``keys`` when given)."""
        return StateReader(self._data[key], self.where(key), keys)

    # ---- values --------------------------------------------------------------------

    def same_idle_seconds(self, key: str, expected: float | None) -> None:
        """The state was exported by a monitor releasing idle sessions after ``expected``."""
        value = self._data[key]
        if value != expected or isinstance(value, bool):
            self.fail(
                key,
                f"{value!r} is not this monitor's session_idle_seconds {expected!r}; "
                "create the monitor with the same setting to continue from this state",
            )

    def no_sessions(self, key: str) -> None:
        """A monitor without per-session windows keeps no sessions: ``[]``."""
        if self._data[key] != []:
            self.fail(key, "this module has no per-session windows, so it keeps no sessions")

    def count(self, key: str, upper: int | None = None) -> int:
        """A whole number in 0..upper."""
        value = self._data[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(key, f"{value!r} is not a whole number, at least 0")
        if upper is not None and value > upper:
            self.fail(key, f"{value!r} is more than {upper}")
        return int(value)

    def timestamp(self, key: str) -> float:
        """A Unix time in seconds, as observations carry."""
        return _timestamp(self._data[key], self.where(key))

    def optional_timestamp(self, key: str) -> float | None:
        """A timestamp, or None."""
        return None if self._data[key] is None else self.timestamp(key)

    def scores(self, key: str) -> Mapping[str, float] | None:
        """Drift (``drift``) or semantic drift (``semantic_drift``) scores, or None."""
        try:
            return checked_scores(key, self._data[key])
        except StateError as exc:
            raise StateError(f"{self.path}.{exc}") from None

    def observations(self, key: str, last: float | None) -> list[Observation]:
        """Observations, oldest first, the newest at ``last``."""
        raw = self._data[key]
        where = self.where(key)
        if not isinstance(raw, list):
            raise StateError(f"{where}: expected a list of observations, got {_kind(raw)}")
        out = [Observation.from_mapping(item, f"{where}[{i}]") for i, item in enumerate(raw)]
        for index in range(1, len(out)):
            if out[index].timestamp < out[index - 1].timestamp:
                raise StateError(
                    f"{where}[{index}].timestamp: earlier than the observation before it"
                )
        if out and out[-1].timestamp != last:
            raise StateError(
                f"{where}: the newest observation is at {out[-1].timestamp!r}, "
                f"not at the last timestamp {last!r}"
            )
        return out

    def session_observations(
        self, key: str, last: float, session_id: str | None
    ) -> list[Observation]:
        """The observations of one session, oldest first, the newest at ``last``."""
        out = self.observations(key, last)
        for index, observation in enumerate(out):
            if observation.session_id != session_id:
                raise StateError(
                    f"{self.where(key)}[{index}].session_id: {observation.session_id!r} is "
                    f"not this session's id {session_id!r}"
                )
        return out

    def key_counts(self, key: str, total: int) -> KeyCounts:
        """Counts per name (positive whole numbers) that add up to ``total``."""
        counts = self.child(key)
        names = counts._data
        for name in names:
            if not isinstance(name, str) or not name:
                raise StateError(f"{counts.path}: names must be non-empty strings, got {name!r}")
            counts.count(name)
            if not names[name]:
                counts.fail(name, "a name that is counted has a count of at least 1")
        if sum(names.values()) != total:
            raise StateError(
                f"{counts.path}: the counts add up to {sum(names.values())}, not to {total}"
            )
        return KeyCounts.restore(names)

    def scaled_sum(self, key: str, most: int) -> ScaledSum:
        """An exact sum of at most ``most`` values in 0..1: ``{"count", "total"}``."""
        exact = self.child(key, ("count", "total"))
        count = exact.count("count", most)
        text = exact._data["total"]
        if not isinstance(text, str) or not _HEX.fullmatch(text):
            exact.fail("total", f"{text!r} is not a lowercase hexadecimal number")
        total = int(text, 16)
        if total > count << SCALE_BITS:
            exact.fail("total", f"is more than {count} values of at most 1 can add up to")
        return ScaledSum.restore(count, total)

    def term_fidelities(self, key: str, most: int) -> TermFidelities:
        """Exact sums per term, each of at least one and at most ``most`` values."""
        terms = self.child(key)
        sums = {}
        for term in terms._data:
            if not isinstance(term, str) or not term:
                raise StateError(f"{terms.path}: terms must be non-empty strings, got {term!r}")
            exact = terms.scaled_sum(term, most)
            if not exact.count:
                terms.fail(term, "a term that is kept has at least one value")
            sums[term] = exact
        return TermFidelities.restore(sums)

    def rate_growth(
        self, key: str, seconds: float, last: float | None, entries: Sequence[Observation]
    ) -> RateGrowth:
        """The window before a time window of ``seconds`` ending at ``last``."""
        data = self.child(key, ("origin", "previous"))
        growth = RateGrowth()
        growth.now = last
        growth.origin = data.optional_timestamp("origin")
        if (growth.origin is None) != (last is None):
            data.fail("origin", "a window that took observations has an origin, and only then")
        raw = data.field("previous")
        where = data.where("previous")
        if not isinstance(raw, list) or (raw and last is None):
            raise StateError(f"{where}: expected a list of timestamps (empty before any)")
        previous: list[float] = []
        for index in range(len(raw)):
            timestamp = _timestamp(raw[index], f"{where}[{index}]")
            if previous and timestamp < previous[-1]:
                raise StateError(f"{where}[{index}]: earlier than the timestamp before it")
            previous.append(timestamp)
        if last is not None and growth.origin is not None:
            low, middle = last - 2.0 * seconds, last - seconds
            if any(not low < timestamp <= middle for timestamp in previous):
                raise StateError(f"{where}: holds a timestamp outside the window before the last")
            first = previous[0] if previous else entries[0].timestamp if entries else last
            if growth.origin > first:
                data.fail("origin", f"{growth.origin!r} is later than the first timestamp kept")
        growth.previous = deque(previous)
        return growth

    # ---- windows -----------------------------------------------------------------------

    def count_window(self, observations: Sequence[Observation], size: int) -> list[Observation]:
        """The entries of a window of the last ``size`` observations: ``{"n"}``."""
        self.keys_exactly(("n",))
        n = self.count("n", size)
        if n > len(observations):
            self.fail("n", f"{n} is more than the {len(observations)} observations in the state")
        if n < size and n != len(observations):
            self.fail(
                "n", f"a window of {size} holding {n} has seen only {n} observations, not more"
            )
        return list(observations[len(observations) - n :])

    def time_window(
        self,
        observations: Sequence[Observation],
        seconds: float,
        last: float | None,
        growth: bool = False,
    ) -> list[Observation]:
        """The entries of a window of the last ``seconds`` before ``last``: ``{"n"}``.

        A window that also keeps the window before it has a ``growth`` field.
        """
        self.keys_exactly(("n", "growth") if growth else ("n",))
        n = self.count("n", len(observations))
        entries = list(observations[len(observations) - n :])
        if last is not None:
            start = last - seconds
            if entries and entries[0].timestamp <= start:
                self.fail("n", f"{n} holds observations older than {seconds!r} seconds")
            if n < len(observations) and observations[-n - 1].timestamp > start:
                self.fail("n", f"{n} leaves out observations of the last {seconds!r} seconds")
        return entries

    def history(self, last: float | None, retained: int) -> tuple[int, float, float]:
        """``(n, first_ts, last_ts)`` of a window over every observation seen."""
        n = self.count("n")
        if n < retained:
            self.fail("n", f"{n} is fewer than the {retained} observations the state holds")
        first, newest = self.timestamp("first_ts"), self.timestamp("last_ts")
        if n == 0 and (first, newest) != (0.0, 0.0):
            self.fail("first_ts", "an empty window has first_ts and last_ts 0")
        if n and (newest != last or first > newest):
            self.fail(
                "last_ts",
                f"{newest!r} must be the last timestamp {last!r}, and first_ts {first!r} "
                "no later than it",
            )
        return n, first, newest


def _timestamp(value: Any, where: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value <= MAX_TIMESTAMP
    ):
        raise StateError(
            f"{where}: {value!r} is not a Unix time in seconds (0 to {MAX_TIMESTAMP:.0f})"
        )
    return float(value)


def check_retained(reader: StateReader, key: str, sizes: Sequence[int], held: int) -> None:
    """The state's observation list is exactly as long as its longest window needs."""
    needed = max(sizes, default=0)
    if held != needed:
        reader.fail(key, f"holds {held} observations, but its windows hold at most {needed}")
