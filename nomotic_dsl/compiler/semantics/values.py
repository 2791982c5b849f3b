"""Values: literals and constants resolved to quantities with a unit kind.

Input: ``ast.Value`` nodes and the constant table. Output: ``Quantity``
(a plain number, a percent, a duration in seconds, a rate in actions per
second, a baseline multiple, or a multiple of the previous window's rate) or None after reporting the problem. Stage:
checking. Units and their spellings live here, and so do the checks every
number passes whatever it is for: not too many digits (NMO312), finite and
not too large (NMO313).

Every value position says which kinds it takes (``ValueResolver.typed``): a
share takes a number or a percent, a count a whole number, a rate a number
(per second), a rate (`5 per minute`), a baseline multiple or a growth bound
(`2x previous`). A value of
another kind is reported with both kinds named (NMO306).
"""

from __future__ import annotations

import bisect
import difflib
import math
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import assert_never

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.limits import (
    MAX_MAGNITUDE,
    MAX_NUMBER_CHARS,
    MAX_SUGGESTION_CANDIDATES,
    MAX_SUGGESTIONS,
)
from nomotic_dsl.compiler.source import Span
from nomotic_dsl.compiler.units import DURATION_UNITS, RATE_PER_UNITS

NUMBER = "number"
PERCENT = "percent"
DURATION = "duration"
BASELINE = "baseline"
PREVIOUS = "previous"
RATE = "rate"

# How each kind is named in messages.
KIND_NAMES = {
    NUMBER: "a number",
    PERCENT: "a percent",
    DURATION: "a duration",
    BASELINE: "a baseline multiple",
    PREVIOUS: "a multiple of the previous window's rate",
    RATE: "a rate",
}

# The unit tables live in compiler/units.py, where the parse driver reads them too.
Report = Callable[[str, Span, str, str | None], None]


@dataclass(frozen=True, slots=True)
class Quantity:
    """A resolved value: ``amount`` in base units (seconds, share, actions per second)."""

    kind: str
    amount: float
    text: str
    span: Span
    whole: bool  # written without a fractional part (for counts and windows)


def did_you_mean(word: str, known: Iterable[str]) -> str | None:
    """``did you mean `x`?`` when a known name is close to ``word``.

    Only names of a similar length can be close (difflib's ratio is at most
    ``2 * shorter / (a + b)``), and at most ``MAX_SUGGESTION_CANDIDATES`` of
    them are compared, so a suggestion costs the same against a scope of ten
    names or of a hundred thousand; a large set (``SortedNames``) also answers
    at most ``MAX_SUGGESTIONS`` such questions, so a thousand misses against
    it stay cheap (the rest get the plain hint).
    """
    if isinstance(known, SortedNames) and not known.spend():
        return None
    candidates = _similar_length(word, known)
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def _similar_length(word: str, known: Iterable[str]) -> list[str]:
    # ratio >= 0.6 needs shorter / longer >= 0.6 / 1.4, about 0.43.
    low, high = math.floor(len(word) * 0.42), math.ceil(len(word) / 0.42)
    if isinstance(known, SortedNames):
        return known.between(low, high)
    out = sorted(name for name in known if low <= len(name) <= high)
    return out[:MAX_SUGGESTION_CANDIDATES]


class SortedNames(Collection[str]):
    """A set of names indexed by length, for membership and cheap did-you-mean."""

    def __init__(self, names: Iterable[str]) -> None:
        self._set = frozenset(names)
        self._by_length = sorted(self._set, key=lambda name: (len(name), name))
        self._lengths = [len(name) for name in self._by_length]
        self._budget = MAX_SUGGESTIONS if len(self._set) > MAX_SUGGESTION_CANDIDATES else -1

    def spend(self) -> bool:
        """True while this set may still be searched for a suggestion (large sets are rationed)."""
        if self._budget < 0:
            return True
        self._budget -= 1
        return self._budget >= 0

    def __contains__(self, name: object) -> bool:
        return name in self._set

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._set))

    def __len__(self) -> int:
        return len(self._set)

    def between(self, low: int, high: int) -> list[str]:
        """Names of length ``low..high``, at most ``MAX_SUGGESTION_CANDIDATES`` of them."""
        start = bisect.bisect_left(self._lengths, low)
        stop = bisect.bisect_right(self._lengths, high)
        return self._by_length[start : min(stop, start + MAX_SUGGESTION_CANDIDATES)]


def number_problem(text: str, amount: float) -> tuple[str, str] | None:
    """(code, message) when a number literal is too long or not a finite, sane magnitude."""
    digits = sum(char.isdigit() for char in text)
    if digits > MAX_NUMBER_CHARS:
        return (
            "NMO312",
            f"this number has {digits} digits, more than the {MAX_NUMBER_CHARS} allowed",
        )
    if not math.isfinite(amount) or abs(amount) > MAX_MAGNITUDE:
        return (
            "NMO313",
            f"`{_short(text)}` is too large for any field (at most {MAX_MAGNITUDE:g})",
        )
    return None


