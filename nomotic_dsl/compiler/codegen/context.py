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
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from nomotic_dsl._version import __version__
from nomotic_dsl.compiler.codegen import entry_points, fragments
from nomotic_dsl.compiler.codegen.filters import pyrepr
from nomotic_dsl.compiler.codegen.fragments import Fragment
from nomotic_dsl.ir.canonical import canonical_digest
from nomotic_dsl.ir.describe import DetailText, detail_text
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


@dataclass(frozen=True, slots=True)
class HourRuleView:
    """One temporal metric's allowed hours, loaded once at import as ``name``."""

    name: str
    attr: str
    metric: str
    allowed: tuple[int, ...]
    zone: str | None


@dataclass(frozen=True, slots=True)
class TermView:
    """One semantic term whose per-action fidelity a window sums exactly."""

    attr: str
    term: str


@dataclass(frozen=True, slots=True)
class WindowView:
    """A window shared by every invariant that reads it, and the aggregates it keeps."""

    class_name: str
    attr: str
    kind: str
    size: int | None
    seconds: float | None
    by_action: bool
    by_target: bool
    hours: tuple[HourRuleView, ...]
    terms: tuple[TermView, ...]
    per_session: bool = False
    every_term: bool = False
    growth: bool = False

    @property
    def key_counts(self) -> tuple[str, ...]:
        """The name counts this window keeps (``by_action``, ``by_target``), in that order."""
        return tuple(
            name
            for name, kept in (("by_action", self.by_action), ("by_target", self.by_target))
            if kept
        )

    @property
    def basis(self) -> str:
        """The runtime constant naming how values over this window were obtained."""
        if self.kind == "history" and not self.per_session:
            return "BASIS_HISTORY"
        return "BASIS_WINDOW"

    @property
    def source(self) -> str:
        """The actions ``evaluate`` builds this window from: all, or the current session's."""
        return "session" if self.per_session else "rows"

    @property
    def local(self) -> str:
        """The variable that holds this window in ``evaluate``."""
        return self.attr.lstrip("_")

    @property
    def summary(self) -> str:
        """What the window holds, for its class docstring (numbers only, no policy text)."""
        of = " of one session" if self.per_session else ""
        if self.kind == "count":
            return f"The last {self.size} actions{of}"
        if self.kind == "time":
            return f"The actions{of} in the last {self.seconds!r} seconds"
        return f"Every action{of} seen"

    @property
    def state_key(self) -> str:
        """The window's name in an exported monitor state: what it holds, not where."""
        if self.kind == "count":
            return f"count:{self.size}"
        if self.kind == "time":
            return f"time:{self.seconds!r}"
        return "history"

    @property
    def state_fields(self) -> tuple[str, ...]:
        """The fields of a history window's state."""
        names = ["n", "first_ts", "last_ts"]
        names += ["by_action"] if self.by_action else []
        names += ["by_target"] if self.by_target else []
        names += ["outside"] if self.hours else []
        names += ["fidelity"] if self.terms else []
        names += ["every_term"] if self.every_term else []
        return tuple(names)

    @property
    def hour_metrics(self) -> tuple[str, ...]:
        """The temporal metrics whose outside-hours counts this window keeps."""
        return tuple(rule.metric for rule in self.hours)

    @property
    def term_names(self) -> tuple[str, ...]:
        """The semantic terms whose fidelity this window sums."""
        return tuple(term.term for term in self.terms)

    @property
    def slots(self) -> tuple[str, ...]:
        """Instance attributes, sorted."""
        names = ["first_ts", "last_ts", "n"]
        names += ["entries"] if self.kind != "history" else []
        names += ["by_action"] if self.by_action else []
        names += ["by_target"] if self.by_target else []
        names += [rule.attr for rule in self.hours] + [term.attr for term in self.terms]
        names += ["all_terms"] if self.every_term else []
        names += ["growth"] if self.growth else []
        return tuple(sorted(names))


