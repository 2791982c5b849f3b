"""Rules: one rule's AST, checked and reduced to the facts of an invariant.

Input: an ``ast.Rule``, a ``RuleContext`` (file level, pack, or a contract with
its scope, anchors and archetype baseline) and a ``ValueResolver``. Output:
``RuleFacts`` (type, metric, operator, bounds, window), or None after at least
one error about the rule was reported. Stage: checking; sugar is desugared
here, so the lowerer sees one shape for every spelling.

**One spec or an error, structurally.** ``RuleChecker.check`` counts the
errors reported while it checks a rule. Every part of a rule is checked (its
metric, bounds and window, even when an earlier part is wrong), a rule with an
error yields no facts, and a rule that would yield nothing without any error
gets NMO900 (a compiler defect) instead of vanishing. The property tests in
``tests/language/test_every_rule.py`` run this on generated programs and
assert NMO900 never appears.

**Units.** Each value position takes the kinds of value its metric is
measured in: shares (distribution, drift, fidelity, temporal) a number in 0..1
or a percent; ratios a number or percent; counts a whole number; rates a
number (actions per second), `N per minute|hour|day|second`, `Nx baseline` or
`Nx previous` (the growth metric, which needs a time window: NMO322);
windows a whole number of actions or a duration (`15m`, `15 minutes`);
warm-ups (`after N actions`) a whole number of actions, and `once full` a
window of N actions (NMO320). A bound no measured value can meet, or that
every value meets, is a warning (NMO310, NMO311); a window on a drift rule,
which reads no window, is an error (NMO314), and so is `per session` (NMO321).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field
from fractions import Fraction
from typing import assert_never

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.diagnostics.codes import ERROR, code_info
from nomotic_dsl.compiler.limits import (
    MAX_COUNT,
    MAX_WINDOW_ACTIONS,
    MAX_WINDOW_SECONDS,
)
from nomotic_dsl.compiler.semantics.values import (
    BASELINE,
    DURATION,
    NUMBER,
    PERCENT,
    PREVIOUS,
    RATE,
    Quantity,
    Report,
    ValueResolver,
    did_you_mean,
)
from nomotic_dsl.compiler.source import Span
from nomotic_dsl.compiler.units import COUNT_UNITS, DURATION_UNITS
from nomotic_dsl.ir.describe import format_number
from nomotic_dsl.ir.spec import (
    COUNT_METRICS,
    DISTRIBUTION_METRICS,
    DRIFT_DISTRIBUTIONS,
    EQ_TOLERANCE,
    EVERY_TERM,
    INVARIANT_TYPES,
    RATE_GROWTH,
    RATE_METRICS,
    is_proportion,
    load_zone,
    split_ratio_metric,
)

OPERATORS_WRITTEN: dict[str, str] = {
    "<": "lt",
    "<=": "lte",
    ">": "gt",
    ">=": "gte",
    "==": "eq",
    "below": "lt",
    "above": "gt",
    "at most": "lte",
    "at least": "gte",
    "exactly": "eq",
    "between": "between",
}
FILE, PACK, CONTRACT = "file", "pack", "contract"
_RATE_HELP = (
    "a rate is actions per unit of time: `0.5` (per second), `30 per minute`, "
    "`100 per hour` or `2x baseline`"
)
# Types whose metric reads no window: the state carries their value for the
# contract's window (docs/invariants.md, "Windows and missing data").
WINDOWLESS_TYPES = frozenset({"drift"})


@dataclass(frozen=True, slots=True)
class RuleContext:
    """Where a rule is checked: at file level, in a pack, or for one contract."""

    mode: str = FILE
    agent_id: str | None = None
    scope_actions: Collection[str] | None = None
    anchors: frozenset[str] = frozenset()
    archetype: str | None = None
    baseline_rate: float | None = None


@dataclass(frozen=True, slots=True)
class RuleFacts:
    """What one rule means, ready to lower to an InvariantSpec."""

    type: str
    metric: str
    operator: str
    threshold: float
    threshold_upper: float | None
    window: int | None
    window_seconds: float | None
    span: Span = field(compare=False)
    baseline_multiplier: float | None = None
    min_actions: int | None = None
    per_session: bool = False


@dataclass(frozen=True, slots=True)
class _Bounds:
    operator: str
    lower: Quantity
    upper: Quantity | None


@dataclass(frozen=True, slots=True)
class _Window:
    count: int | None = None
    seconds: float | None = None


_NO_WINDOW = _Window()


class RuleChecker:
    """Checks rules in one context; every problem goes to ``report``."""

    def __init__(self, context: RuleContext, values: ValueResolver, report: Report) -> None:
        self.context = context
        self._report = report
        self.errors = 0
        self.deferred = False
        self.values = ValueResolver(values.constants, self.report)

    def report(self, code: str, span: Span, message: str, help_text: str | None) -> None:
        """Report a problem, counting errors (a rule with one yields no facts)."""
        if code_info(code).severity == ERROR:
            self.errors += 1
        self._report(code, span, message, help_text)

    def _reported_elsewhere(self) -> None:
        """The problem was reported by the AST builder; count it as this rule's error."""
        self.errors += 1

    def check(self, rule: ast.Rule) -> RuleFacts | None:
        """The facts of ``rule``, or None when it has errors (at least one reported)."""
        before, self.deferred = self.errors, False
        facts = self._check(rule)
        if self.errors > before:
            return None
        if facts is None and not self.deferred:
            self.report(
                "NMO900",
                rule.span,
                "this rule gave neither an invariant nor a diagnostic",
                "this is a defect of the compiler; please report it with this rule",
            )
        return facts

    def _check(self, rule: ast.Rule) -> RuleFacts | None:
        match rule:
            case ast.PlainRule():
                return self._plain(rule)
            case ast.OutsideHours():
                metric = self._hours(rule.hours, rule.zone)
                zero = Quantity(NUMBER, 0.0, "0", rule.span, True)
                return self._finish(rule, "temporal", metric, _Bounds("eq", zero, None), None)
            case ast.DistinctCount():
                return self._distinct(rule)
            case ast.SingleShare():
                return self._single(rule)
            case ast.Fidelity():
                metric = self._term(rule.term)
                bounds = self._bounds("semantic", rule.comparison)
                return self._finish(rule, "semantic", metric, bounds, rule.window)
            case ast.TermShift():
                metric = self._term(ast.EveryTerm(span=rule.span))
                return self._finish(rule, "semantic", metric, self._shift(rule), rule.window)
            case _:
                assert_never(rule)

    # ---- forms ---------------------------------------------------------------

    def _plain(self, rule: ast.PlainRule) -> RuleFacts | None:
        kind = rule.kind.text
        if kind not in INVARIANT_TYPES:
            hint = did_you_mean(kind, INVARIANT_TYPES)
            self.report(
                "NMO200",
                rule.kind.span,
                f"unknown invariant type `{kind}`",
                hint or f"the types are {', '.join(INVARIANT_TYPES)}",
            )
            self._bounds(None, rule.comparison)
            return None
        metric = self._metric(kind, rule.metric, rule.kind.span)
        bounds = self._bounds(kind, rule.comparison, metric)
        return self._finish(rule, kind, metric, bounds, rule.window)

    def _distinct(self, rule: ast.DistinctCount) -> RuleFacts | None:
        subjects = {
            "targets": "distinct_targets",
            "actions": "distinct_actions",
            "target": "distinct_targets",
            "action": "distinct_actions",
        }
        metric = subjects.get(rule.subject.text)
        if metric is None:
            self._unknown_metric("count", rule.subject, ("targets", "actions"))
        operator = "lte" if rule.bound == "at most" else "gte"
        threshold = self._threshold("count", metric, rule.value)
        bounds = None if threshold is None else _Bounds(operator, threshold, None)
        return self._finish(rule, "count", metric, bounds, rule.window)

    def _single(self, rule: ast.SingleShare) -> RuleFacts | None:
        subjects = {
            "target": "target_max",
            "action": "action_max",
            "targets": "target_max",
            "actions": "action_max",
        }
        metric = subjects.get(rule.subject.text)
        if metric is None:
            self._unknown_metric("distribution", rule.subject, ("target", "action"))
        # "no single target above 60%" allows 60% itself: the share stays at most 0.6.
        flipped = {"above": "lte", ">": "lte", ">=": "lt"}.get(rule.comparison.operator)
        threshold = self._threshold("distribution", metric or "target_max", rule.comparison.value)
        if flipped is None:
            self.report(
                "NMO202",
                rule.comparison.span,
                f"`no single {rule.subject.text}` takes `above`, not `{rule.comparison.operator}`",
                f"write `no single {rule.subject.text} above ...`",
            )
        bounds = None if threshold is None or flipped is None else _Bounds(flipped, threshold, None)
        return self._finish(rule, "distribution", metric, bounds, rule.window)

    # ---- metrics -------------------------------------------------------------

    def _metric(self, kind: str, metric: ast.Metric | None, kind_span: Span) -> str | None:
        if metric is None:
            if kind == "rate":
                return "action_frequency"
            self.report("NMO201", kind_span, f"a {kind} rule needs a metric", _METRIC_HELP[kind])
            return None
        match metric:
            case ast.RatioMetric():
                return self._ratio(kind, metric)
            case ast.HoursMetric():
                if kind != "temporal":
                    return self._wrong_metric(kind, metric.span)
                return self._hours(metric.hours, metric.zone)
            case ast.TermMetric():
                if kind != "semantic":
                    return self._wrong_metric(kind, metric.span)
                return self._term(metric.term)
            case ast.NameMetric():
                return self._named(kind, metric.name)
            case ast.EveryTerm():
                if kind != "semantic":
                    return self._wrong_metric(kind, metric.span)
                return self._term(metric)
            case _:
                assert_never(metric)

    def _named(self, kind: str, name: ast.Name) -> str | None:
        if kind == "semantic":
            return self._term(name)
        if kind == "ratio":
            return self._ratio_name(name)
        known = {
            "distribution": DISTRIBUTION_METRICS,
            "drift": DRIFT_DISTRIBUTIONS,
            "rate": RATE_METRICS,
            "count": COUNT_METRICS,
        }.get(kind)
        if known is None:
            return self._wrong_metric(kind, name.span)
        if name.text not in known:
            return self._unknown_metric(kind, name, known)
        return name.text

    def _unknown_metric(self, kind: str, name: ast.Name, known: tuple[str, ...]) -> str | None:
        code = "NMO403" if kind == "drift" else "NMO201"
        what = "drift key" if kind == "drift" else f"{kind} metric"
        hint = did_you_mean(name.text, known) or f"use one of {', '.join(known)}"
        self.report(code, name.span, f"unknown {what} `{name.text}`", hint)
        return None

    def _wrong_metric(self, kind: str, span: Span) -> str | None:
        self.report("NMO201", span, f"this is not a {kind} metric", _METRIC_HELP[kind])
        return None

    def _ratio_name(self, name: ast.Name) -> str | None:
        """``ratio write_to_read``: the spec metric written out; it must name two actions."""
        try:
            numerator, denominator = split_ratio_metric(name.text)
        except ValueError:
            if "_to_" not in name.text:
                self.report(
                    "NMO201",
                    name.span,
                    f"`{name.text}` is not a ratio metric",
                    "write two actions: `ratio write/read < 0.3` (or `write_to_read`)",
                )
            else:
                self.report(
                    "NMO315",
                    name.span,
                    f"`{name.text}` does not name exactly two actions around one `_to_`",
                    "write the actions with a slash: `ratio write/read`; "
                    "action names in a ratio cannot contain `_to_`",
                )
            return None
        self._check_actions(((numerator, name.span), (denominator, name.span)))
        return name.text

    def _ratio(self, kind: str, metric: ast.RatioMetric) -> str | None:
        if kind != "ratio":
            return self._wrong_metric(kind, metric.span)
        numerator, denominator = metric.numerator.text, metric.denominator.text
        joined = f"{numerator}_to_{denominator}"
        try:
            carried = split_ratio_metric(joined)
        except ValueError:
            carried = None
        if carried != (numerator, denominator):
            bad = (
                metric.numerator if "_to" in numerator or "to_" in numerator else metric.denominator
            )
            read = "" if carried is None else f", which reads as `{carried[0]}` / `{carried[1]}`"
            self.report(
                "NMO315",
                bad.span,
                f"the action name `{bad.text}` cannot be carried by the ratio metric "
                f"`{joined}`{read}",
                "rename the action: in a ratio, action names may not contain `_to_`, "
                "and the first may not end with `_to`",
            )
            return None
        self._check_actions(
            ((numerator, metric.numerator.span), (denominator, metric.denominator.span))
        )
        return joined

    def _check_actions(self, actions: tuple[tuple[str, Span], ...]) -> None:
        scope = self.context.scope_actions
        if self.context.mode != CONTRACT or scope is None:
            return
        for action, span in actions:
            if action not in scope:
                self.report(
                    "NMO400",
                    span,
                    f"action `{action}` is outside the authorized scope of contract "
                    f"{self.context.agent_id!r}",
                    did_you_mean(action, scope)
                    or "add it to the contract's `scope { actions ... }`",
                )

    def _term(self, term: ast.Name | ast.EveryTerm) -> str | None:
        if isinstance(term, ast.EveryTerm):
            return self._every_term(term)
        if not term.text:
            self.report("NMO201", term.span, "a semantic rule needs a non-empty term", None)
            return None
        if term.text == EVERY_TERM:
            self.report(
                "NMO201",
                term.span,
                f'`"{EVERY_TERM}"` is not a term name',
                "write `every term` for a rule over every anchor term",
            )
            return None
        if self.context.mode == CONTRACT and term.text not in self.context.anchors:
            self.report(
                "NMO402",
                term.span,
                f"contract {self.context.agent_id!r} declares no anchor for {term.text!r}",
                did_you_mean(term.text, self.context.anchors)
                or f'add `anchor "{term.text}" {{ actions ... }}` to the contract',
            )
        return term.text

    def _every_term(self, term: ast.EveryTerm) -> str | None:
        if self.context.mode == CONTRACT and not self.context.anchors:
            self.report(
                "NMO402",
                term.span,
                f"contract {self.context.agent_id!r} declares no anchor, so a rule over every "
                "anchor term has nothing to check",
                'add an anchor: `anchor "refund" { actions ... }`',
            )
        return EVERY_TERM

    def _shift(self, rule: ast.TermShift) -> _Bounds | None:
        """``shifts more than S``: each term's fidelity must stay at or above 1 - S."""
        quantity = self._threshold("semantic", EVERY_TERM, rule.value)
        if quantity is None:
            return None
        if quantity.kind not in (NUMBER, PERCENT) or not 0.0 <= quantity.amount <= 1.0:
            self.report(
                "NMO300",
                quantity.span,
                f"`{quantity.text}` is not a share of the baseline: a shift lies within 0..1",
                "write a share such as `15%` or `0.15`",
            )
            return None
        fidelity = float(1 - Fraction(repr(quantity.amount)))
        floor = Quantity(NUMBER, fidelity, format_number(fidelity), quantity.span, False)
        return _Bounds("gte", floor, None)

    def _hours(self, hours: ast.Hours, zone: ast.Zone | None) -> str | None:
        ok = check_hours(hours, self.report)
        if zone is not None and not check_zone(zone, self.report):
            ok = False
        if not ok:
            return None
        metric = f"{int(hours.start.value)}-{int(hours.end.value)}"
        return metric if zone is None else f"{metric}@{zone.name}"

    # ---- bounds --------------------------------------------------------------

    def _bounds(
        self, kind: str | None, comparison: ast.Comparison, metric: str | None = None
    ) -> _Bounds | None:
        operator = OPERATORS_WRITTEN.get(comparison.operator)
        if operator is None:
            self.report(
                "NMO202",
                comparison.span,
                f"unknown comparison operator `{comparison.operator}`",
                "use `<`, `<=`, `>`, `>=`, `==` or `between A and B`",
            )
        lower = self._threshold(kind, metric, comparison.value)
        upper = (
            None if comparison.upper is None else self._threshold(kind, metric, comparison.upper)
        )
        if operator is None or lower is None or (comparison.upper is not None and upper is None):
            return None
        return _Bounds(operator, lower, upper)

    def _threshold(self, kind: str | None, metric: str | None, value: ast.Value) -> Quantity | None:
        """A bound of the kind the rule's metric is measured in."""
        if kind == "rate" and metric == RATE_GROWTH:
            # The growth metric is already a multiple of the previous window's rate.
            return self.values.typed(
                value,
                "a bound on the rate growth",
                (NUMBER, PREVIOUS),
                "write how many times the previous window's rate: "
                "`rate action_frequency_growth < 2 over 1h`, or `rate < 2x previous over 1h`",
                expected="a plain number (a multiple of the previous window's rate)",
            )
        if kind == "rate":
            return self.values.typed(
                value,
                "a rate threshold",
                (NUMBER, RATE, BASELINE, PREVIOUS),
                _RATE_HELP,
                expected="actions per unit of time",
            )
        if kind == "count" or (kind == "distribution" and metric == "target_count"):
            if self._previous_outside_rate(value):
                return None
            return self.values.whole(value, "a count threshold")
        quantity = self.values.resolve(value)
        if quantity is None:
            return None
        if quantity.kind in (NUMBER, PERCENT):
            return quantity
        if quantity.kind == BASELINE:
            self.report(
                "NMO306",
                quantity.span,
                "`baseline` can only bound a rate rule with one threshold",
                None,
            )
        elif quantity.kind == PREVIOUS:
            self._previous_problem(quantity.span)
        elif quantity.kind == DURATION:
            self.report(
                "NMO306",
                quantity.span,
                f"`{quantity.text}` is a duration, not a threshold",
                "durations belong in the window: `over 1h`",
            )
        else:
            self.report(
                "NMO306",
                quantity.span,
                f"`{quantity.text}` is a rate; only a rate rule takes one",
                "write a number or a percent",
            )
        return None

    def _previous_outside_rate(self, value: ast.Value) -> bool:
        """True when the bound is settled as no value: ``Nx previous`` outside a rate rule
        (NMO322), or a constant that does not resolve (already reported)."""
        if not isinstance(value, ast.PreviousRef | ast.ConstRef):
            return False
        quantity = self.values.resolve(value)
        if quantity is None:
            return True  # reported: the threshold has no value
        if quantity.kind != PREVIOUS:
            return False
        self._previous_problem(quantity.span)
        return True

    def _previous_problem(self, span: Span) -> None:
        self.report(
            "NMO322",
            span,
            "`previous` can only bound a rate rule with one threshold: "
            "`rate < 2x previous over 1h`",
            None,
        )

    # ---- windows -------------------------------------------------------------

    def _window(self, kind: str | None, window: ast.Window | None) -> _Window | None:
        """The window's count or seconds; None after an error (reported)."""
        if window is None:
            return _NO_WINDOW
        if kind in WINDOWLESS_TYPES:
            self.report(
                "NMO314",
                window.span,
                f"a {kind} rule reads no window: the drift score in the behavioral state "
                "already describes the contract's window, so this one would never be used",
                "remove the window",
            )
            return None
        quantity = self.values.resolve(window.value)
        if quantity is None:
            return None
        if window.unit is None:
            return self._unitless_window(window, quantity)
        if window.unit in COUNT_UNITS:
            return self._count_window(window, quantity)
        seconds = DURATION_UNITS.get(window.unit)
        if seconds is None:
            self.report(
                "NMO203",
                window.unit_span,
                f"unknown window unit `{window.unit}`",
                did_you_mean(window.unit, (*COUNT_UNITS, *DURATION_UNITS))
                or "a window is `N actions` or a duration: `30 seconds`, `15 minutes`, "
                "`1 hour`, `2 days` (or `30s`, `15m`, `1h`, `2d`)",
            )
            return None
        if quantity.kind != NUMBER:
            self.report(
                "NMO306",
                quantity.span,
                f"`over {quantity.text} {window.unit}`: the amount of a window must be a "
                f"number, not {_kind_name(quantity)}",
                f"write `over 15 {window.unit}`",
            )
            return None
        return self._seconds_window(quantity, quantity.amount * seconds, window)

    def _unitless_window(self, window: ast.Window, quantity: Quantity) -> _Window | None:
        if quantity.kind == DURATION:
            return self._seconds_window(quantity, quantity.amount, window)
        if quantity.kind == NUMBER:
            if isinstance(window.value, ast.NumberLit):
                self._reported_elsewhere()  # NMO104, by the AST builder
            else:
                self.report(
                    "NMO104",
                    quantity.span,
                    f"the window `over {quantity.text}` has no unit",
                    f"add a unit: `{quantity.text} actions`, or make the constant a duration",
                )
            return None
        self.report(
            "NMO306",
            quantity.span,
            f"a window is a number of actions or a duration, not {_kind_name(quantity)}",
            "write `over 100 actions` or `over 1h`",
        )
        return None

    def _seconds_window(
        self, quantity: Quantity, seconds: float, window: ast.Window
    ) -> _Window | None:
        if not seconds > 0:
            self.report(
                "NMO303", window.value.span, f"the window `{quantity.text}` is not positive", None
            )
            return None
        if seconds > MAX_WINDOW_SECONDS:
            self.report(
                "NMO313",
                window.value.span,
                f"a window of `{quantity.text}` is longer than the century a window may last",
                None,
            )
            return None
        return _Window(seconds=seconds)

    def _count_window(self, window: ast.Window, quantity: Quantity) -> _Window | None:
        if quantity.kind != NUMBER:
            self.report(
                "NMO306",
                quantity.span,
                f"`{quantity.text} {window.unit}` is not a count: the amount is {_kind_name(quantity)}",
                f"write `over N {window.unit}` or `over {quantity.text}`",
            )
            return None
        if quantity.amount < 1 or quantity.amount != int(quantity.amount) or not quantity.whole:
            self.report(
                "NMO303",
                quantity.span,
                f"a window of `{quantity.text}` actions is not a whole number of at least 1",
                "windows count whole actions: `over 100 actions`",
            )
            return None
        if quantity.amount > MAX_WINDOW_ACTIONS:
            self.report(
                "NMO313",
                quantity.span,
                f"a window of `{quantity.text}` actions is more than the "
                f"{MAX_WINDOW_ACTIONS:,} a window may hold",
                None,
            )
            return None
        return _Window(count=int(quantity.amount))

    # ---- assembly ------------------------------------------------------------

    def _finish(
        self,
        rule: ast.Rule,
        kind: str,
        metric: str | None,
        bounds: _Bounds | None,
        window: ast.Window | None,
    ) -> RuleFacts | None:
        checked_window = self._window(kind, window)
        count = None if checked_window is None else checked_window.count
        seconds = None if checked_window is None else checked_window.seconds
        if bounds is not None and PREVIOUS in (
            bounds.lower.kind,
            getattr(bounds.upper, "kind", None),
        ):
            growth = self._previous(kind, metric, bounds, checked_window)
            metric, bounds = (None, None) if growth is None else growth
        elif metric == RATE_GROWTH and checked_window is not None and seconds is None:
            self._growth_needs_time(rule.span)
            bounds = None
        qualifiers: tuple[ast.Qualifier, ...] = getattr(rule, "qualifiers", ())
        min_actions, warmup_ok = self._warmup(qualifiers, window, checked_window)
        per_session, session_ok = self._session(kind, qualifiers)
        if metric is None or bounds is None:
            return None
        resolved = self._resolve_bounds(kind, metric, bounds)
        if resolved is None or checked_window is None or not warmup_ok or not session_ok:
            return None
        threshold, upper, multiplier = resolved
        facts = RuleFacts(
            type=kind,
            metric=metric,
            operator=bounds.operator,
            threshold=threshold,
            threshold_upper=upper,
            window=count,
            window_seconds=seconds,
            span=rule.span,
            baseline_multiplier=multiplier,
            min_actions=min_actions,
            per_session=per_session,
        )
        self._vacuous(facts, bounds)
        return facts

    def _previous(
        self, kind: str, metric: str | None, bounds: _Bounds, window: _Window | None
    ) -> tuple[str, _Bounds] | None:
        """``Nx previous``: the rate growth metric, bounded by N (NMO322 where it cannot be).

        ``window`` is the checked window (None when it had an error, already reported).
        """
        quantity = bounds.lower if bounds.lower.kind == PREVIOUS else bounds.upper
        assert quantity is not None
        if kind != "rate" or bounds.upper is not None or metric == RATE_GROWTH:
            self._previous_problem(quantity.span)
            return None
        if window is None:
            return None
        if window.seconds is None:
            self._growth_needs_time(quantity.span)
            return None
        if metric is None:
            return None
        plain = Quantity(NUMBER, quantity.amount, quantity.text, quantity.span, False)
        return RATE_GROWTH, _Bounds(bounds.operator, plain, None)

    def _growth_needs_time(self, span: Span) -> None:
        self.report(
            "NMO322",
            span,
            "a rate growth compares the last window with the one before, so it needs a time window",
            "write `rate < 2x previous over 1h`",
        )

    def _session(self, kind: str, qualifiers: tuple[ast.Qualifier, ...]) -> tuple[bool, bool]:
        """Whether the rule is measured per session; a drift rule cannot be (NMO321)."""
        marks = [q for q in qualifiers if isinstance(q, ast.PerSession)]
        if not marks:
            return False, True
        if kind == "drift":
            self.report(
                "NMO321",
                marks[0].span,
                "a drift rule reads the runtime's drift scores, which describe the agent, "
                "not one session",
                "remove `per session`, or measure the session's actions with another rule type",
            )
            return False, False
        return True, True

    def _warmup(
        self,
        qualifiers: tuple[ast.Qualifier, ...],
        window: ast.Window | None,
        checked: _Window | None,
    ) -> tuple[int | None, bool]:
        """``min_actions`` from ``once full`` or ``after N actions``; problems reported.

        ``checked`` is the checked window (None when it had an error, already reported).
        """
        warmups = [q for q in qualifiers if isinstance(q, ast.OnceFull | ast.Warmup)]
        if not warmups:
            return None, True
        if len(warmups) > 1:
            self.report(
                "NMO320",
                warmups[0].span.cover(warmups[-1].span),
                "give one warm-up: `once full` or `after N actions`, not both",
                None,
            )
            return None, False
        warmup = warmups[0]
        count = None if checked is None else checked.count
        if isinstance(warmup, ast.OnceFull):
            if checked is None and window is not None:
                return None, False  # the window's own error says what is wrong
            if window is None or count is None:
                self._not_fillable(warmup, window)
                return None, False
            return count, True
        needed = self._warmup_count(warmup)
        if needed is None:
            return None, False
        if count is not None and needed > count:
            self.report(
                "NMO320",
                warmup.span,
                f"`after {needed} actions` is never reached: the window holds at most "
                f"{count} action{'s' if count != 1 else ''}",
                f"write `once full` to measure from {count} actions on",
            )
            return None, False
        return needed, True

    def _not_fillable(self, warmup: ast.OnceFull, window: ast.Window | None) -> None:
        if window is None:
            message = "`once full` needs a window of N actions to fill, and this rule has none"
            hint = "write `over N actions once full`, or `after N actions` to wait for N actions"
        else:
            message = "`once full` needs a window of N actions; a time window is never full"
            hint = "write `after N actions` to measure once the window holds N actions"
        self.report("NMO320", warmup.span, message, hint)

    def _warmup_count(self, warmup: ast.Warmup) -> int | None:
        quantity = self.values.resolve(warmup.value)
        if quantity is None:
            return None
        if quantity.kind == DURATION:
            self.report(
                "NMO306",
                quantity.span,
                f"`after {quantity.text}` counts actions, not time",
                "write `after N actions`; a time window is written `over 1h`",
            )
            return None
        if quantity.kind != NUMBER:
            self.report(
                "NMO306",
                quantity.span,
                f"`after {quantity.text}` is not a number of actions",
                "write `after N actions`",
            )
            return None
        if quantity.amount < 1 or quantity.amount != int(quantity.amount) or not quantity.whole:
            self.report(
                "NMO303",
                quantity.span,
                f"a warm-up of `{quantity.text}` actions is not a whole number of at least 1",
                "write `after 20 actions`",
            )
            return None
        if warmup.unit is None:
            self.report(
                "NMO104",
                quantity.span,
                f"`after {quantity.text}` has no unit",
                f"write `after {quantity.text} actions`",
            )
            return None
        if warmup.unit not in COUNT_UNITS:
            self._warmup_unit(warmup, quantity)
            return None
        return int(quantity.amount)

    def _warmup_unit(self, warmup: ast.Warmup, quantity: Quantity) -> None:
        """``after 20 minutes`` (a time) or ``after 20 acitons`` (a misspelling)."""
        unit = warmup.unit or ""
        if unit in DURATION_UNITS:
            self.report(
                "NMO306",
                warmup.unit_span,
                f"`after {quantity.text} {unit}` counts actions, not time",
                f"write `after {quantity.text} actions`; a time window is written "
                f"`over {quantity.text} {unit}`",
            )
            return
        self.report(
            "NMO203",
            warmup.unit_span,
            f"unknown warm-up unit `{unit}`",
            did_you_mean(unit, COUNT_UNITS)
            or f"a warm-up counts actions: `after {quantity.text} actions`",
        )

    def _resolve_bounds(
        self, kind: str, metric: str, bounds: _Bounds
    ) -> tuple[float, float | None, float | None] | None:
        if bounds.lower.kind == BASELINE or (bounds.upper and bounds.upper.kind == BASELINE):
            return self._baseline(kind, bounds)
        ok = self._bound_values(kind, metric, bounds)
        upper = None if bounds.upper is None else bounds.upper.amount
        return (bounds.lower.amount, upper, None) if ok else None

    def _bound_values(self, kind: str, metric: str, bounds: _Bounds) -> bool:
        ok = True
        for bound in (bounds.lower, bounds.upper):
            if bound is None:
                continue
            if is_proportion(kind, metric) and not 0.0 <= bound.amount <= 1.0:
                self.report(
                    "NMO300",
                    bound.span,
                    f"`{bound.text}` is outside 0..1, but {kind} {metric} is a proportion",
                    "write a share such as `0.3` or `30%`",
                )
                ok = False
            if _is_count(kind, metric) and abs(bound.amount) > MAX_COUNT:
                self.report(
                    "NMO313",
                    bound.span,
                    f"a count of `{bound.text}` is more than the {MAX_COUNT:,} a count may reach",
                    None,
                )
                ok = False
        if bounds.upper is not None and bounds.lower.amount >= bounds.upper.amount:
            self.report(
                "NMO301",
                bounds.lower.span.cover(bounds.upper.span),
                f"`between {bounds.lower.text} and {bounds.upper.text}` has its lower bound "
                "not below its upper bound",
                "write the smaller value first",
            )
            ok = False
        return ok

    def _baseline(
        self, kind: str, bounds: _Bounds
    ) -> tuple[float, float | None, float | None] | None:
        quantity = bounds.lower if bounds.lower.kind == BASELINE else bounds.upper
        assert quantity is not None
        if kind != "rate" or bounds.upper is not None:
            self.report(
                "NMO306",
                quantity.span,
                "`baseline` can only bound a rate rule with one threshold",
                None,
            )
            return None
        if self.context.mode == PACK:
            self.deferred = True
            return None  # checked again for each contract that uses the pack
        rate = self.context.baseline_rate
        if self.context.mode == FILE or rate is None:
            self.report(
                "NMO307",
                quantity.span,
                _baseline_problem(self.context),
                "give the contract an archetype with a `baseline rate`",
            )
            return None
        return quantity.amount * rate, None, quantity.amount

    def _vacuous(self, facts: RuleFacts, bounds: _Bounds) -> None:
        """Warn about a bound no measured value can meet, or every value meets."""
        measured = measured_range(facts.type, facts.metric)
        allowed = allowed_values(facts)
        what = f"{facts.type} {facts.metric}"
        span = (
            bounds.lower.span
            if bounds.upper is None
            else bounds.lower.span.cover(bounds.upper.span)
        )
        if not allowed.meets(measured):
            self.report(
                "NMO310",
                span,
                f"no value of {what} can satisfy this bound: {what} {_range_text(measured)}, "
                "so the rule always fails",
                "check the operator and the threshold",
            )
        elif allowed.holds(measured):
            self.report(
                "NMO311",
                span,
                f"every value of {what} satisfies this bound: {what} {_range_text(measured)}, "
                "so the rule can never fail",
                "check the operator and the threshold",
            )


