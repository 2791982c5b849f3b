"""A behavioral state's actions as columns, read from a mapping in bulk or from a state.

Input: a ``BehavioralState`` or a JSON-shaped mapping. Output: ``Rows`` (one
list per observation field, oldest first, and the slice a window reads) and
the ``Snapshot`` fields. Stage: runtime, in front of generated ``evaluate``.

A mapping is checked column by column with C-level passes (``map``, ``set``,
``min``/``max``, one comparison chain for the order) that accept only what
``BehavioralState.from_mapping`` accepts, with the same values; anything they
cannot vouch for (a wrong type, an int where a float is expected, a key that
is not known, NaN) is handed to ``BehavioralState.from_mapping``, which
either accepts it or raises its ``StateError`` naming the field. So the fast
path changes how long validation takes, never what passes or what an error
says. The columns hold the caller's own strings and fidelity mappings: they
are read during the call and never kept.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from itertools import chain, islice
from operator import attrgetter, itemgetter, le, methodcaller
from types import MappingProxyType
from typing import Any

from nomotic_dsl.ir.spec import DRIFT_DISTRIBUTIONS
from nomotic_dsl.runtime.interpreter.state import (
    MAX_TIMESTAMP,
    OBSERVATION_KEYS,
    STATE_KEYS,
    BehavioralState,
    Observation,
    plain_scores,
)
from nomotic_dsl.runtime.results import Snapshot

Scores = Mapping[str, float]
_EMPTY: Scores = MappingProxyType({})
_DRIFT_KEYS = frozenset(DRIFT_DISTRIBUTIONS)
_TIMESTAMP = itemgetter("timestamp")
_ACTION = itemgetter("action_type")
_TARGET = itemgetter("target")
_OUTCOME = methodcaller("get", "outcome")
_SESSION = methodcaller("get", "session_id")
_SEMANTIC = methodcaller("get", "semantic")
_NUMBER = frozenset({float, int})
_STR = frozenset({str})
_OPTIONAL_STR = frozenset({str, type(None)})
_DICT = frozenset({dict})
_TIMESTAMP_OF = attrgetter("timestamp")
_ACTION_OF = attrgetter("action_type")
_TARGET_OF = attrgetter("target")
_SESSION_OF = attrgetter("session_id")
_SEMANTIC_OF = attrgetter("semantic")
_INF = math.inf


class Rows:
    """Observation fields as parallel lists (oldest first) and the slice ``lo:hi`` a window reads."""

    __slots__ = (
        "action_types",
        "hi",
        "lo",
        "now",
        "semantics",
        "session_ids",
        "targets",
        "timestamps",
    )

    def __init__(
        self,
        timestamps: list[float],
        action_types: list[str],
        targets: list[str],
        session_ids: list[str | None],
        semantics: list[Scores],
        now: float | None,
        lo: int = 0,
        hi: int | None = None,
    ) -> None:
        self.timestamps = timestamps
        self.action_types = action_types
        self.targets = targets
        self.session_ids = session_ids
        self.semantics = semantics
        self.now = now
        self.lo = lo
        self.hi = len(timestamps) if hi is None else hi

    @classmethod
    def of(cls, actions: Sequence[Observation], now: float | None = None) -> Rows:
        """The columns of ``actions``; ``now`` defaults to the last action's timestamp."""
        timestamps = list(map(_TIMESTAMP_OF, actions))
        return cls(
            timestamps,
            list(map(_ACTION_OF, actions)),
            list(map(_TARGET_OF, actions)),
            list(map(_SESSION_OF, actions)),
            list(map(_SEMANTIC_OF, actions)),
            now if now is not None else (timestamps[-1] if timestamps else None),
        )

    def __len__(self) -> int:
        return self.hi - self.lo

    def _slice(self, lo: int, hi: int) -> Rows:
        rows = Rows.__new__(Rows)
        rows.timestamps, rows.action_types, rows.targets = (
            self.timestamps,
            self.action_types,
            self.targets,
        )
        rows.session_ids, rows.semantics, rows.now = self.session_ids, self.semantics, self.now
        rows.lo, rows.hi = lo, hi
        return rows

    def last(self, count: int) -> Rows:
        """The last ``count`` rows (a count window)."""
        return self._slice(max(self.lo, self.hi - count), self.hi)

    def within(self, seconds: float) -> Rows:
        """The rows with ``now - seconds < timestamp <= now`` (a time window); none without ``now``."""
        now = self.now
        if now is None:
            return self._slice(self.hi, self.hi)
        low = bisect_right(self.timestamps, now - seconds, self.lo, self.hi)
        return self._slice(low, bisect_right(self.timestamps, now, low, self.hi))

    def column(self, name: str) -> list[Any]:
        """One column, cut to this slice."""
        values: list[Any] = getattr(self, name)
        if self.lo == 0 and self.hi == len(values):
            return values
        return values[self.lo : self.hi]

    def session(self, idle_seconds: float | None) -> Rows:
        """The rows of the last row's session after its last gap longer than ``idle_seconds``.

        The same rows as ``interpreter.measure.session_actions`` of the actions.
        """
        if self.hi == self.lo:
            return self
        ids, times = self.session_ids, self.timestamps
        current = ids[self.hi - 1]
        mine = [index for index in range(self.lo, self.hi) if ids[index] == current]
        if idle_seconds is not None:
            start = 0
            for position in range(1, len(mine)):
                if times[mine[position]] - times[mine[position - 1]] > idle_seconds:
                    start = position
            mine = mine[start:]
        pick = itemgetter(*mine) if len(mine) > 1 else None

        def take(values: list[Any]) -> list[Any]:
            return list(pick(values)) if pick is not None else [values[mine[0]]]

        return Rows(
            take(times),
            take(self.action_types),
            take(self.targets),
            take(ids),
            take(self.semantics),
            self.now,
        )


