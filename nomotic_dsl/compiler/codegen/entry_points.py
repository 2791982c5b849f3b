"""Code fragments of a generated module's entry points: ``evaluate``, ``Monitor``, ``_Session``.

Input: the view-model (``ModuleView``). Output: ``Fragment``s of lines, one
per function or method, with the runtime names they use. Which windows are
built, kept per session, exported and restored is decided here, so the
template only lays the fragments out. Policy values reach the lines only
through ``pyrepr`` and ``pyident``.
"""

from __future__ import annotations

from nomotic_dsl.compiler.codegen.filters import pyident, pyrepr
from nomotic_dsl.compiler.codegen.views import Fragment, InvariantView, ModuleView, WindowView


def check_call(inv: InvariantView, owner: str) -> str:
    """The call of one invariant's function on its window (``owner`` + the window's name)."""
    name = pyident(inv.invariant_id, inv.index)
    if inv.window is None:
        return f"{name}(snapshot)"
    where = owner + inv.window.attr if owner else inv.window.local
    return f"{name}({where}, snapshot)"


def _tuple_of(items: list[str]) -> str:
    if not items:
        return "()"
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def declared_order(module: ModuleView) -> str:
    """The expression that puts a tuple of results, laid out by id, in declared order."""
    count = len(module.invariants)
    if count == 0:
        return "[]"
    if count == 1:
        return "[results[0]]"
    return "list(_IN_DECLARED_ORDER(results))"


def evaluate(module: ModuleView) -> Fragment:
    """The body of ``evaluate`` after its signature and docstring."""
    code = Fragment()
    code.add("    check_idle_seconds(session_idle_seconds)", uses=("check_idle_seconds",))
    if not module.invariants:
        code.add("    read_state(state)", "    return []", uses=("read_state",))
        return code
    rows = "rows" if module.windows else "_"
    code.add(f"    {rows}, snapshot = read_state(state)", uses=("read_state",))
    if module.session_windows:
        code.add("    session = rows.session(session_idle_seconds)")
    for window in module.windows:
        code.add(*_window_of(window))
    code.add("    results = (")
    code.add(*(f"        {check_call(inv, '')}," for inv in module.invariants))
    code.add("    )", f"    return {declared_order(module)}")
    return code


def _window_of(window: WindowView) -> list[str]:
    source = window.source
    if window.kind == "count":
        lines = [
            f"    {window.local} = {window.class_name}.of({source}.last({pyrepr(window.size)}))"
        ]
    elif window.kind == "time":
        lines = [
            f"    {window.local} = {window.class_name}.of({source}.within({pyrepr(window.seconds)}))"
        ]
    else:
        lines = [f"    {window.local} = {window.class_name}.of({source})"]
    if window.growth:
        lines += [
            f"    {window.local}.growth = RateGrowth.of_times(",
            f"        {source}.timestamps, {source}.lo, {source}.hi, {source}.now, "
            f"{pyrepr(window.seconds)}",
            "    )",
        ]
    return lines


def session_methods(module: ModuleView) -> tuple[Fragment, ...]:
    """The methods of ``_Session``, the holder of one session's windows."""
    windows, bounded = module.session_windows, module.session_bounded_windows
    init = Fragment()
    init.add("    def __init__(self) -> None:")
    init.add(*(f"        self.{w.attr} = {w.class_name}()" for w in windows))
    push = Fragment()
    push.add(
        "    def push(self, observation: Observation) -> None:",
        '        """Take the session\'s newest observation."""',
    )
    push.add(*(f"        self.{w.attr}.push(observation)" for w in windows))
    export = Fragment()
    export.add(
        "    def export(self) -> dict[str, Any]:",
        '        """The session\'s part of the monitor state."""',
        "        return {",
        '            "observations": export_observations(',
        *(f"                self.{w.attr}.entries," for w in bounded),
        "            ),",
        '            "windows": {',
        *(f"                {pyrepr(w.state_key)}: self.{w.attr}.export()," for w in windows),
        "            },",
        "        }",
        uses=("export_observations",),
    )
    restore = Fragment()
    restore.add(
        "    @classmethod",
        "    def restore(cls, reader: StateReader, session_id: str | None, last: float) -> _Session:",
        '        """The session a state describes; StateError naming the field when it is not valid."""',
        '        observations = reader.session_observations("observations", last, session_id)',
        f'        windows = reader.child("windows", {pyrepr(module.session_state_keys)})',
        "        session = cls()",
        uses=("StateReader",),
    )
    for w in windows:
        restore.add(
            f"        session.{w.attr} = {w.class_name}.restore(",
            f"            windows.child({pyrepr(w.state_key)}), observations, last",
            "        )",
        )
    restore.add(
        "        check_retained(",
        "            reader,",
        '            "observations",',
        f"            {_tuple_of([f'session.{w.attr}.n' for w in bounded])},",
        "            len(observations),",
        "        )",
        "        return session",
        uses=("check_retained",),
    )
    return (init, push, export, restore)


