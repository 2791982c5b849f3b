"""Behavioral state: what the evaluator measures invariants against.

``Observation`` is one agent action; ``BehavioralState`` holds recent actions
(oldest first) and optional snapshot fields. Both are frozen and validated on
construction, and both can be built from JSON-shaped mappings with errors that
name the offending field (``actions[3].timestamp: ...``).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from nomotic_dsl.ir.frozen import is_number
from nomotic_dsl.ir.spec import DRIFT_DISTRIBUTIONS

# Timestamps are Unix seconds from 1970 up to the last day datetime can show in
# any time zone, so every well-formed action has a local hour.
MAX_TIMESTAMP = 253_402_214_399.0

OBSERVATION_KEYS = frozenset(
    {"timestamp", "action_type", "target", "outcome", "session_id", "semantic"}
)
STATE_KEYS = frozenset(
    {
        "actions",
        "action_distribution",
        "target_distribution",
        "outcome_distribution",
        "drift",
        "semantic_drift",
        "now",
    }
)
_EMPTY: Mapping[str, float] = MappingProxyType({})


class StateError(ValueError):
    """A behavioral state or observation that is not well formed."""


@dataclass(frozen=True, slots=True)
class Observation:
    """One action the agent took: when, what, on which target, and with what outcome."""

    timestamp: float
    action_type: str
    target: str
    outcome: str | None = None
    session_id: str | None = None
    semantic: Mapping[str, float] = field(default_factory=lambda: _EMPTY)

    def __post_init__(self) -> None:
        _check_timestamp(self.timestamp, "timestamp")
        _check_name(self.action_type, "action_type")
        _check_name(self.target, "target")
        _check_optional_name(self.outcome, "outcome")
        _check_optional_name(self.session_id, "session_id")
        semantic = _check_scores(self.semantic, "semantic", unit_interval=True)
        object.__setattr__(self, "timestamp", float(self.timestamp))
        object.__setattr__(self, "semantic", semantic)

    @classmethod
    def from_mapping(cls, data: Any, where: str = "observation") -> Observation:
        """Build an observation from a JSON-shaped mapping."""
        if data.__class__ is dict:
            fast = _plain_observation(data)
            if fast is not None:
                return fast
        if isinstance(data, Observation):
            return data
        if not isinstance(data, Mapping):
            raise StateError(f"{where}: expected an object, got {type(data).__name__}")
        _refuse_unknown(data, OBSERVATION_KEYS, where)
        for key in ("timestamp", "action_type", "target"):
            if key not in data:
                raise StateError(f"{where}: missing {key!r}")
        try:
            return cls(
                timestamp=data["timestamp"],
                action_type=data["action_type"],
                target=data["target"],
                outcome=data.get("outcome"),
                session_id=data.get("session_id"),
                semantic=data.get("semantic") or _EMPTY,
            )
        except StateError as exc:
            raise StateError(f"{where}.{exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-shaped form, leaving out absent optional fields."""
        out: dict[str, Any] = {
            "timestamp": self.timestamp,
            "action_type": self.action_type,
            "target": self.target,
        }
        if self.outcome is not None:
            out["outcome"] = self.outcome
        if self.session_id is not None:
            out["session_id"] = self.session_id
        if self.semantic:
            out["semantic"] = dict(self.semantic)
        return out