@dataclass(frozen=True, slots=True)
class InvariantView:
    """One invariant, specialised: what to measure, where, and how to judge it."""

    index: int
    invariant_id: str
    measure: str
    judge: str
    threshold: float
    threshold_upper: float | None
    text: DetailText
    window: WindowView | None
    counts: str
    snapshot_field: str
    keys: tuple[str, ...]
    member: str
    window_seconds: float | None
    operator: str = "lt"
    min_actions: int | None = None

    @property
    def text_name(self) -> str:
        """The module constant holding this invariant's detail phrases."""
        return f"_TEXT_{self.index}"

    def parts_name(self, basis: str) -> str:
        """The module constant holding the detail parts of a result on ``basis``."""
        return f"_PARTS_{self.index}_{basis.removeprefix('BASIS_')}"

    def constant_name(self, basis: str) -> str:
        """The module constant holding the (unmeasured) result on ``basis``."""
        return f"_{basis.removeprefix('BASIS_')}_{self.index}"

    @property
    def constant_results(self) -> tuple[str, ...]:
        """Bases of the results that never vary (nothing measured), precomputed at import."""
        if self.measure == "growth":
            return ()
        if self.measure in ("drift", "semantic", "every_term"):
            return ("BASIS_NO_DATA",)
        return ("BASIS_EMPTY",)

    @property
    def bases(self) -> tuple[str, ...]:
        """Bases whose detail parts are module constants (those whose note never varies)."""
        if self.measure in ("growth", "every_term"):
            return self.constant_results
        measured: tuple[str, ...] = ("BASIS_SNAPSHOT",) if self.measure == "drift" else ()
        if self.window is not None and self.measure != "drift":
            measured = (self.window.basis,)
            if self.unwindowed and self.measure in ("ratio", "max_share", "distinct", "semantic"):
                measured += ("BASIS_SNAPSHOT",)
        return measured + self.constant_results

    @property
    def bounds(self) -> tuple[float, ...]:
        """The judge function's bound arguments."""
        if self.threshold_upper is None:
            return (self.threshold,)
        return (self.threshold, self.threshold_upper)

    @property
    def unwindowed(self) -> bool:
        """True when snapshot fields, if present, replace the action history."""
        return (
            self.window is not None
            and self.window.kind == "history"
            and not self.window.per_session
        )

    @property
    def owner(self) -> str:
        """Where the Monitor keeps this invariant's window: itself, or the current session."""
        return "self._current." if self.window is not None and self.window.per_session else "self."


