"""Measuring an invariant's metric on a behavioral state: the reference meaning.

``measure(spec, state)`` returns the value and how it was obtained (its
basis). Every rule here comes from the semantics page; generated evaluators and
streaming monitors are tested against these functions, so they favour being
obviously right over being fast.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from functools import cache
from zoneinfo import ZoneInfo

from nomotic_dsl.ir.spec import (
    EVERY_TERM,
    RATE_GROWTH,
    InvariantSpec,
    TemporalWindow,
    load_zone,
    parse_temporal_metric,
    split_ratio_metric,
)
from nomotic_dsl.runtime.interpreter.detail import (
    BASIS_EMPTY,
    BASIS_HISTORY,
    BASIS_NO_BASELINE,
    BASIS_NO_DATA,
    BASIS_SNAPSHOT,
    BASIS_WARMUP,
    BASIS_WINDOW,
    empty_before_note,
    growth_note,
    short_history_note,
    term_note,
)
from nomotic_dsl.runtime.interpreter.state import BehavioralState, Observation


@dataclass(frozen=True, slots=True)
class Measurement:
    """A measured value and its basis (one of the ``BASIS_*`` names)."""

    value: float
    basis: str
    note: str = ""


NO_DATA = Measurement(math.nan, BASIS_NO_DATA)
EMPTY = Measurement(0.0, BASIS_EMPTY)


def ratio_value(numerator: float, denominator: float) -> float:
    """X / Y, with 0/0 = 0.0 and X/0 = +inf."""
    if denominator == 0:
        return 0.0 if numerator == 0 else math.inf
    return numerator / denominator


def largest_share(shares: Collection[float]) -> float:
    """The largest of non-negative ``shares`` over their total (which must not be 0).

    Shares near the float maximum make the total overflow; they are then
    scaled by 2**-64 first, which keeps their proportions.
    """
    try:
        return max(shares) / math.fsum(shares)
    except OverflowError:
        return math.ldexp(max(shares), -64) / math.fsum(math.ldexp(v, -64) for v in shares)


def exact_mean(values: Sequence[float]) -> float:
    """The mean of floats, computed exactly and rounded once.

    Exact arithmetic makes the mean independent of summation order, so a
    streaming monitor that adds and removes values (``ScaledSum``) arrives at
    the same float as a recomputation.
    """
    total = sum((Fraction(value) for value in values), Fraction(0))
    return float(total / len(values))


def local_hour(timestamp: float, zone: ZoneInfo | None) -> int:
    """The hour (0..23) of the whole second containing ``timestamp``, UTC or in ``zone``."""
    whole = math.floor(timestamp)
    if zone is None:
        return (whole // 3600) % 24
    return datetime.fromtimestamp(whole, zone).hour


@cache
def temporal_window(metric: str) -> tuple[TemporalWindow, ZoneInfo | None]:
    """Parsed allowed hours and their zone, cached per metric string."""
    hours = parse_temporal_metric(metric)
    return hours, (load_zone(hours.zone) if hours.zone else None)


def select_window(spec: InvariantSpec, state: BehavioralState) -> Sequence[Observation]:
    """The actions an invariant measures: its count or time window, else all actions."""
    if spec.window is not None:
        return state.actions[-spec.window :]
    if spec.window_seconds is not None:
        now = state.effective_now
        if now is None:
            return ()
        start = now - spec.window_seconds
        return [action for action in state.actions if start < action.timestamp <= now]
    return state.actions


def measure(spec: InvariantSpec, state: BehavioralState) -> Measurement:
    """Measure ``spec``'s metric on ``state``; never raises on a valid spec and state.

    With ``min_actions``, nothing is measured until the actions the spec's
    window holds (every action when it has none, drift rules included) number
    at least that many.
    """
    if spec.min_actions is not None:
        held = len(select_window(spec, state))
        if held < spec.min_actions:
            return Measurement(math.nan, BASIS_WARMUP, str(held))
    return _MEASURES[spec.type](spec, state)


def session_actions(
    actions: Sequence[Observation], idle_seconds: float | None = None
) -> tuple[Observation, ...]:
    """The actions of the last action's session, oldest first: the reference meaning of sessions.

    Actions with the same ``session_id`` form a session (those without one
    form a session of their own). With ``idle_seconds``, a session idle for
    longer than that (a gap between two of its consecutive actions greater
    than ``idle_seconds``) was released, and its next action started it
    afresh: only the actions after the last such gap count.
    """
    if not actions:
        return ()
    session = actions[-1].session_id
    mine = [action for action in actions if action.session_id == session]
    if idle_seconds is not None:
        start = 0
        for index in range(1, len(mine)):
            if mine[index].timestamp - mine[index - 1].timestamp > idle_seconds:
                start = index
        mine = mine[start:]
    return tuple(mine)


def _action_basis(spec: InvariantSpec) -> str:
    if spec.window is None and spec.window_seconds is None and not spec.per_session:
        return BASIS_HISTORY
    return BASIS_WINDOW


def _snapshot(spec: InvariantSpec, field: Mapping[str, float] | None) -> Mapping[str, float] | None:
    """The snapshot distribution to use: only without a window, and only when non-empty.

    Snapshot fields describe the agent, not a session, so per-session
    invariants never read them.
    """
    if spec.window is None and spec.window_seconds is None and not spec.per_session and field:
        return field
    return None


def _measure_ratio(spec: InvariantSpec, state: BehavioralState) -> Measurement:
    numerator, denominator = split_ratio_metric(spec.metric)
    snapshot = _snapshot(spec, state.action_distribution)
    if snapshot is not None:
        value = ratio_value(snapshot.get(numerator, 0.0), snapshot.get(denominator, 0.0))
        return Measurement(value, BASIS_SNAPSHOT)
    actions = select_window(spec, state)
    if not actions:
        return EMPTY
    counts = Counter(action.action_type for action in actions)
    return Measurement(ratio_value(counts[numerator], counts[denominator]), _action_basis(spec))


def _measure_distribution(spec: InvariantSpec, state: BehavioralState) -> Measurement:
    by_target = spec.metric in ("target_max", "target_count")
    snapshot = _snapshot(
        spec, state.target_distribution if by_target else state.action_distribution
    )
    if snapshot is not None:
        return _measure_snapshot_distribution(spec.metric, snapshot)
    actions = select_window(spec, state)
    if not actions:
        return EMPTY
    counts = Counter(action.target if by_target else action.action_type for action in actions)
    if spec.metric == "target_count":
        return Measurement(float(len(counts)), _action_basis(spec))
    return Measurement(max(counts.values()) / len(actions), _action_basis(spec))


def _measure_snapshot_distribution(metric: str, snapshot: Mapping[str, float]) -> Measurement:
    present = sum(1 for share in snapshot.values() if share > 0)
    if not present:
        return EMPTY
    if metric == "target_count":
        return Measurement(float(present), BASIS_SNAPSHOT)
    return Measurement(largest_share(list(snapshot.values())), BASIS_SNAPSHOT)


def _measure_drift(spec: InvariantSpec, state: BehavioralState) -> Measurement:
    # Drift scores describe the contract's window; the runtime computes them for
    # it, so the interpreter reads them whatever the spec's window says.
    if state.drift is None or spec.metric not in state.drift:
        return NO_DATA
    return Measurement(state.drift[spec.metric], BASIS_SNAPSHOT)


def _measure_every_term(spec: InvariantSpec, state: BehavioralState) -> Measurement:
    """The lowest fidelity of any term with data, and which term it is (ties: first by name)."""
    snapshot = _snapshot(spec, state.semantic_drift)
    if snapshot is not None:
        value, term = min((1.0 - drift, term) for term, drift in snapshot.items())
        return Measurement(value, BASIS_SNAPSHOT, term_note(term))
    by_term: dict[str, list[float]] = {}
    for action in select_window(spec, state):
        for term, fidelity in action.semantic.items():
            by_term.setdefault(term, []).append(fidelity)
    if not by_term:
        return NO_DATA
    value, term = min((exact_mean(values), term) for term, values in by_term.items())
    return Measurement(value, _action_basis(spec), term_note(term))


def _measure_semantic(spec: InvariantSpec, state: BehavioralState) -> Measurement:
    if spec.metric == EVERY_TERM:
        return _measure_every_term(spec, state)
    snapshot = _snapshot(spec, state.semantic_drift)
    if snapshot is not None and spec.metric in snapshot:
        return Measurement(1.0 - snapshot[spec.metric], BASIS_SNAPSHOT)
    fidelities = [
        action.semantic[spec.metric]
        for action in select_window(spec, state)
        if spec.metric in action.semantic
    ]
    if not fidelities:
        return NO_DATA
    return Measurement(exact_mean(fidelities), _action_basis(spec))


def _measure_temporal(spec: InvariantSpec, state: BehavioralState) -> Measurement:
    actions = select_window(spec, state)
    if not actions:
        return EMPTY
    hours, zone = temporal_window(spec.metric)
    outside = sum(1 for action in actions if not hours.allows(local_hour(action.timestamp, zone)))
    return Measurement(outside / len(actions), _action_basis(spec))


def _measure_growth(spec: InvariantSpec, state: BehavioralState) -> Measurement:
    """Actions in (now - T, now] over actions in (now - 2T, now - T], T = window_seconds.

    Not measured until the state's first action is at or before now - 2T (the
    history covers both windows) and while the earlier window is empty.
    """
    seconds = spec.window_seconds
    assert seconds is not None, "validated growth specs carry window_seconds"
    now, actions = state.effective_now, state.actions
    low = None if now is None else now - 2.0 * seconds
    if now is None or low is None or not actions or actions[0].timestamp > low:
        return Measurement(math.nan, BASIS_NO_BASELINE, short_history_note(seconds))
    middle = now - seconds
    recent = sum(1 for action in actions if middle < action.timestamp <= now)
    previous = sum(1 for action in actions if low < action.timestamp <= middle)
    if not previous:
        return Measurement(math.nan, BASIS_NO_BASELINE, empty_before_note(seconds))
    return Measurement(recent / previous, BASIS_WINDOW, growth_note(recent, previous, seconds))


def _measure_rate(spec: InvariantSpec, state: BehavioralState) -> Measurement:
    if spec.metric == RATE_GROWTH:
        return _measure_growth(spec, state)
    actions = select_window(spec, state)
    if not actions:
        return EMPTY
    if spec.window_seconds is not None:
        return Measurement(len(actions) / spec.window_seconds, BASIS_WINDOW)
    span = actions[-1].timestamp - actions[0].timestamp
    if len(actions) < 2 or span <= 0:
        return Measurement(0.0, _action_basis(spec))
    return Measurement((len(actions) - 1) / span, _action_basis(spec))


def _measure_count(spec: InvariantSpec, state: BehavioralState) -> Measurement:
    by_target = spec.metric == "distinct_targets"
    snapshot = _snapshot(
        spec, state.target_distribution if by_target else state.action_distribution
    )
    if snapshot is not None:
        return _measure_snapshot_distribution("target_count", snapshot)
    actions = select_window(spec, state)
    if not actions:
        return EMPTY
    names = {action.target if by_target else action.action_type for action in actions}
    return Measurement(float(len(names)), _action_basis(spec))


_MEASURES: dict[str, Callable[[InvariantSpec, BehavioralState], Measurement]] = {
    "ratio": _measure_ratio,
    "distribution": _measure_distribution,
    "drift": _measure_drift,
    "semantic": _measure_semantic,
    "temporal": _measure_temporal,
    "rate": _measure_rate,
    "count": _measure_count,
}