def read_state(state: BehavioralState | Mapping[str, Any]) -> tuple[Rows, Snapshot]:
    """The rows and snapshot fields of a state; StateError naming the field when it is malformed."""
    if isinstance(state, BehavioralState):
        return Rows.of(state.actions, state.effective_now), Snapshot.of(state)
    fast = _read_mapping(state) if type(state) is dict else None
    if fast is not None:
        return fast
    checked = BehavioralState.from_mapping(state)
    return Rows.of(checked.actions, checked.effective_now), Snapshot.of(checked)


def _read_mapping(data: dict[str, Any]) -> tuple[Rows, Snapshot] | None:
    """The fast path: None whenever ``BehavioralState.from_mapping`` must have the last word."""
    if not STATE_KEYS.issuperset(data):
        return None
    get = data.get
    raw = get("actions") or []
    if raw.__class__ is not list:
        return None
    rows = _rows(raw) if raw else Rows([], [], [], [], [], None)
    if rows is None:
        return None
    actions, targets, outcomes = (
        get("action_distribution"),
        get("target_distribution"),
        get("outcome_distribution"),
    )
    drift, semantic = get("drift"), get("semantic_drift")
    if not (
        (actions is None or plain_scores(actions, _INF))
        and (targets is None or plain_scores(targets, _INF))
        and (outcomes is None or plain_scores(outcomes, _INF))
        and (drift is None or (plain_scores(drift, 1.0) and _DRIFT_KEYS.issuperset(drift)))
        and (semantic is None or plain_scores(semantic, 1.0))
    ):
        return None
    now = get("now")
    if now is not None:
        if now.__class__ is not float or not 0.0 <= now <= MAX_TIMESTAMP:
            return None
        rows.now = now
    return rows, Snapshot(actions, targets, drift, semantic)


def _rows(raw: list[Any]) -> Rows | None:
    """Columns of a list of observation dicts, or None when one needs the exact check."""
    if not _DICT.issuperset(map(type, raw)):
        return None
    if not OBSERVATION_KEYS.issuperset(chain.from_iterable(raw)):
        return None
    try:
        timestamps = list(map(_TIMESTAMP, raw))
        action_types = list(map(_ACTION, raw))
        targets = list(map(_TARGET, raw))
    except KeyError:
        return None
    kinds = set(map(type, timestamps))
    if not _NUMBER.issuperset(kinds):
        return None
    if int in kinds:
        timestamps = list(map(float, timestamps))
    total = sum(timestamps)
    if total != total or total == math.inf:
        return None
    if min(timestamps) < 0.0 or max(timestamps) > MAX_TIMESTAMP:
        return None
    if not all(map(le, timestamps, islice(timestamps, 1, None))):
        return None
    for names in (action_types, targets):
        if not _STR.issuperset(map(type, names)) or "" in names:
            return None
    outcomes = list(map(_OUTCOME, raw))
    session_ids = list(map(_SESSION, raw))
    for names in (outcomes, session_ids):
        if not _OPTIONAL_STR.issuperset(map(type, names)) or "" in names:
            return None
    semantics = [value or _EMPTY for value in map(_SEMANTIC, raw)]
    carried = [value for value in semantics if value is not _EMPTY]
    if carried and not all(plain_scores(value, 1.0) for value in carried):
        return None
    return Rows(timestamps, action_types, targets, session_ids, semantics, timestamps[-1])
