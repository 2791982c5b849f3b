"""Code fragments of a generated evaluator: each window's methods and each invariant's body.

Input: the view-model's ``WindowView`` and ``InvariantView`` records. Output:
lines of Python (``Fragment``: the lines and the runtime names they use), so
the templates only lay them out. Every decision about the code is taken
here: which aggregates a window keeps and how it updates them, how an
invariant measures its value, how its operator judges it (inlined as the
comparison and margin expression of ``interpreter.judge``, with the same
float operations in the same order, so results are equal bit for bit), and
which precomputed results and detail parts it returns.

Policy values reach these lines only through ``pyrepr`` (literals) and
``pyident`` (names); everything else is fixed text of this module.
"""

from __future__ import annotations

import math

from nomotic_dsl.compiler.codegen.filters import pyident, pyrepr
from nomotic_dsl.compiler.codegen.views import Fragment, InvariantView, WindowView
from nomotic_dsl.ir.spec import APPROACHING_MARGIN, EQ_TOLERANCE
from nomotic_dsl.runtime.interpreter.judge import status_of

# The status of a result that measured nothing (satisfied, margin NaN), as status_of gives it.
UNMEASURED_STATUS = status_of(True, math.nan)


# --- windows --------------------------------------------------------------------------------


def window_methods(w: WindowView) -> tuple[Fragment, ...]:
    """Every method of a window class after its slots, each a fragment indented in the class."""
    methods = [_init(w), _of(w), _push(w), _add(w)]
    if w.kind != "history":
        methods.append(_remove(w))
    methods += [_export(w), _restore(w)]
    return tuple(methods)


def _init(w: WindowView) -> Fragment:
    code = Fragment()
    code.add("    def __init__(self) -> None:", "        self.n = 0")
    code.add("        self.first_ts = 0.0", "        self.last_ts = 0.0")
    if w.kind != "history":
        code.add("        self.entries: deque[Observation] = deque()", uses=("Observation",))
    for attr in w.key_counts:
        code.add(f"        self.{attr} = KeyCounts()", uses=("KeyCounts",))
    for rule in w.hours:
        code.add(f"        self.{rule.attr} = 0")
    for term in w.terms:
        code.add(f"        self.{term.attr} = ScaledSum()", uses=("ScaledSum",))
    if w.every_term:
        code.add("        self.all_terms = TermFidelities()", uses=("TermFidelities",))
    if w.growth:
        code.add("        self.growth = RateGrowth()", uses=("RateGrowth",))
    return code


def _of(w: WindowView) -> Fragment:
    code = Fragment()
    code.add(
        "    @classmethod",
        f"    def of(cls, rows: Rows) -> {w.class_name}:",
        '        """The aggregates of ``rows``, which must be exactly this window\'s actions."""',
        "        window = cls()",
        "        lo, hi = rows.lo, rows.hi",
        "        window.n = hi - lo",
        "        if not window.n:",
        "            return window",
        "        window.first_ts = rows.timestamps[lo]",
        "        window.last_ts = rows.timestamps[hi - 1]",
        uses=("Rows",),
    )
    if w.by_action:
        code.add('        window.by_action = KeyCounts.of(rows.column("action_types"))')
    if w.by_target:
        code.add('        window.by_target = KeyCounts.of(rows.column("targets"))')
    for rule in w.hours:
        code.add(
            f"        window.{rule.attr} = {rule.name}.count_outside_times(rows.timestamps, lo, hi)"
        )
    if w.terms or w.every_term:
        code.add('        semantics = rows.column("semantics")')
    for term in w.terms:
        code.add(
            f"        window.{term.attr} = ScaledSum.of(column_values(semantics, {pyrepr(term.term)}))",
            uses=("column_values",),
        )
    if w.every_term:
        code.add("        window.all_terms = TermFidelities.of_column(semantics)")
    code.add("        return window")
    return code


