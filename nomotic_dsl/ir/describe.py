"""Spec descriptions: the words a rule is put in, from the spec alone.

Input: an ``InvariantSpec``. Output: the phrases of a reader's sentence about it
(``DetailText``: subject, requirement, window) and the default description a
spec gets when its author wrote none. Both sides use these: the compiler writes
descriptions into specs and detail phrases into generated code; the runtime
builds each result's detail sentence from the same phrases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nomotic_dsl.ir.spec import (
    EVERY_TERM,
    InvariantSpec,
    parse_temporal_metric,
    split_ratio_metric,
)

_SUBJECTS = {
    ("distribution", "target_max"): "largest single-target share",
    ("distribution", "action_max"): "largest single-action share",
    ("distribution", "target_count"): "number of distinct targets",
    ("rate", "action_frequency"): "action rate (actions per second)",
    ("rate", "action_frequency_growth"): "growth of the action rate (actions in the window "
    "against the window before)",
    ("count", "distinct_targets"): "number of distinct targets",
    ("count", "distinct_actions"): "number of distinct action types",
}


@dataclass(frozen=True, slots=True)
class DetailText:
    """The spec-dependent phrases of a result's detail sentence."""

    subject: str
    requirement: str
    window: str
    needs: str = ""


def format_number(value: float) -> str:
    """A short, deterministic rendering of a measured value or bound."""
    if math.isinf(value):
        return "infinite" if value > 0 else "minus infinity"
    if math.isnan(value):
        return "not measured"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def format_duration(seconds: float) -> str:
    """``3600`` -> ``1 hour``; ``90`` -> ``90 seconds``."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{format_number(seconds)} second{'s' if seconds != 1 else ''}"


def subject_of(spec: InvariantSpec) -> str:
    """What the invariant measures, as a noun phrase."""
    known = _SUBJECTS.get((spec.type, spec.metric))
    if known is not None:
        return known
    if spec.type == "ratio":
        numerator, denominator = split_ratio_metric(spec.metric)
        return f"{numerator}-to-{denominator} ratio"
    if spec.type == "drift":
        return f"{spec.metric} drift"
    if spec.type == "semantic" and spec.metric == EVERY_TERM:
        return "lowest semantic fidelity of any term"
    if spec.type == "semantic":
        return f'semantic fidelity of "{spec.metric}"'
    if spec.type == "temporal":
        hours = parse_temporal_metric(spec.metric)
        return f"share of actions outside allowed hours {hours.label()}"
    return f"{spec.type} {spec.metric}"


def requirement_of(spec: InvariantSpec) -> str:
    """The bound, as a verb phrase: ``must stay below 0.3``."""
    bound = format_number(spec.threshold)
    match spec.operator:
        case "lt":
            return f"must stay below {bound}"
        case "lte":
            return f"must stay at or below {bound}"
        case "gt":
            return f"must stay above {bound}"
        case "gte":
            return f"must stay at or above {bound}"
        case "eq":
            return f"must equal {bound} (within 0.001)"
        case "between":
            upper = format_number(spec.threshold_upper or 0.0)
            return f"must stay between {bound} and {upper}"
    return f"must satisfy {spec.operator} {bound}"


def window_of(spec: InvariantSpec) -> str:
    """The window, as an adverbial phrase; empty when the spec has none."""
    session = " of the current session" if spec.per_session else ""
    if spec.window is not None:
        unit = "action" if spec.window == 1 else f"{spec.window} actions"
        return f"over the last {unit}{session}"
    if spec.window_seconds is not None:
        return f"over the last {format_duration(spec.window_seconds)}{session}"
    return "over the actions of the current session" if spec.per_session else ""


def actions_phrase(count: int) -> str:
    """``1 action``, ``100 actions``."""
    return "1 action" if count == 1 else f"{count} actions"


def needs_of(spec: InvariantSpec) -> str:
    """The warm-up, as a noun phrase (``100 actions``); empty when the spec has none."""
    return "" if spec.min_actions is None else actions_phrase(spec.min_actions)


def detail_text(spec: InvariantSpec) -> DetailText:
    """Precompute the phrases of a spec's detail sentences (subject capitalised)."""
    subject = subject_of(spec)
    return DetailText(
        subject[0].upper() + subject[1:], requirement_of(spec), window_of(spec), needs_of(spec)
    )


def default_description(spec: InvariantSpec) -> str:
    """A description generated from the rule when the author gives none."""
    text = detail_text(spec)
    warmup = f"(measured from {text.needs} on)" if text.needs else ""
    parts = (text.subject, text.requirement, text.window, warmup)
    return " ".join(part for part in parts if part)
