"""Rule conflicts: rules on the same metric and window that contradict or repeat each other.

Input: the checked rules of one set (a file's top level, or one contract),
as ``(RuleFacts, report)`` pairs in source order. Output: diagnostics through
each rule's report function: NMO500 when no value satisfies two rules
together, NMO501 (warning) when one rule already implies another. Stage:
checking, after every rule of the set is known.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from nomotic_dsl.compiler.semantics.rules import RuleFacts
from nomotic_dsl.compiler.semantics.values import Report
from nomotic_dsl.ir.spec import EQ_TOLERANCE


@dataclass(frozen=True, slots=True)
class Interval:
    """The values a rule allows: from ``low`` to ``high``, each end open or closed."""

    low: float
    low_closed: bool
    high: float
    high_closed: bool

    def is_empty(self) -> bool:
        """True when no value lies inside."""
        if self.low > self.high:
            return True
        return self.low == self.high and not (self.low_closed and self.high_closed)

    def intersect(self, other: Interval) -> Interval:
        """The values both allow."""
        low, low_closed = _tighter_low(self, other)
        high, high_closed = _tighter_high(self, other)
        return Interval(low, low_closed, high, high_closed)

    def within(self, other: Interval) -> bool:
        """True when every value this allows, ``other`` allows too."""
        return self.intersect(other) == self


def _tighter_low(a: Interval, b: Interval) -> tuple[float, bool]:
    if a.low != b.low:
        return (a.low, a.low_closed) if a.low > b.low else (b.low, b.low_closed)
    return a.low, a.low_closed and b.low_closed


def _tighter_high(a: Interval, b: Interval) -> tuple[float, bool]:
    if a.high != b.high:
        return (a.high, a.high_closed) if a.high < b.high else (b.high, b.high_closed)
    return a.high, a.high_closed and b.high_closed


def allowed(facts: RuleFacts) -> Interval:
    """The interval of values that satisfy a rule."""
    t, inf = facts.threshold, math.inf
    match facts.operator:
        case "lt":
            return Interval(-inf, False, t, False)
        case "lte":
            return Interval(-inf, False, t, True)
        case "gt":
            return Interval(t, False, inf, False)
        case "gte":
            return Interval(t, True, inf, False)
        case "eq":
            return Interval(t - EQ_TOLERANCE, True, t + EQ_TOLERANCE, True)
    return Interval(t, True, facts.threshold_upper or t, True)


def _key(facts: RuleFacts) -> tuple[object, ...]:
    # Rules with different warm-ups, or one per session and one not, measure different
    # things: they are not compared.
    return (
        facts.type,
        facts.metric,
        facts.window,
        facts.window_seconds,
        facts.min_actions,
        facts.per_session,
    )


def find_conflicts(rules: Sequence[tuple[RuleFacts, Report, str]]) -> None:
    """Report contradictory and redundant pairs; the later rule of a pair is reported.

    Each entry is the rule's facts, the report function of its file, and where
    it is (``file:line``) so the message can point at the other rule.
    """
    for index, (later, report, _) in enumerate(rules):
        for earlier, _, place in rules[:index]:
            if _key(earlier) == _key(later):
                _compare(earlier, later, report, place)


def _compare(earlier: RuleFacts, later: RuleFacts, report: Report, place: str) -> None:
    first, second = allowed(earlier), allowed(later)
    where = _where(later)
    if first.intersect(second).is_empty():
        report(
            "NMO500",
            later.span,
            f"no value of {where} satisfies both this rule and the rule at {place}",
            "remove one of them, or widen the bounds so they overlap",
        )
    elif first.within(second):
        report(
            "NMO501",
            later.span,
            f"this rule on {where} is redundant: the rule at {place} already implies it",
            "keep only the stricter rule",
        )
    elif second.within(first):
        report(
            "NMO501",
            later.span,
            f"this rule on {where} makes the rule at {place} redundant",
            "keep only the stricter rule",
        )


def _where(facts: RuleFacts) -> str:
    window = ""
    if facts.window is not None:
        window = f" over {facts.window} actions"
    elif facts.window_seconds is not None:
        window = f" over {facts.window_seconds:g}s"
    return f"{facts.type} {facts.metric}{window}"