def _push(w: WindowView) -> Fragment:
    code = Fragment()
    code.add(
        "    def push(self, observation: Observation) -> None:",
        '        """Take the newest observation, then let go of those that left the window."""',
        "        self._add(observation)",
    )
    if w.kind == "count":
        code.add(
            f"        if self.n > {pyrepr(w.size)}:",
            "            self._remove(self.entries.popleft())",
        )
    elif w.kind == "time":
        code.add(
            "        # The interpreter keeps an action when now - T < timestamp.",
            f"        start = observation.timestamp - {pyrepr(w.seconds)}",
            "        entries = self.entries",
            "        while entries and entries[0].timestamp <= start:",
            "            self._remove(entries.popleft())",
        )
        if w.growth:
            code.add(f"        self.growth.trim(observation.timestamp, {pyrepr(w.seconds)})")
    if w.kind != "history":
        code.add(
            "        if self.entries:", "            self.first_ts = self.entries[0].timestamp"
        )
    return code


def _add(w: WindowView) -> Fragment:
    code = Fragment()
    code.add("    def _add(self, observation: Observation) -> None:", "        self.n += 1")
    if w.kind == "history":
        code.add("        if self.n == 1:", "            self.first_ts = observation.timestamp")
    else:
        code.add("        self.entries.append(observation)")
    code.add("        self.last_ts = observation.timestamp")
    code.extend(_update(w, "add", "+="))
    return code


def _remove(w: WindowView) -> Fragment:
    code = Fragment()
    code.add("    def _remove(self, observation: Observation) -> None:", "        self.n -= 1")
    code.extend(_update(w, "remove", "-="))
    return code


def _update(w: WindowView, method: str, step: str) -> Fragment:
    code = Fragment()
    if w.by_action:
        code.add(f"        self.by_action.{method}(observation.action_type)")
    if w.by_target:
        code.add(f"        self.by_target.{method}(observation.target)")
    for rule in w.hours:
        code.add(
            f"        if {rule.name}.outside(observation.timestamp):",
            f"            self.{rule.attr} {step} 1",
        )
    for term in w.terms:
        code.add(
            f"        fidelity = observation.semantic.get({pyrepr(term.term)})",
            "        if fidelity is not None:",
            f"            self.{term.attr}.{method}(fidelity)",
        )
    if w.every_term:
        code.add(f"        self.all_terms.{method}(observation.semantic)")
    if w.growth:
        growth_method = "start" if method == "add" else "retire"
        code.add(f"        self.growth.{growth_method}(observation.timestamp)")
    return code


def _export(w: WindowView) -> Fragment:
    code = Fragment()
    code.add(
        "    def export(self) -> dict[str, Any]:",
        '        """This window\'s part of the monitor state."""',
    )
    if w.kind != "history":
        growth = ', "growth": self.growth.export()' if w.growth else ""
        code.add(f'        return {{"n": self.n{growth}}}')
        return code
    code.add(
        "        return {",
        '            "n": self.n,',
        '            "first_ts": self.first_ts,',
        '            "last_ts": self.last_ts,',
    )
    for attr in w.key_counts:
        code.add(f'            "{attr}": self.{attr}.export(),')
    if w.hours:
        code.add('            "outside": {')
        code.add(*(f"                {pyrepr(rule.metric)}: self.{rule.attr}," for rule in w.hours))
        code.add("            },")
    if w.terms:
        code.add('            "fidelity": {')
        code.add(
            *(
                f"                {pyrepr(term.term)}: self.{term.attr}.export(),"
                for term in w.terms
            )
        )
        code.add("            },")
    if w.every_term:
        code.add('            "every_term": self.all_terms.export(),')
    code.add("        }")
    return code


