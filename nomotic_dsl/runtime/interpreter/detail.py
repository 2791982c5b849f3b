"""Result detail sentences: what a compliance reader sees for one evaluation.

The spec-dependent phrases (``DetailText``, ``nomotic_dsl.ir.describe``) are
computed once, by the interpreter when it compiles a set and by the code
generator at build time; ``render_detail`` assembles the sentence at
evaluation time, so the interpreter and generated evaluators produce
identical text.
"""

from __future__ import annotations

from nomotic_dsl.ir.describe import DetailText, format_duration, format_number
from nomotic_dsl.runtime.interpreter.judge import APPROACHING, SATISFIED

# How a value was obtained; each reads differently in the detail sentence.
BASIS_WINDOW = "window"  # measured over the invariant's window
BASIS_HISTORY = "history"  # no window: measured over every recorded action
BASIS_SNAPSHOT = "snapshot"  # no window: read from the state's snapshot fields
BASIS_EMPTY = "empty"  # nothing to measure: value taken as 0.0
BASIS_NO_DATA = "no_data"  # drift or semantic value absent: not measured
BASIS_WARMUP = "warmup"  # fewer actions than the spec's min_actions: not measured yet
BASIS_NO_BASELINE = "no_baseline"  # a growth with no earlier window to compare: not measured

# Bases of results that measured nothing: never violated, never counted as satisfied.
UNMEASURED_BASES = frozenset({BASIS_EMPTY, BASIS_NO_DATA, BASIS_WARMUP, BASIS_NO_BASELINE})


def _where(text: DetailText, basis: str) -> str:
    if basis == BASIS_SNAPSHOT:
        return "in the reported snapshot"
    if basis == BASIS_HISTORY:
        return "over all recorded actions"
    return text.window or "over all recorded actions"


def _verdict(status: str, margin: float) -> str:
    if status == SATISFIED:
        return "satisfied"
    if status == APPROACHING:
        return f"satisfied, but close to the bound (margin {format_number(margin)})"
    return "violated"


def render_detail(
    text: DetailText, value: float, margin: float, status: str, basis: str, note: str = ""
) -> str:
    """The detail sentence of one result; ``note`` is what the measurement adds (a count)."""
    if basis == BASIS_WARMUP:
        return (
            f"{text.subject} is not measured yet: it needs {text.needs} "
            f"{_where(text, basis)} and has {note}; it {text.requirement}."
        )
    if basis == BASIS_NO_DATA:
        return f"{text.subject} has no data, so it is not measured; it {text.requirement}."
    if basis == BASIS_NO_BASELINE:
        return f"{text.subject} is not measured: {note}; it {text.requirement}."
    if basis == BASIS_EMPTY:
        return (
            f"{text.subject} has nothing to measure {_where(text, basis)} (no actions), "
            f"so it is not measured; it {text.requirement}."
        )
    measured = format_number(value) + (f" ({note})" if note else "")
    return (
        f"{text.subject} is {measured} {_where(text, basis)}; "
        f"it {text.requirement}: {_verdict(status, margin)}."
    )


def growth_note(recent: int, previous: int, seconds: float) -> str:
    """What a growth result adds to its value: the two counts it divides."""
    return f"{recent} against {previous} in the {format_duration(seconds)} before"


def short_history_note(seconds: float) -> str:
    """Why a growth is not measured: the history is shorter than two windows."""
    return f"the recorded actions do not reach back {format_duration(2.0 * seconds)} yet"


def empty_before_note(seconds: float) -> str:
    """Why a growth is not measured: the window before the last one holds no action."""
    window = format_duration(seconds)
    return f"no action in the {window} before the last {window}, so there is nothing to compare"


def term_note(term: str) -> str:
    """What an every-term result adds to its value: the term with the lowest fidelity."""
    return f'term "{term}"'