def monitor_init(module: ModuleView) -> Fragment:
    """The body of ``Monitor.__init__``."""
    code = Fragment()
    code.add(
        "        self._last: float | None = None",
        "        self._snapshot = EMPTY_SNAPSHOT",
        uses=("EMPTY_SNAPSHOT",),
    )
    code.add(*(f"        self.{w.attr} = {w.class_name}()" for w in module.global_windows))
    if module.session_windows:
        code.add(
            "        self._sessions = SessionTable(_Session, session_idle_seconds)",
            "        self._current = _Session()",
            uses=("SessionTable",),
        )
    else:
        code.add(
            "        check_idle_seconds(session_idle_seconds)",
            "        self._idle = None if session_idle_seconds is None else float(session_idle_seconds)",
            uses=("check_idle_seconds",),
        )
    return code


def monitor_observe(module: ModuleView) -> Fragment:
    """The body of ``Monitor.observe`` after its docstring."""
    code = Fragment()
    code.add(
        "        current = Observation.from_mapping(observation)",
        "        check_order(self._last, current.timestamp)",
        "        self._last = current.timestamp",
        uses=("Observation", "check_order"),
    )
    code.add(*(f"        self.{w.attr}.push(current)" for w in module.global_windows))
    if module.session_windows:
        code.add(
            "        self._current = self._sessions.enter(current.session_id, current.timestamp)",
            "        self._current.push(current)",
        )
    code.add("        return self.results()")
    return code


def monitor_results(module: ModuleView) -> Fragment:
    """The body of ``Monitor.results`` after its docstring."""
    code = Fragment()
    if not module.invariants:
        code.add("        return []")
        return code
    code.add("        snapshot = self._snapshot", "        results = (")
    code.add(*(f"            {check_call(inv, inv.owner)}," for inv in module.invariants))
    code.add("        )", f"        return {declared_order(module)}")
    return code


def monitor_export(module: ModuleView) -> Fragment:
    """The body of ``Monitor.export_state`` after its docstring."""
    code = Fragment()
    code.add(
        "        state = state_header(SOURCE_DIGEST, SPECS_DIGEST, INVARIANT_IDS)",
        '        state["last"] = self._last',
        '        state["drift"] = export_scores(self._snapshot.drift)',
        '        state["semantic_drift"] = export_scores(self._snapshot.semantic_drift)',
        '        state["observations"] = export_observations(',
        *(f"            self.{w.attr}.entries," for w in module.bounded_windows),
        "        )",
        '        state["windows"] = {',
        *(
            f"            {pyrepr(w.state_key)}: self.{w.attr}.export(),"
            for w in module.global_windows
        ),
        "        }",
        uses=("state_header", "export_scores", "export_observations"),
    )
    if module.session_windows:
        code.add(
            '        state["session_idle_seconds"] = self._sessions.idle_seconds',
            '        state["sessions"] = self._sessions.export(_Session.export)',
        )
    else:
        code.add(
            '        state["session_idle_seconds"] = self._idle',
            '        state["sessions"] = []',
        )
    code.add("        return state")
    return code


def monitor_import(module: ModuleView) -> Fragment:
    """The body of ``Monitor.import_state`` after its docstring."""
    code = Fragment()
    code.add(
        "        reader = StateReader.monitor(",
        "            state,",
        "            source_digest=SOURCE_DIGEST,",
        "            specs_digest=SPECS_DIGEST,",
        "            invariant_ids=INVARIANT_IDS,",
        f"            keys={pyrepr(module.state_keys)},",
        "        )",
        '        last = reader.optional_timestamp("last")',
        '        drift = reader.scores("drift")',
        '        semantic = reader.scores("semantic_drift")',
        '        observations = reader.observations("observations", last)',
        uses=("StateReader",),
    )
    if module.global_windows:
        code.add(f'        windows = reader.child("windows", {pyrepr(module.window_state_keys)})')
    else:
        code.add('        reader.child("windows", ())')
    for w in module.global_windows:
        code.add(
            f"        {w.local} = {w.class_name}.restore(",
            f"            windows.child({pyrepr(w.state_key)}), observations, last",
            "        )",
        )
    code.add(
        "        check_retained(",
        "            reader,",
        '            "observations",',
        f"            {_tuple_of([f'{w.local}.n' for w in module.bounded_windows])},",
        "            len(observations),",
        "        )",
        uses=("check_retained",),
    )
    if module.session_windows:
        code.add(
            '        reader.same_idle_seconds("session_idle_seconds", self._sessions.idle_seconds)',
            "        sessions, newest = self._sessions.restore(",
            '            reader, "sessions", last, _Session.restore, ("observations", "windows")',
            "        )",
        )
    else:
        code.add(
            '        reader.same_idle_seconds("session_idle_seconds", self._idle)',
            '        reader.no_sessions("sessions")',
        )
    code.add(
        "        self._last = last",
        "        self._snapshot = Snapshot(drift=drift, semantic_drift=semantic)",
        uses=("Snapshot",),
    )
    code.add(*(f"        self.{w.attr} = {w.local}" for w in module.global_windows))
    if module.session_windows:
        code.add(
            "        self._sessions.adopt(sessions)",
            "        self._current = _Session() if newest is None else newest",
        )
    return code