@dataclass(frozen=True, slots=True)
class Values:
    """An interval of metric values, each end open or closed (infinite ends closed)."""

    low: float
    high: float
    low_closed: bool = True
    high_closed: bool = True

    def meets(self, other: Values) -> bool:
        """True when some value lies in both."""
        low, low_in = _tighter(self.low, self.low_closed, other.low, other.low_closed, True)
        high, high_in = _tighter(self.high, self.high_closed, other.high, other.high_closed, False)
        return low < high or (low == high and low_in and high_in)

    def holds(self, other: Values) -> bool:
        """True when every value of ``other`` lies in this interval."""
        low_ok = self.low < other.low or (self.low == other.low and self.low_closed)
        high_ok = self.high > other.high or (self.high == other.high and self.high_closed)
        return low_ok and high_ok


def _tighter(
    a: float, a_closed: bool, b: float, b_closed: bool, larger: bool
) -> tuple[float, bool]:
    """The tighter of two ends: the larger of two lows, the smaller of two highs."""
    if a == b:
        return a, a_closed and b_closed
    return (a, a_closed) if (a > b) == larger else (b, b_closed)


def _is_count(kind: str, metric: str) -> bool:
    return kind == "count" or metric == "target_count"


def measured_range(kind: str, metric: str) -> Values:
    """The values a metric can take: shares lie in 0..1; counts, ratios and rates in 0..inf.

    Infinity is in the range (a ratio X/0 is +inf), and a `>` bound allows it.
    """
    if is_proportion(kind, metric):
        return Values(0.0, 1.0)
    return Values(0.0, math.inf)