@dataclass(frozen=True, slots=True)
class BehavioralState:
    """An agent's recent actions (oldest first) and optional snapshot measurements."""

    actions: tuple[Observation, ...] = ()
    action_distribution: Mapping[str, float] | None = None
    target_distribution: Mapping[str, float] | None = None
    outcome_distribution: Mapping[str, float] | None = None
    drift: Mapping[str, float] | None = None
    semantic_drift: Mapping[str, float] | None = None
    now: float | None = None

    def __post_init__(self) -> None:
        actions = tuple(self.actions)
        for index, action in enumerate(actions):
            if not isinstance(action, Observation):
                raise StateError(f"actions[{index}]: expected an Observation")
            if index and action.timestamp < actions[index - 1].timestamp:
                raise StateError(
                    f"actions[{index}].timestamp: {action.timestamp!r} is earlier than the "
                    "action before it; actions must be oldest first"
                )
        object.__setattr__(self, "actions", actions)
        for name in ("action_distribution", "target_distribution", "outcome_distribution"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _check_scores(value, name, unit_interval=False))
        for name in ("drift", "semantic_drift"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _check_scores(value, name, unit_interval=True))
        if self.drift is not None:
            check_drift_keys(self.drift)
        if self.now is not None:
            _check_timestamp(self.now, "now")
            object.__setattr__(self, "now", float(self.now))

    @property
    def effective_now(self) -> float | None:
        """The evaluation time: ``now`` when given, else the last action's timestamp."""
        if self.now is not None:
            return self.now
        return self.actions[-1].timestamp if self.actions else None

    @classmethod
    def from_mapping(cls, data: Any) -> BehavioralState:
        """Build a state from a JSON-shaped mapping; raise StateError naming the bad field."""
        if not isinstance(data, Mapping):
            raise StateError(f"state: expected an object, got {type(data).__name__}")
        _refuse_unknown(data, STATE_KEYS, "state")
        raw_actions = data.get("actions") or ()
        if isinstance(raw_actions, str | bytes | Mapping) or not isinstance(raw_actions, Iterable):
            raise StateError("actions: expected a list of observations")
        actions = tuple(
            Observation.from_mapping(item, f"actions[{index}]")
            for index, item in enumerate(raw_actions)
        )
        return cls(
            actions=actions,
            action_distribution=data.get("action_distribution"),
            target_distribution=data.get("target_distribution"),
            outcome_distribution=data.get("outcome_distribution"),
            drift=data.get("drift"),
            semantic_drift=data.get("semantic_drift"),
            now=data.get("now"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON-shaped form, leaving out absent fields."""
        out: dict[str, Any] = {"actions": [action.to_dict() for action in self.actions]}
        for name in (
            "action_distribution",
            "target_distribution",
            "outcome_distribution",
            "drift",
            "semantic_drift",
        ):
            value = getattr(self, name)
            if value is not None:
                out[name] = dict(value)
        if self.now is not None:
            out["now"] = self.now
        return out


_new_object = object.__new__
_set_field = object.__setattr__


def _plain_observation(data: dict[str, Any]) -> Observation | None:
    """An observation from a dict whose every field is plainly valid, else None.

    The fast path of ``from_mapping``: it accepts only what the checks in
    ``__post_init__`` accept (float timestamps, str names, float fidelities)
    and builds the same object; anything else returns None, so the full
    checks run and name the problem.
    """
    if not OBSERVATION_KEYS.issuperset(data):
        return None
    timestamp = data.get("timestamp")
    action_type, target = data.get("action_type"), data.get("target")
    outcome, session_id = data.get("outcome"), data.get("session_id")
    if (
        timestamp.__class__ is not float
        or not 0.0 <= timestamp <= MAX_TIMESTAMP
        or action_type.__class__ is not str
        or not action_type
        or target.__class__ is not str
        or not target
        or (outcome is not None and (outcome.__class__ is not str or not outcome))
        or (session_id is not None and (session_id.__class__ is not str or not session_id))
    ):
        return None
    semantic = data.get("semantic") or _EMPTY
    if semantic is not _EMPTY:
        if not plain_scores(semantic, 1.0):
            return None
        semantic = MappingProxyType(dict(semantic))
    observation: Observation = _new_object(Observation)
    _set_field(observation, "timestamp", timestamp)
    _set_field(observation, "action_type", action_type)
    _set_field(observation, "target", target)
    _set_field(observation, "outcome", outcome)
    _set_field(observation, "session_id", session_id)
    _set_field(observation, "semantic", semantic)
    return observation


def plain_scores(value: Any, upper: float) -> bool:
    """A dict of non-empty str to floats with ``0 <= score <= upper``, every score finite.

    What ``_check_scores`` accepts without converting anything (floats, not
    ints), so a caller may take such a dict as it is; NaN fails every
    comparison and an infinite score is refused.
    """
    if value.__class__ is not dict:
        return False
    for key, score in value.items():
        if (
            key.__class__ is not str
            or not key
            or score.__class__ is not float
            or not 0.0 <= score <= upper
            or score == math.inf
        ):
            return False
    return True


def coerce_state(state: BehavioralState | Mapping[str, Any]) -> BehavioralState:
    """Accept a BehavioralState or a JSON-shaped mapping."""
    if isinstance(state, BehavioralState):
        return state
    return BehavioralState.from_mapping(state)


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """`` (did you mean `x`?)`` when a known name is close to ``word``, else empty."""
    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def _refuse_unknown(data: Mapping[Any, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(str(key) for key in data if key not in allowed)
    if unknown:
        hints = "".join(did_you_mean(key, allowed) for key in unknown[:1])
        raise StateError(
            f"{where}: unknown field(s) {', '.join(map(repr, unknown))}{hints}; "
            f"expected some of {', '.join(sorted(allowed))}"
        )


def check_drift_keys(scores: Mapping[str, float], where: str = "drift") -> None:
    """Drift scores are keyed by the six distributions; a misspelt key is refused.

    The one check of drift keys: behavioral states (``nomo evaluate``,
    ``/v1/evaluate``), ``Monitor.set_drift`` and the governance runtime all
    come through here.
    """
    for key in scores:
        if key not in DRIFT_DISTRIBUTIONS:
            raise StateError(
                f"{where}[{key!r}]: unknown drift distribution{did_you_mean(key, DRIFT_DISTRIBUTIONS)}; "
                f"the distributions are {', '.join(DRIFT_DISTRIBUTIONS)}"
            )


def _check_timestamp(value: Any, name: str) -> None:
    if not is_number(value) or not 0 <= value <= MAX_TIMESTAMP:
        raise StateError(
            f"{name}: {_shown(value)} is not a Unix time in seconds (0 to {MAX_TIMESTAMP:.0f})"
        )


def _shown(value: Any) -> str:
    """``repr(value)``, a whole number of more than 30 digits shortened to its size."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        return f"a number of {len(str(abs(value)))} digits"
    return repr(value)


def _check_name(value: Any, name: str) -> None:
    if not isinstance(value, str) or not value:
        raise StateError(f"{name}: expected a non-empty string, got {value!r}")


def _check_optional_name(value: Any, name: str) -> None:
    if value is not None:
        _check_name(value, name)


def _check_scores(value: Any, name: str, *, unit_interval: bool) -> Mapping[str, float]:
    """Check a name -> number mapping and return a read-only float copy."""
    if not isinstance(value, Mapping):
        raise StateError(f"{name}: expected an object of names to numbers")
    out: dict[str, float] = {}
    for key, score in value.items():
        if not isinstance(key, str) or not key:
            raise StateError(f"{name}: keys must be non-empty strings, got {key!r}")
        if not is_number(score):  # an int past the float range included
            raise StateError(f"{name}[{key!r}]: {_shown(score)} is not a finite number")
        if score < 0 or (unit_interval and score > 1):
            bound = "between 0 and 1" if unit_interval else "at least 0"
            raise StateError(f"{name}[{key!r}]: {score!r} must be {bound}")
        out[key] = float(score)
    return MappingProxyType(out)
