"""Why an invariant was violated, in words: which window, how many actions, what drove it.

Input: the invariant's spec, its result at the observation, the agent's
recent observations (oldest first, as the runtime saw them since the agent's
evaluation began), the contract's expected distributions and the drift
window size. Output: an ``Explanation``: the window (its kind, lines, times,
how many actions), the actions or targets that drove the value, and
sentences for a compliance reader. Stage: ``nomo report`` and ``nomo
explain --verdict``; the value and the verdict are the runtime's (the
generated evaluator's), this module only describes the window behind them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from nomotic_dsl.ir.describe import format_duration, format_number
from nomotic_dsl.ir.spec import (
    InvariantSpec,
    has_plain_window,
    parse_temporal_metric,
    split_ratio_metric,
)
from nomotic_dsl.runtime.interpreter.result import InvariantResult

UTC = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class Seen:
    """One observation of an agent, as much as an explanation needs."""

    line: int
    timestamp: float
    action: str
    target: str
    outcome: str | None = None
    semantic: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Explanation:
    """What a reader is told about one violation."""

    window: str
    actions: int
    first_line: int | None
    last_line: int | None
    drivers: tuple[str, ...]
    sentences: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-clean form."""
        return {
            "window": self.window,
            "actions": self.actions,
            "first_line": self.first_line,
            "last_line": self.last_line,
            "drivers": list(self.drivers),
            "text": " ".join(self.sentences),
        }