def allowed_values(facts: RuleFacts) -> Values:
    """The values a rule's bound allows."""
    t, inf = facts.threshold, math.inf
    match facts.operator:
        case "lt":
            return Values(-inf, t, True, False)
        case "lte":
            return Values(-inf, t)
        case "gt":
            return Values(t, inf, False, True)
        case "gte":
            return Values(t, inf)
        case "eq":
            return Values(t - EQ_TOLERANCE, t + EQ_TOLERANCE)
    return Values(t, facts.threshold_upper if facts.threshold_upper is not None else t)


def _range_text(measured: Values) -> str:
    return "is a share in 0..1" if measured.high == 1.0 else "is never negative"


def _kind_name(quantity: Quantity) -> str:
    names = {NUMBER: "a plain number", PERCENT: "a percent", DURATION: "a duration"}
    names |= {BASELINE: "a baseline multiple", RATE: "a rate"}
    names |= {PREVIOUS: "a multiple of the previous window's rate"}
    return f"{names[quantity.kind]} (`{quantity.text}`)"


def _baseline_problem(context: RuleContext) -> str:
    if context.mode == FILE:
        return "`baseline` needs a contract: this rule is outside any contract"
    return (
        f"contract {context.agent_id!r} has archetype {context.archetype!r}, "
        "which has no baseline rate"
    )