def _restore(w: WindowView) -> Fragment:
    code = Fragment()
    code.add(
        "    @classmethod",
        "    def restore(",
        "        cls, reader: StateReader, observations: Sequence[Observation], last: float | None",
        f"    ) -> {w.class_name}:",
        '        """The window a state describes; StateError naming the field when it is not valid."""',
        uses=("StateReader",),
    )
    if w.kind != "history":
        if w.kind == "count":
            code.add(f"        entries = reader.count_window(observations, {pyrepr(w.size)})")
        else:
            growth = ", growth=True" if w.growth else ""
            code.add(
                f"        entries = reader.time_window(observations, {pyrepr(w.seconds)}, last{growth})"
            )
        code.add(
            "        window = cls.of(Rows.of(entries))",
            "        window.entries = deque(entries)",
        )
        if w.growth:
            code.add(
                f'        window.growth = reader.rate_growth("growth", {pyrepr(w.seconds)}, last, entries)'
            )
        code.add("        return window")
        return code
    code.add(
        f"        reader.keys_exactly({pyrepr(w.state_fields)})",
        "        window = cls()",
        "        window.n, window.first_ts, window.last_ts = reader.history(last, len(observations))",
    )
    for attr in w.key_counts:
        code.add(f'        window.{attr} = reader.key_counts("{attr}", window.n)')
    if w.hours:
        code.add(f'        outside = reader.child("outside", {pyrepr(w.hour_metrics)})')
        code.add(
            *(
                f"        window.{rule.attr} = outside.count({pyrepr(rule.metric)}, window.n)"
                for rule in w.hours
            )
        )
    if w.terms:
        code.add(f'        fidelity = reader.child("fidelity", {pyrepr(w.term_names)})')
        code.add(
            *(
                f"        window.{term.attr} = fidelity.scaled_sum({pyrepr(term.term)}, window.n)"
                for term in w.terms
            )
        )
    if w.every_term:
        code.add('        window.all_terms = reader.term_fidelities("every_term", window.n)')
    code.add("        return window")
    return code


# --- invariants -----------------------------------------------------------------------------


def invariant_constants(inv: InvariantView) -> Fragment:
    """Module-level constants of one invariant: its detail phrases, parts and constant results."""
    code = Fragment()
    text = inv.text
    needs = [f"    {pyrepr(text.needs)},"] if text.needs else []
    code.add(
        f"{inv.text_name}: Final = DetailText(",
        f"    {pyrepr(text.subject)},",
        f"    {pyrepr(text.requirement)},",
        f"    {pyrepr(text.window)},",
        *needs,
        ")",
        uses=("DetailText",),
    )
    for basis in inv.bases:
        code.add(
            f"{inv.parts_name(basis)}: Final = DetailParts({inv.text_name}, {basis})",
            uses=("DetailParts", basis),
        )
    for basis in inv.constant_results:
        # An empty window measures 0.0; absent data measures nothing (NaN, the default).
        value = ", 0.0" if basis == "BASIS_EMPTY" else ""
        code.add(
            f"{inv.constant_name(basis)}: Final = unmeasured(",
            f"    {pyrepr(inv.invariant_id)}, {pyrepr(inv.threshold)}, {inv.parts_name(basis)}{value}",
            ")",
            uses=("unmeasured",),
        )
    return code


def invariant_function(inv: InvariantView) -> Fragment:
    """The function that evaluates one invariant on its window (or the snapshot alone)."""
    code = Fragment()
    name = pyident(inv.invariant_id, inv.index)
    if inv.window is None:
        code.add(f"def {name}(snapshot: Snapshot) -> InvariantResult:")
    else:
        code.add(
            f"def {name}(",
            f"    window: {inv.window.class_name}, snapshot: Snapshot",
            ") -> InvariantResult:",
        )
    code.add(uses=("Snapshot", "InvariantResult"))
    if inv.min_actions is not None:
        code.add(
            f"    if window.n < {pyrepr(inv.min_actions)}:",
            f"        return unmeasured({pyrepr(inv.invariant_id)}, {pyrepr(inv.threshold)}, "
            f"DetailParts({inv.text_name}, BASIS_WARMUP, str(window.n)))",
            uses=("unmeasured", "DetailParts", "BASIS_WARMUP"),
        )
    code.extend(_MEASURES[inv.measure](inv))
    return code


