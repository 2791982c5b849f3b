"""The view-model records of a generated module, and ``Fragment``, a piece of generated code.

``context.build_module_view`` makes these records from specs; the fragment
builders (``fragments.py``, ``entry_points.py``) read them and return
``Fragment``s; the template lays both out. This module imports neither the
builders nor the context, so the records sit below everything that uses them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nomotic_dsl.compiler.codegen.filters import pyrepr
from nomotic_dsl.ir.describe import DetailText


@dataclass(slots=True)
class Fragment:
    """Lines of code (without trailing newlines) and the runtime names they use."""

    lines: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)

    def add(self, *lines: str, uses: Iterable[str] = ()) -> None:
        """Append lines, noting the runtime names they need."""
        self.lines.extend(lines)
        self.names.update(uses)

    def extend(self, other: Fragment, indent: str = "") -> None:
        """Append another fragment's lines, indented by ``indent``."""
        if indent:
            self.lines.extend([indent + line if line else line for line in other.lines])
        else:
            self.lines.extend(other.lines)
        self.names |= other.names


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