def check_hours(hours: ast.Hours, report: Report) -> bool:
    """Allowed hours are whole numbers within 0..24 and allow at least one hour."""
    ok = True
    for bound in (hours.start, hours.end):
        if not bound.value.is_integer() or not 0 <= bound.value <= 24 or "." in bound.text:
            report(
                "NMO302",
                bound.span,
                f"hour `{bound.text[:24]}` is not a whole hour within 0..24",
                None,
            )
            ok = False
    if ok and hours.start.value == hours.end.value:
        report(
            "NMO302",
            hours.span,
            f"hours `{hours.start.text}-{hours.end.text}` allow no hour",
            "start and end must differ: `8-18`, or `22-6` across midnight",
        )
        ok = False
    return ok


def check_zone(zone: ast.Zone, report: Report) -> bool:
    """The zone is an IANA time zone name this machine knows."""
    try:
        load_zone(zone.name)
    except ValueError:
        report(
            "NMO305",
            zone.span,
            f"unknown time zone {zone.name[:80]!r}",
            'use an IANA name such as "Europe/Berlin" or "America/New_York"',
        )
        return False
    return True


_METRIC_HELP: dict[str, str] = {
    "ratio": "write two actions: `ratio write/read < 0.3`",
    "distribution": f"use one of {', '.join(DISTRIBUTION_METRICS)}",
    "drift": f"use one of {', '.join(DRIFT_DISTRIBUTIONS)}",
    "semantic": 'name the anchor term: `semantic "research" > 0.85`',
    "temporal": "give allowed hours: `temporal 8-18 == 0`",
    "rate": "the rate metric is `action_frequency` (or leave it out)",
    "count": f"use one of {', '.join(COUNT_METRICS)}",
}