def _judged(inv: InvariantView, parts: str, indent: str = "    ") -> Fragment:
    """Return the judged result of ``value``: the operator's comparison and margin, inlined."""
    condition, margin = _judge_expressions(inv)
    ident, bound = pyrepr(inv.invariant_id), pyrepr(inv.threshold)
    code = Fragment()
    code.add(
        f"{indent}if {condition}:",
        f"{indent}    margin = {margin}",
        f"{indent}    status = 'approaching' if margin < {pyrepr(APPROACHING_MARGIN)} else 'satisfied'",
        f"{indent}    return new_result(({ident}, True, value, {bound}, margin, status, {parts}, True))",
        f"{indent}return new_result(({ident}, False, value, {bound}, {margin}, 'violated', {parts}, True))",
        uses=("new_result",),
    )
    return code


def _judge_expressions(inv: InvariantView) -> tuple[str, str]:
    """(satisfied, margin) of ``value`` as ``interpreter.judge`` computes them, as expressions."""
    t = pyrepr(inv.threshold)
    if inv.operator == "between":
        assert inv.threshold_upper is not None, "validated between specs carry threshold_upper"
        u = pyrepr(inv.threshold_upper)
        return f"{t} <= value <= {u}", f"min(value - {t}, {u} - value) / ({u} - {t})"
    if inv.operator == "eq":
        tolerance = pyrepr(EQ_TOLERANCE)
        return (
            f"abs(value - {t}) <= {tolerance}",
            f"1.0 - abs(value - {t}) / {tolerance}",
        )
    comparison = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}[inv.operator]
    below = inv.operator in ("lt", "lte")
    difference = f"{t} - value" if below else f"value - {t}"
    # As margin_below / margin_above: the plain difference when the bound is zero.
    scale = pyrepr(abs(inv.threshold))
    margin = difference if inv.threshold == 0 else f"({difference}) / {scale}"
    return f"value {comparison} {t}", margin


def _measure_drift(inv: InvariantView) -> Fragment:
    key = pyrepr(inv.keys[0])
    code = Fragment()
    code.add(
        "    scores = snapshot.drift",
        f"    if scores is None or {key} not in scores:",
        f"        return {inv.constant_name('BASIS_NO_DATA')}",
        f"    value = scores[{key}]",
    )
    code.extend(_judged(inv, inv.parts_name("BASIS_SNAPSHOT")))
    return code


def _measure_growth(inv: InvariantView) -> Fragment:
    code = Fragment()
    code.add(
        f"    value, basis, note = window.growth.measure(window.n, {pyrepr(inv.window_seconds)})",
        f"    parts = DetailParts({inv.text_name}, basis, note)",
        "    if basis != BASIS_WINDOW:",
        f"        return unmeasured({pyrepr(inv.invariant_id)}, {pyrepr(inv.threshold)}, parts, value)",
        uses=("DetailParts", "BASIS_WINDOW", "unmeasured"),
    )
    code.extend(_judged(inv, "parts"))
    return code


def _measure_every_term(inv: InvariantView) -> Fragment:
    assert inv.window is not None, "every-term invariants read a window"
    code = Fragment()
    if inv.unwindowed:
        code.add(
            "    drift = snapshot.semantic_drift",
            "    if drift:",
            "        value, term = lowest_fidelity(drift)",
            f"        parts = DetailParts({inv.text_name}, BASIS_SNAPSHOT, term_note(term))",
            uses=("lowest_fidelity", "DetailParts", "BASIS_SNAPSHOT", "term_note"),
        )
        code.extend(_judged(inv, "parts", "        "))
    code.add(
        "    lowest = window.all_terms.lowest()",
        "    if lowest is None:",
        f"        return {inv.constant_name('BASIS_NO_DATA')}",
        "    value, term = lowest",
        f"    parts = DetailParts({inv.text_name}, {inv.window.basis}, term_note(term))",
        uses=("DetailParts", "term_note", inv.window.basis),
    )
    code.extend(_judged(inv, "parts"))
    return code


