"""Rules: one rule's AST, checked and reduced to the facts of an invariant.

Input: an ``ast.Rule``, a ``RuleContext`` (file level, pack, or a contract with
its scope, anchors and archetype baseline) and a ``ValueResolver``. Output:
``RuleFacts`` (type, metric, operator, bounds, window) or None after every
problem with the rule was reported. Stage: checking; sugar is desugared here,
so the lowerer sees one shape for every spelling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import assert_never

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.semantics.values import (
    BASELINE,
    DURATION,
    NUMBER,
    PERCENT,
    PREVIOUS,
    Quantity,
    Report,
    ValueResolver,
    did_you_mean,
)
from nomotic_dsl.compiler.source import Span
from nomotic_dsl.ir.describe import format_number
from nomotic_dsl.ir.spec import (
    COUNT_METRICS,
    DISTRIBUTION_METRICS,
    DRIFT_DISTRIBUTIONS,
    EVERY_TERM,
    INVARIANT_TYPES,
    RATE_GROWTH,
    RATE_METRICS,
    is_proportion,
    load_zone,
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


@dataclass(frozen=True, slots=True)
class RuleContext:
    """Where a rule is checked: at file level, in a pack, or for one contract."""

    mode: str = FILE
    agent_id: str | None = None
    scope_actions: frozenset[str] | None = None
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


class RuleChecker:
    """Checks rules in one context; every problem goes to ``report``."""

    def __init__(self, context: RuleContext, values: ValueResolver, report: Report) -> None:
        self.context = context
        self.values = values
        self.report = report

    def check(self, rule: ast.Rule) -> RuleFacts | None:
        """The facts of ``rule``, or None when it has errors (all reported)."""
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
                bounds = self._bounds(rule.comparison)
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
            self._bounds(rule.comparison)
            return None
        metric = self._metric(kind, rule.metric, rule.kind.span)
        return self._finish(rule, kind, metric, self._bounds(rule.comparison), rule.window)

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
        threshold = self.values.number(rule.value, "a count")
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
        if flipped is None:
            self.report(
                "NMO202",
                rule.comparison.span,
                f"`no single {rule.subject.text}` takes `above`, not `{rule.comparison.operator}`",
                f"write `no single {rule.subject.text} above ...`",
            )
            return None
        threshold = self.values.number(rule.comparison.value, "a share")
        bounds = None if threshold is None else _Bounds(flipped, threshold, None)
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
        if kind == "ratio" and "_to_" in name.text:
            numerator, _, denominator = name.text.partition("_to_")
            self._check_actions(((numerator, name.span), (denominator, name.span)))
            return name.text
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

    def _ratio(self, kind: str, metric: ast.RatioMetric) -> str | None:
        if kind != "ratio":
            return self._wrong_metric(kind, metric.span)
        names = (metric.numerator, metric.denominator)
        if any("_to_" in name.text for name in names):
            self.report(
                "NMO201", metric.span, "action names in a ratio cannot contain `_to_`", None
            )
            return None
        self._check_actions(tuple((name.text, name.span) for name in names))
        return f"{metric.numerator.text}_to_{metric.denominator.text}"

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
        quantity = self._threshold(rule.value)
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

    # ---- bounds and windows --------------------------------------------------

    def _bounds(self, comparison: ast.Comparison) -> _Bounds | None:
        operator = OPERATORS_WRITTEN.get(comparison.operator)
        if operator is None:
            self.report(
                "NMO202",
                comparison.span,
                f"unknown comparison operator `{comparison.operator}`",
                "use `<`, `<=`, `>`, `>=`, `==` or `between A and B`",
            )
            return None
        lower = self._threshold(comparison.value)
        upper = None if comparison.upper is None else self._threshold(comparison.upper)
        if lower is None or (comparison.upper is not None and upper is None):
            return None
        return _Bounds(operator, lower, upper)

    def _threshold(self, value: ast.Value) -> Quantity | None:
        quantity = self.values.resolve(value)
        if quantity is None:
            return None
        if quantity.kind == DURATION:
            self.report(
                "NMO306",
                quantity.span,
                f"`{quantity.text}` is a duration, not a threshold",
                "durations belong in the window: `over 1h`",
            )
            return None
        return quantity

    def _window(self, window: ast.Window | None) -> tuple[int | None, float | None, bool]:
        if window is None:
            return None, None, True
        quantity = self.values.resolve(window.value)
        if quantity is None:
            return None, None, False
        if window.unit is not None:
            return self._count_window(window, quantity)
        if quantity.kind == DURATION:
            if quantity.amount <= 0 or not math.isfinite(quantity.amount):
                self.report(
                    "NMO303", quantity.span, f"the window `{quantity.text}` is not positive", None
                )
                return None, None, False
            return None, quantity.amount, True
        if isinstance(window.value, ast.ConstRef):
            self.report(
                "NMO104",
                quantity.span,
                f"the window `over {quantity.text}` has no unit",
                f"add a unit: `{quantity.text} actions`, or make the constant a duration",
            )
        return None, None, False

    def _count_window(
        self, window: ast.Window, quantity: Quantity
    ) -> tuple[int | None, float | None, bool]:
        if quantity.kind != NUMBER:
            self.report(
                "NMO306",
                quantity.span,
                f"`{quantity.text} {window.unit}` is not a count",
                f"write `over N {window.unit}` or `over {quantity.text}`",
            )
            return None, None, False
        if quantity.amount < 1 or quantity.amount != int(quantity.amount) or not quantity.whole:
            self.report(
                "NMO303",
                quantity.span,
                f"a window of `{quantity.text}` actions is not a whole number of at least 1",
                "windows count whole actions: `over 100 actions`",
            )
            return None, None, False
        return int(quantity.amount), None, True

    # ---- assembly ------------------------------------------------------------

    def _finish(
        self,
        rule: ast.Rule,
        kind: str,
        metric: str | None,
        bounds: _Bounds | None,
        window: ast.Window | None,
    ) -> RuleFacts | None:
        count, seconds, window_ok = self._window(window)
        if bounds is not None and PREVIOUS in (
            bounds.lower.kind,
            getattr(bounds.upper, "kind", None),
        ):
            growth = self._previous(kind, metric, bounds, window_ok and seconds is not None)
            if growth is None:
                return None
            metric, bounds = growth
        elif metric == RATE_GROWTH and window_ok and seconds is None:
            self._growth_needs_time(rule.span)
            return None
        qualifiers = getattr(rule, "qualifiers", ())
        min_actions, warmup_ok = self._warmup(qualifiers, window, count, window_ok)
        per_session, session_ok = self._session(kind, qualifiers)
        if metric is None or bounds is None or not window_ok or not warmup_ok or not session_ok:
            return None
        resolved = self._resolve_bounds(kind, metric, bounds)
        if resolved is None:
            return None
        threshold, upper, multiplier = resolved
        return RuleFacts(
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

    def _previous(
        self, kind: str, metric: str | None, bounds: _Bounds, timed: bool
    ) -> tuple[str, _Bounds] | None:
        """``Nx previous``: the rate growth metric, bounded by N (NMO322 where it cannot be)."""
        quantity = bounds.lower if bounds.lower.kind == PREVIOUS else bounds.upper
        assert quantity is not None
        if kind != "rate" or bounds.upper is not None or metric == RATE_GROWTH:
            self.report(
                "NMO322",
                quantity.span,
                "`previous` can only bound a rate rule with one threshold: "
                "`rate < 2x previous over 1h`",
                None,
            )
            return None
        if not timed:
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
        count: int | None,
        window_ok: bool,
    ) -> tuple[int | None, bool]:
        """``min_actions`` from ``once full`` or ``after N actions``; problems reported."""
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
        if isinstance(warmup, ast.OnceFull):
            if window is None or window.unit is None:
                self._not_fillable(warmup, window)
                return None, False
            return count, window_ok
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
        return int(quantity.amount)

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
            if kind == "count" and bound.amount != int(bound.amount):
                self.report(
                    "NMO304",
                    bound.span,
                    f"a count threshold must be whole, not `{bound.text}`",
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
                "NMO302", bound.span, f"hour `{bound.text}` is not a whole hour within 0..24", None
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
            f"unknown time zone {zone.name!r}",
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
