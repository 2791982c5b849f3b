"""View-models for the evaluator template: specs in, sorted and precomputed records out.

Stage: validated InvariantSpecs -> ``ModuleView``. All decisions are taken
here and in the fragment builders it calls (``fragments.py`` for windows and
invariants, ``entry_points.py`` for ``evaluate`` and ``Monitor``), in Python:
which window each invariant reads (windows shared between invariants are
built once), which aggregates each window keeps, how each operator is judged,
the detail phrases, and which runtime names the module imports. Everything is
sorted by invariant_id or by window, never by dict or set iteration, so the
template only loops and lays out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from nomotic_dsl._version import __version__
from nomotic_dsl.compiler.codegen.entry_points import (
    evaluate,
    monitor_export,
    monitor_import,
    monitor_init,
    monitor_observe,
    monitor_results,
    session_methods,
)
from nomotic_dsl.compiler.codegen.fragments import (
    invariant_constants,
    invariant_function,
    window_methods,
)
from nomotic_dsl.compiler.codegen.views import (
    Fragment,
    HourRuleView,
    InvariantView,
    ModuleView,
    TermView,
    WindowView,
)
from nomotic_dsl.ir.canonical import canonical_digest
from nomotic_dsl.ir.describe import detail_text
from nomotic_dsl.ir.spec import (
    EVERY_TERM,
    RATE_GROWTH,
    SPEC_VERSION,
    InvariantSpec,
    parse_temporal_metric,
    split_ratio_metric,
)
from nomotic_dsl.runtime.interpreter.evaluate import CompiledInvariants

# Digests and version strings appear in the header comment, so only plain
# characters are accepted: nothing that could end the comment line.
_HEADER_TEXT = re.compile(r"[A-Za-z0-9:._+-]{1,200}")

_WINDOW_KINDS = ("count", "time", "history")
_ACTION_KEYED = {("ratio", ""), ("distribution", "action_max"), ("count", "distinct_actions")}
_TARGET_KEYED = {("distribution", "target_max"), ("distribution", "target_count")}
_TARGET_KEYED |= {("count", "distinct_targets")}


def build_module_view(
    specs: Iterable[InvariantSpec | Mapping[str, Any]], *, module_name: str, source_digest: str
) -> ModuleView:
    """Validate ``specs`` (ValueError naming every invalid one) and prepare the view-model."""
    if not _HEADER_TEXT.fullmatch(source_digest):
        raise ValueError(f"source digest {source_digest!r} must be letters, digits and ':._+-'")
    if not isinstance(module_name, str) or not module_name:
        raise ValueError("module_name must be a non-empty string")
    declared = CompiledInvariants.compile(specs).specs
    by_id = sorted(declared, key=lambda spec: spec.invariant_id)
    position = {spec.invariant_id: index for index, spec in enumerate(by_id)}
    hour_rules = _hour_rules(by_id)
    windows = _windows(by_id, hour_rules)
    # A term's attribute is the same in every window that reads it.
    term_attrs = {term.term: term.attr for window in windows.values() for term in window.terms}
    invariants = tuple(
        _invariant(i, spec, windows, hour_rules, term_attrs) for i, spec in enumerate(by_id)
    )
    spec_dicts = tuple(spec.to_dict() for spec in by_id)
    view = ModuleView(
        module_name=module_name,
        source_digest=source_digest,
        specs_digest=canonical_digest(list(spec_dicts)),
        compiler_version=__version__,
        spec_version=SPEC_VERSION,
        specs=spec_dicts,
        declared_order=tuple(position[spec.invariant_id] for spec in declared),
        invariants=invariants,
        windows=tuple(windows.values()),
        hour_rules=tuple(hour_rules.values()),
        window_code=tuple((window, window_methods(window)) for window in windows.values()),
        invariant_code=tuple(
            (invariant_constants(inv), invariant_function(inv)) for inv in invariants
        ),
    )
    view = replace(
        view,
        session_holders=(session_methods(view),) if view.session_windows else (),
        evaluate_body=evaluate(view),
        monitor_methods=MappingProxyType(
            {
                "init": monitor_init(view),
                "observe": monitor_observe(view),
                "results": monitor_results(view),
                "export": monitor_export(view),
                "import": monitor_import(view),
            }
        ),
    )
    return replace(view, runtime_imports=_runtime_imports(view))


WindowKey = tuple[int, int, float]


def _window_key(spec: InvariantSpec) -> WindowKey | None:
    """Sort key and identity of a spec's window; None for drift, which reads no actions.

    A drift rule with a warm-up counts the actions of its window (every action
    when it has none), so it gets one.
    """
    if spec.type == "drift" and spec.min_actions is None:
        return None
    session = int(spec.per_session)
    if spec.window is not None:
        return (session, 0, spec.window)
    if spec.window_seconds is not None:
        return (session, 1, spec.window_seconds)
    return (session, 2, 0)


def _hour_rules(specs: Sequence[InvariantSpec]) -> dict[str, HourRuleView]:
    metrics = sorted({spec.metric for spec in specs if spec.type == "temporal"})
    rules: dict[str, HourRuleView] = {}
    for index, metric in enumerate(metrics):
        hours = parse_temporal_metric(metric)
        allowed = tuple(hour for hour in range(24) if hours.allows(hour))
        rules[metric] = HourRuleView(
            f"_HOURS_{index}", f"outside_{index}", metric, allowed, hours.zone
        )
    return rules


def _windows(
    specs: Sequence[InvariantSpec], hour_rules: Mapping[str, HourRuleView]
) -> dict[WindowKey, WindowView]:
    keys = sorted({key for key in map(_window_key, specs) if key is not None})
    terms = sorted(
        {spec.metric for spec in specs if spec.type == "semantic" and spec.metric != EVERY_TERM}
    )
    term_attr = {term: f"fidelity_{index}" for index, term in enumerate(terms)}
    readers: dict[WindowKey, list[InvariantSpec]] = {key: [] for key in keys}
    for spec in specs:
        found = _window_key(spec)
        if found is not None:
            readers[found].append(spec)
    windows: dict[WindowKey, WindowView] = {}
    for index, key in enumerate(keys):
        members = readers[key]
        kinds = {(spec.type, "" if spec.type == "ratio" else spec.metric) for spec in members}
        used_terms = sorted(
            {s.metric for s in members if s.type == "semantic" and s.metric != EVERY_TERM}
        )
        used_hours = sorted({spec.metric for spec in members if spec.type == "temporal"})
        session, kind, size = key
        windows[key] = WindowView(
            class_name=f"_Window{index}",
            attr=f"_w{index}",
            kind=_WINDOW_KINDS[kind],
            size=int(size) if kind == 0 else None,
            seconds=float(size) if kind == 1 else None,
            per_session=bool(session),
            every_term=any(s.type == "semantic" and s.metric == EVERY_TERM for s in members),
            growth=any(s.type == "rate" and s.metric == RATE_GROWTH for s in members),
            by_action=bool(kinds & _ACTION_KEYED),
            by_target=bool(kinds & _TARGET_KEYED),
            hours=tuple(hour_rules[metric] for metric in used_hours),
            terms=tuple(TermView(term_attr[term], term) for term in used_terms),
        )
    return windows


def _invariant(
    index: int,
    spec: InvariantSpec,
    windows: Mapping[WindowKey, WindowView],
    hour_rules: Mapping[str, HourRuleView],
    term_attrs: Mapping[str, str],
) -> InvariantView:
    key = _window_key(spec)
    window = windows[key] if key is not None else None
    measure, counts, field, keys, member = _measurement(spec, window, hour_rules, term_attrs)
    return InvariantView(
        index=index,
        invariant_id=spec.invariant_id,
        measure=measure,
        judge=f"judge_{spec.operator}",
        threshold=spec.threshold,
        threshold_upper=spec.threshold_upper,
        text=detail_text(spec),
        window=window,
        counts=counts,
        snapshot_field=field,
        keys=keys,
        member=member,
        window_seconds=spec.window_seconds,
        operator=spec.operator,
        min_actions=spec.min_actions,
    )


def _measurement(
    spec: InvariantSpec,
    window: WindowView | None,
    hour_rules: Mapping[str, HourRuleView],
    term_attrs: Mapping[str, str],
) -> tuple[str, str, str, tuple[str, ...], str]:
    """(template macro, counts attribute, snapshot field, keys, window member) for a spec."""
    by_target = spec.metric in ("target_max", "target_count", "distinct_targets")
    counts = "by_target" if by_target else "by_action"
    shares = "target_distribution" if by_target else "action_distribution"
    match spec.type:
        case "ratio":
            return "ratio", "by_action", "action_distribution", split_ratio_metric(spec.metric), ""
        case "distribution" if spec.metric != "target_count":
            return "max_share", counts, shares, (), ""
        case "distribution" | "count":
            return "distinct", counts, shares, (), ""
        case "drift":
            return "drift", "", "drift", (spec.metric,), ""
        case "semantic" if spec.metric == EVERY_TERM:
            return "every_term", "", "semantic_drift", (), "all_terms"
        case "semantic":
            assert window is not None, "semantic invariants read a window"
            # The window's own term (a dict lookup: a scan of its terms is quadratic).
            return "semantic", "", "semantic_drift", (spec.metric,), term_attrs[spec.metric]
        case "temporal":
            return "temporal", "", "", (), hour_rules[spec.metric].attr
        case "rate" if spec.metric == RATE_GROWTH:
            return "growth", "", "", (), "growth"
        case "rate":
            return "rate", "", "", (), ""
    raise ValueError(f"unknown invariant type {spec.type!r}")


def _runtime_imports(view: ModuleView) -> tuple[str, ...]:
    """The runtime names the module uses, sorted as ruff's isort orders them."""
    names = {"BehavioralState", "InvariantResult", "Observation", "checked_scores", "Snapshot"}
    parts: list[Fragment] = [view.evaluate_body, *view.monitor_methods.values()]
    parts += [method for holder in view.session_holders for method in holder]
    parts += [method for _, methods in view.window_code for method in methods]
    parts += [fragment for pair in view.invariant_code for fragment in pair]
    for fragment in parts:
        names |= fragment.names
    if view.hour_rules:
        names.add("HourRule")
    return tuple(sorted(names, key=_isort_key))


def _isort_key(name: str) -> tuple[int, str]:
    # ruff's isort: CONSTANTS, then Classes, then functions, each case-sensitively sorted.
    if name.isupper():
        return (0, name)
    return (1, name) if name[0].isupper() else (2, name)