@dataclass(frozen=True, slots=True)
class ModuleView:
    """Everything the template lays out, in a fixed order."""

    module_name: str
    source_digest: str
    specs_digest: str
    compiler_version: str
    spec_version: int
    specs: tuple[dict[str, Any], ...]
    declared_order: tuple[int, ...]
    invariants: tuple[InvariantView, ...]
    windows: tuple[WindowView, ...]
    hour_rules: tuple[HourRuleView, ...]
    # Each window with its methods' code, in layout order.
    window_code: tuple[tuple[WindowView, tuple[Fragment, ...]], ...] = ()
    invariant_code: tuple[tuple[Fragment, Fragment], ...] = ()
    # The methods of the ``_Session`` class: one class when some window is per session.
    session_holders: tuple[tuple[Fragment, ...], ...] = ()
    evaluate_body: Fragment = field(default_factory=Fragment)
    # The bodies of the Monitor's methods whose code depends on the specs, by method.
    monitor_methods: Mapping[str, Fragment] = field(default_factory=dict)
    runtime_imports: tuple[str, ...] = ()

    @property
    def monitor_slots(self) -> tuple[str, ...]:
        """The Monitor's attributes, sorted."""
        names = ["_last", "_snapshot", *(window.attr for window in self.global_windows)]
        names += ["_current", "_sessions"] if self.session_windows else ["_idle"]
        return tuple(sorted(names))

    @property
    def global_windows(self) -> tuple[WindowView, ...]:
        """Windows over every observation the monitor sees."""
        return tuple(window for window in self.windows if not window.per_session)

    @property
    def session_windows(self) -> tuple[WindowView, ...]:
        """Windows each session keeps for itself."""
        return tuple(window for window in self.windows if window.per_session)

    @property
    def session_slots(self) -> tuple[str, ...]:
        """The session holder's attributes, sorted."""
        return tuple(sorted(window.attr for window in self.session_windows))

    @property
    def bounded_windows(self) -> tuple[WindowView, ...]:
        """The global windows that keep observations (count and time windows)."""
        return tuple(window for window in self.global_windows if window.kind != "history")

    @property
    def session_bounded_windows(self) -> tuple[WindowView, ...]:
        """The session windows that keep observations."""
        return tuple(window for window in self.session_windows if window.kind != "history")

    @property
    def window_state_keys(self) -> tuple[str, ...]:
        """Each global window's name in an exported monitor state, in layout order."""
        return tuple(window.state_key for window in self.global_windows)

    @property
    def session_state_keys(self) -> tuple[str, ...]:
        """Each session window's name in a session's exported state, in layout order."""
        return tuple(window.state_key for window in self.session_windows)

    @property
    def state_keys(self) -> tuple[str, ...]:
        """The top-level fields of an exported monitor state after its header."""
        return (
            "last",
            "drift",
            "semantic_drift",
            "observations",
            "windows",
            "session_idle_seconds",
            "sessions",
        )

    @property
    def uses_deque(self) -> bool:
        """True when some window lets observations go, so it keeps them in a deque."""
        return any(window.kind != "history" for window in self.windows)

    @property
    def standard_imports(self) -> tuple[str, ...]:
        """The module's standard-library import lines, as ruff's isort lays them out."""
        lines = ["from collections import deque"] if self.uses_deque else []
        abc = "Mapping, Sequence" if self.windows else "Mapping"
        lines.append(f"from collections.abc import {abc}")
        if len(self.invariants) >= 2:
            lines.append("from operator import itemgetter")
        lines.append("from typing import Any, Final")
        return tuple(lines)

    @property
    def constant_lines(self) -> tuple[str, ...]:
        """The module constants after ``INVARIANT_IDS``: result order, hour rules, detail parts."""
        lines = list(self.order_lines)
        hours = [
            f"{rule.name}: Final = HourRule({pyrepr(rule.allowed)}, {pyrepr(rule.zone)})"
            for rule in self.hour_rules
        ]
        parts = [line for constants, _ in self.invariant_code for line in constants.lines]
        for section in (hours, parts):
            lines += ["", *section] if section else []
        return tuple(lines)

    @property
    def order_lines(self) -> tuple[str, ...]:
        """The line that reorders results laid out by id into declared order (two or more)."""
        if len(self.invariants) < 2:
            return ()
        return ("_IN_DECLARED_ORDER: Final = itemgetter(*_DECLARED_ORDER)",)


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
    invariants = tuple(_invariant(i, spec, windows, hour_rules) for i, spec in enumerate(by_id))
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
        window_code=tuple(
            (window, fragments.window_methods(window)) for window in windows.values()
        ),
        invariant_code=tuple(
            (fragments.invariant_constants(inv), fragments.invariant_function(inv))
            for inv in invariants
        ),
    )
    view = replace(
        view,
        session_holders=(entry_points.session_methods(view),) if view.session_windows else (),
        evaluate_body=entry_points.evaluate(view),
        monitor_methods=MappingProxyType(
            {
                "init": entry_points.monitor_init(view),
                "observe": entry_points.monitor_observe(view),
                "results": entry_points.monitor_results(view),
                "export": entry_points.monitor_export(view),
                "import": entry_points.monitor_import(view),
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
) -> InvariantView:
    key = _window_key(spec)
    window = windows[key] if key is not None else None
    measure, counts, field, keys, member = _measurement(spec, window, hour_rules)
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
    spec: InvariantSpec, window: WindowView | None, hour_rules: Mapping[str, HourRuleView]
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
            attr = next(term.attr for term in window.terms if term.term == spec.metric)
            return "semantic", "", "semantic_drift", (spec.metric,), attr
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