def _either(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " or " + phrases[-1]


def _short(text: str) -> str:
    return text if len(text) <= 24 else text[:21] + "..."


class ValueResolver:
    """Resolves values against a constant table, reporting unknown names and units."""

    def __init__(self, constants: Mapping[str, ast.ConstDecl], report: Report) -> None:
        self.constants = constants
        self.report = report

    def resolve(self, value: ast.Value, depth: int = 0) -> Quantity | None:
        """The quantity a value denotes, or None after reporting why it has none."""
        match value:
            case ast.NumberLit():
                if not self._sane(value.text, value.value, value.span):
                    return None
                whole = "." not in value.text
                return Quantity(NUMBER, value.value, value.text, value.span, whole)
            case ast.PercentLit():
                if not self._sane(value.text, value.value, value.span):
                    return None
                return Quantity(PERCENT, value.value, value.text, value.span, False)
            case ast.UnitNumber():
                if not self._sane(value.text, value.amount, value.span):
                    return None
                return self._duration(value)
            case ast.BaselineRef():
                if not self._sane(value.text, value.multiplier, value.span):
                    return None
                return Quantity(BASELINE, value.multiplier, value.text, value.span, False)
            case ast.PreviousRef():
                if not self._sane(value.text, value.multiplier, value.span):
                    return None
                return Quantity(PREVIOUS, value.multiplier, value.text, value.span, False)
            case ast.ConstRef():
                return self._constant(value, depth)
            case ast.RateLit():
                return self._rate(value, depth)
            case _:
                assert_never(value)

    def _sane(self, text: str, amount: float, span: Span) -> bool:
        problem = number_problem(text, amount)
        if problem is None:
            return True
        code, message = problem
        self.report(code, span, message, None)
        return False

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

    def _rate(self, value: ast.RateLit, depth: int) -> Quantity | None:
        amount = self.resolve(value.amount, depth)
        per = RATE_PER_UNITS.get(value.per.text)
        if per is None and value.per.text == "session":
            self.report(
                "NMO203",
                value.per_span,
                "`per session` is not a unit of this value",
                "`per session` ends a rule, after its bounds and window: "
                "`count distinct_targets <= 5 over 1h per session`",
            )
        elif per is None:
            self.report(
                "NMO203",
                value.per.span,
                f"unknown unit `per {value.per.text}`",
                did_you_mean(value.per.text, ("second", "minute", "hour", "day"))
                or "write `per second`, `per minute`, `per hour` or `per day`",
            )
        if amount is None or per is None:
            return None
        if amount.kind != NUMBER:
            self.report(
                "NMO306",
                amount.span,
                f"a rate counts actions: `{amount.text}` is {KIND_NAMES[amount.kind]}, not a number",
                "write a number of actions: `5 per minute`",
            )
            return None
        return Quantity(RATE, amount.amount / per, value.text, value.span, False)

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
            if depth == 0:
                # The declaration's own problem is reported where it is; the
                # rule that uses it cannot be lowered either, and says so here.
                self.report(
                    "NMO204",
                    value.span,
                    f"constant `{value.name}` has no value: its declaration has a problem",
                    None,
                )
            return None
        # Keep the use's span so problems point at the rule, not the declaration.
        return Quantity(resolved.kind, resolved.amount, value.name, value.span, resolved.whole)

    def typed(
        self,
        value: ast.Value,
        what: str,
        kinds: tuple[str, ...],
        help_text: str | None = None,
        expected: str | None = None,
    ) -> Quantity | None:
        """A value of one of ``kinds``; another kind is reported naming both (NMO306)."""
        quantity = self.resolve(value)
        if quantity is None:
            return None
        if quantity.kind not in kinds:
            allowed = expected or _either([KIND_NAMES[kind] for kind in kinds])
            self.report(
                "NMO306",
                quantity.span,
                f"{what} is {allowed}, but `{quantity.text}` is {KIND_NAMES[quantity.kind]}",
                help_text,
            )
            return None
        return quantity

    def number(self, value: ast.Value, what: str) -> Quantity | None:
        """A plain number or percent; anything else is reported as the wrong kind."""
        return self.typed(value, what, (NUMBER, PERCENT))

    def whole(self, value: ast.Value, what: str, code: str = "NMO304") -> Quantity | None:
        """A whole number (no percent, no fraction); ``code`` for a fractional one."""
        quantity = self.typed(value, what, (NUMBER,), expected="a whole number")
        if quantity is None:
            return None
        if not quantity.whole or quantity.amount != int(quantity.amount):
            self.report(code, quantity.span, f"{what} must be whole, not `{quantity.text}`", None)
            return None
        return quantity
