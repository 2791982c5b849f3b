"""Values: literals and constants resolved to typed quantities.

Input: ``ast.Value`` nodes and the constant table. Output: ``Quantity``
(number, percent, duration in seconds, or baseline multiple) or None after
reporting the problem. Stage: checking. Units and their spellings live here.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import assert_never

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.source import Span

NUMBER = "number"
PERCENT = "percent"
DURATION = "duration"
BASELINE = "baseline"
PREVIOUS = "previous"

# Duration unit spellings -> seconds. `s`, `m`, `h`, `d` are the documented ones.
DURATION_UNITS: dict[str, float] = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}
RATE_PER_UNITS: dict[str, float] = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}

Report = Callable[[str, Span, str, str | None], None]


@dataclass(frozen=True, slots=True)
class Quantity:
    """A resolved value: ``amount`` in base units (seconds for durations, share for percents)."""

    kind: str
    amount: float
    text: str
    span: Span
    whole: bool  # written without a fractional part (for counts and windows)


def did_you_mean(word: str, known: Iterable[str]) -> str | None:
    """``did you mean `x`?`` when a known name is close to ``word``."""
    names = sorted(known)
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


class ValueResolver:
    """Resolves values against a constant table, reporting unknown names and units."""

    def __init__(self, constants: Mapping[str, ast.ConstDecl], report: Report) -> None:
        self.constants = constants
        self.report = report

    def resolve(self, value: ast.Value, depth: int = 0) -> Quantity | None:
        """The quantity a value denotes, or None after reporting why it has none."""
        match value:
            case ast.NumberLit():
                whole = "." not in value.text
                return Quantity(NUMBER, value.value, value.text, value.span, whole)
            case ast.PercentLit():
                return Quantity(PERCENT, value.value, value.text, value.span, False)
            case ast.UnitNumber():
                return self._duration(value)
            case ast.BaselineRef():
                return Quantity(BASELINE, value.multiplier, value.text, value.span, False)
            case ast.PreviousRef():
                return Quantity(PREVIOUS, value.multiplier, value.text, value.span, False)
            case ast.ConstRef():
                return self._constant(value, depth)
            case _:
                assert_never(value)

    def _duration(self, value: ast.UnitNumber) -> Quantity | None:
        seconds = DURATION_UNITS.get(value.unit)
        if seconds is None:
            hint = did_you_mean(value.unit, DURATION_UNITS)
            self.report(
                "NMO203",
                value.span,
                f"unknown unit `{value.unit}` in `{value.text}`",
                hint or "durations use `s`, `m`, `h` or `d`, e.g. `30s`, `15m`, `1h`, `2d`",
            )
            return None
        return Quantity(DURATION, value.amount * seconds, value.text, value.span, False)

    def _constant(self, value: ast.ConstRef, depth: int) -> Quantity | None:
        declaration = self.constants.get(value.name)
        if declaration is None:
            hint = did_you_mean(value.name, sorted(self.constants))
            self.report("NMO204", value.span, f"unknown constant `{value.name}`", hint)
            return None
        if depth > 16 or declaration.value == value:
            self.report("NMO204", value.span, f"constant `{value.name}` refers to itself", None)
            return None
        resolved = self.resolve(declaration.value, depth + 1)
        if resolved is None:
            return None
        # Keep the use's span so problems point at the rule, not the declaration.
        return Quantity(resolved.kind, resolved.amount, value.name, value.span, resolved.whole)

    def number(self, value: ast.Value, what: str) -> Quantity | None:
        """A plain number or percent; anything else is reported as the wrong kind."""
        quantity = self.resolve(value)
        if quantity is None:
            return None
        if quantity.kind not in (NUMBER, PERCENT):
            self.report(
                "NMO306",
                quantity.span,
                f"{what} must be a number or percent, not `{quantity.text}`",
                None,
            )
            return None
        return quantity