def _measure_semantic(inv: InvariantView) -> Fragment:
    assert inv.window is not None, "semantic invariants read a window"
    code = Fragment()
    if inv.unwindowed:
        term = pyrepr(inv.keys[0])
        code.add(
            "    drift = snapshot.semantic_drift",
            f"    if drift and {term} in drift:",
            f"        value = 1.0 - drift[{term}]",
        )
        code.extend(_judged(inv, inv.parts_name("BASIS_SNAPSHOT"), "        "))
    code.add(
        f"    fidelity = window.{inv.member}",
        "    if not fidelity.count:",
        f"        return {inv.constant_name('BASIS_NO_DATA')}",
        "    value = fidelity.mean()",
    )
    code.extend(_judged(inv, inv.parts_name(inv.window.basis)))
    return code


def _snapshot_first(inv: InvariantView) -> Fragment:
    """Without a window, a non-empty snapshot distribution is read before the actions."""
    code = Fragment()
    if not (inv.unwindowed and inv.measure in ("ratio", "max_share", "distinct")):
        return code
    code.add(f"    shares = snapshot.{inv.snapshot_field}", "    if shares:")
    if inv.measure == "ratio":
        numerator, denominator = (pyrepr(key) for key in inv.keys)
        code.add(
            f"        value = ratio_value(shares.get({numerator}, 0.0), shares.get({denominator}, 0.0))",
            uses=("ratio_value",),
        )
    else:
        reader = "snapshot_max_share" if inv.measure == "max_share" else "snapshot_distinct"
        code.add(
            f"        value, basis = {reader}(shares)",
            "        if basis == BASIS_EMPTY:",
            f"            return {inv.constant_name('BASIS_EMPTY')}",
            uses=(reader, "BASIS_EMPTY"),
        )
    code.extend(_judged(inv, inv.parts_name("BASIS_SNAPSHOT"), "        "))
    return code


def _window_value(inv: InvariantView) -> tuple[list[str], set[str]]:
    """Lines that set ``value`` from a non-empty window, and the runtime names they use."""
    match inv.measure:
        case "ratio":
            numerator, denominator = (pyrepr(key) for key in inv.keys)
            return [
                "    counts = window.by_action",
                f"    value = ratio_value(counts.get({numerator}), counts.get({denominator}))",
            ], {"ratio_value"}
        case "max_share":
            return [f"    value = window.{inv.counts}.max_count / window.n"], set()
        case "distinct":
            return [f"    value = float(window.{inv.counts}.distinct)"], set()
        case "temporal":
            return [f"    value = window.{inv.member} / window.n"], set()
    if inv.window_seconds is not None:
        return [f"    value = window.n / {pyrepr(inv.window_seconds)}"], set()
    return [
        "    span = window.last_ts - window.first_ts",
        "    value = (window.n - 1) / span if window.n >= 2 and span > 0 else 0.0",
    ], set()


def _measure_actions(inv: InvariantView) -> Fragment:
    assert inv.window is not None, "this invariant reads a window"
    code = _snapshot_first(inv)
    lines, names = _window_value(inv)
    code.add(
        "    if not window.n:",
        f"        return {inv.constant_name('BASIS_EMPTY')}",
        *lines,
        uses=names,
    )
    code.extend(_judged(inv, inv.parts_name(inv.window.basis)))
    return code


_MEASURES = {
    "drift": _measure_drift,
    "growth": _measure_growth,
    "every_term": _measure_every_term,
    "semantic": _measure_semantic,
    "ratio": _measure_actions,
    "max_share": _measure_actions,
    "distinct": _measure_actions,
    "temporal": _measure_actions,
    "rate": _measure_actions,
}