def clock(timestamp: float) -> str:
    """``2024-04-08 13:08:12 UTC``."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def reconstructible(spec: InvariantSpec) -> bool:
    """False when the spec has settings whose window this module does not know."""
    return has_plain_window(spec)


def select(spec: InvariantSpec, history: Sequence[Seen], drift_window: int) -> list[Seen]:
    """The observations the invariant measured at the last one of ``history``."""
    if not history:
        return []
    if spec.type == "drift":
        return list(history[-drift_window:])
    if spec.window is not None:
        return list(history[-spec.window :])
    if spec.window_seconds is not None:
        now = history[-1].timestamp
        start = now - spec.window_seconds
        return [seen for seen in history if start < seen.timestamp <= now]
    return list(history)


def window_phrase(spec: InvariantSpec, drift_window: int) -> str:
    """``the last 100 actions``, ``the last 5 minutes``, ``the whole history``."""
    if spec.type == "drift":
        return f"the drift window (the agent's last {drift_window} actions)"
    if spec.window is not None:
        return f"the last {spec.window} actions" if spec.window != 1 else "the last action"
    if spec.window_seconds is not None:
        return f"the last {format_duration(spec.window_seconds)}"
    return "the agent's whole history"


def explain(
    spec: InvariantSpec,
    result: InvariantResult,
    history: Sequence[Seen],
    *,
    expected: Mapping[str, Mapping[str, float]] | None = None,
    drift_window: int = 100,
) -> Explanation:
    """The explanation of ``result`` (the runtime's) for the last observation of ``history``."""
    value = format_number(result.current_value) if result.measured else "not measured"
    opening = f"{result.detail}"
    if not reconstructible(spec):
        return Explanation(
            window="not reconstructed",
            actions=0,
            first_line=None,
            last_line=None,
            drivers=(),
            sentences=(
                opening,
                "This rule has settings the report does not reconstruct windows for, so the "
                "actions behind its value are not listed.",
            ),
        )
    window = select(spec, history, drift_window)
    phrase = window_phrase(spec, drift_window)
    if window:
        first, last = window[0], window[-1]
        span = (
            f"{phrase}: {len(window)} action{'s' if len(window) != 1 else ''}, "
            f"lines {first.line} to {last.line} ({clock(first.timestamp)} to {clock(last.timestamp)})"
            if len(window) > 1
            else f"{phrase}: 1 action, line {first.line} ({clock(first.timestamp)})"
        )
    else:
        span = f"{phrase}: no action"
    drivers = tuple(_drivers(spec, window, expected or {}))
    sentences = [opening, f"The value ({value}) was measured over {span}."]
    if drivers:
        sentences.append("What drove it: " + "; ".join(drivers) + ".")
    return Explanation(
        window=phrase,
        actions=len(window),
        first_line=window[0].line if window else None,
        last_line=window[-1].line if window else None,
        drivers=drivers,
        sentences=tuple(sentences),
    )


def _counted(counts: Counter[str], total: int, limit: int = 3) -> list[str]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [f"{name} {count} of {total} ({100 * count / total:.0f}%)" for name, count in ranked]


def _drivers(
    spec: InvariantSpec, window: Sequence[Seen], expected: Mapping[str, Mapping[str, float]]
) -> list[str]:
    if not window:
        return []
    total = len(window)
    kind = spec.type
    if kind == "ratio":
        numerator, denominator = split_ratio_metric(spec.metric)
        counts = Counter(seen.action for seen in window)
        return [
            f"{counts[numerator]} {numerator} against {counts[denominator]} {denominator} "
            f"in {total} actions"
        ]
    if kind == "distribution":
        by_target = spec.metric in ("target_max", "target_count")
        counts = Counter(seen.target if by_target else seen.action for seen in window)
        noun = "targets" if by_target else "actions"
        if spec.metric == "target_count":
            return [f"{len(counts)} distinct targets: " + ", ".join(sorted(counts)[:10])]
        return [f"largest {noun}: " + ", ".join(_counted(counts, total))]
    if kind == "count":
        by_target = spec.metric == "distinct_targets"
        names = sorted({seen.target if by_target else seen.action for seen in window})
        more = f" and {len(names) - 10} more" if len(names) > 10 else ""
        noun = "targets" if by_target else "action types"
        return [f"{len(names)} distinct {noun}: " + ", ".join(names[:10]) + more]
    if kind == "rate":
        counts = Counter(seen.action for seen in window)
        return [
            f"{total} actions in the window, most of them " + ", ".join(_counted(counts, total))
        ]
    if kind == "temporal":
        hours = parse_temporal_metric(spec.metric)
        zone = ZoneInfo(hours.zone) if hours.zone else UTC
        outside = [
            seen
            for seen in window
            if not hours.allows(datetime.fromtimestamp(seen.timestamp, zone).hour)
        ]
        if not outside:
            return [f"no action outside {hours.label()}"]
        listed = ", ".join(
            f"line {seen.line} {seen.action} {seen.target} at "
            f"{datetime.fromtimestamp(seen.timestamp, zone).strftime('%H:%M')}"
            for seen in outside[:5]
        )
        more = f" and {len(outside) - 5} more" if len(outside) > 5 else ""
        return [f"{len(outside)} of {total} actions outside {hours.label()}: {listed}{more}"]
    if kind == "semantic":
        scored = [
            (seen, seen.semantic[spec.metric]) for seen in window if spec.metric in seen.semantic
        ]
        if not scored:
            return [f'no action in the window reported a fidelity for "{spec.metric}"']
        lowest = sorted(scored, key=lambda item: (item[1], item[0].line))[:3]
        listed = ", ".join(f"line {seen.line} {format_number(score)}" for seen, score in lowest)
        return [
            f'{len(scored)} actions reported a fidelity for "{spec.metric}"; the lowest: {listed}'
        ]
    if kind == "drift":
        return _drift_drivers(spec.metric, window, expected)
    return []


def _drift_drivers(
    distribution: str, window: Sequence[Seen], expected: Mapping[str, Mapping[str, float]]
) -> list[str]:
    pick = {"action": "action", "target": "target", "outcome": "outcome"}.get(distribution)
    if pick is None or pick not in expected:
        return []
    shares = expected[pick]
    names = [getattr(seen, pick) for seen in window if getattr(seen, pick) is not None]
    if not names:
        return []
    counts = Counter(names)
    total = len(names)
    gaps = sorted(
        (
            (counts.get(name, 0) / total - shares.get(name, 0.0), name)
            for name in set(counts) | set(shares)
        ),
        key=lambda item: (-abs(item[0]), item[1]),
    )[:3]
    return [
        f"{name}: {100 * counts.get(name, 0) / total:.0f}% of the window against "
        f"{100 * shares.get(name, 0.0):.0f}% expected"
        for gap, name in gaps
        if not math.isclose(gap, 0.0, abs_tol=1e-12)
    ]
