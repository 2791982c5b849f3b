"""CompiledInvariants: a validated set of specs and the reference interpreter over it.

``compile()`` refuses any invalid spec (naming every one), groups the specs by
evaluation strategy and precomputes their detail phrases; ``evaluate()``
measures and judges each spec on a behavioral state, in spec order.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nomotic_dsl.ir.describe import DetailText, detail_text
from nomotic_dsl.ir.frozen import is_number
from nomotic_dsl.ir.spec import INVARIANT_TYPES, InvariantSpec, parse_specs
from nomotic_dsl.runtime.interpreter.detail import UNMEASURED_BASES, render_detail
from nomotic_dsl.runtime.interpreter.judge import STATUSES, judge, status_of
from nomotic_dsl.runtime.interpreter.measure import measure, session_actions
from nomotic_dsl.runtime.interpreter.result import InvariantResult
from nomotic_dsl.runtime.interpreter.state import BehavioralState, coerce_state

NOT_MEASURED = "not_measured"


def evaluation_strategy(spec: InvariantSpec) -> str:
    """How a spec is evaluated: which data it reads and over what window."""
    if spec.type == "drift":
        return "drift_scores"
    session = "session:" if spec.per_session else ""
    if spec.window is not None:
        return f"{session}count_window:{spec.window}"
    if spec.window_seconds is not None:
        return f"{session}time_window:{spec.window_seconds:g}"
    return "session:all_actions" if spec.per_session else "snapshot_or_history"


def evaluate_spec(spec: InvariantSpec, text: DetailText, state: BehavioralState) -> InvariantResult:
    """Evaluate one valid spec on a state: the reference meaning of an invariant."""
    measurement = measure(spec, state)
    measured = measurement.basis not in UNMEASURED_BASES
    if measured:
        satisfied, margin = judge(
            spec.operator, measurement.value, spec.threshold, spec.threshold_upper
        )
    else:
        satisfied, margin = True, math.nan
    status = status_of(satisfied, margin)
    return InvariantResult(
        invariant_id=spec.invariant_id,
        satisfied=satisfied,
        current_value=measurement.value,
        threshold=spec.threshold,
        margin=margin,
        status=status,
        detail=render_detail(
            text, measurement.value, margin, status, measurement.basis, measurement.note
        ),
        measured=measured,
    )


class CompiledInvariants:
    """A validated, grouped set of invariants, ready to evaluate."""

    __slots__ = ("_groups", "_specs", "_texts")

    def __init__(self, specs: Sequence[InvariantSpec]) -> None:
        """Use ``CompiledInvariants.compile``; this trusts ``specs`` to be valid."""
        self._specs = tuple(specs)
        self._texts = tuple(detail_text(spec) for spec in self._specs)
        groups: dict[str, list[str]] = {}
        for spec in self._specs:
            groups.setdefault(evaluation_strategy(spec), []).append(spec.invariant_id)
        self._groups = {name: tuple(ids) for name, ids in sorted(groups.items())}

    @classmethod
    def compile(cls, specs: Iterable[InvariantSpec | Mapping[str, Any]]) -> CompiledInvariants:
        """Validate every spec (objects or dicts); raise ValueError naming each invalid one."""
        parsed, found = parse_specs(specs)
        if found:
            lines = [
                str(problem.in_list("specs"))
                + ("" if problem.invariant_id is None else f" (invariant {problem.invariant_id!r})")
                for problem in found
            ]
            raise ValueError("invalid invariant specs:\n  " + "\n  ".join(lines))
        return cls(parsed)

    @property
    def specs(self) -> tuple[InvariantSpec, ...]:
        """The specs, in the order given."""
        return self._specs

    @property
    def groups(self) -> dict[str, tuple[str, ...]]:
        """Invariant ids by evaluation strategy."""
        return dict(self._groups)

    def __len__(self) -> int:
        return len(self._specs)

    def evaluate(
        self,
        state: BehavioralState | Mapping[str, Any],
        *,
        session_idle_seconds: float | None = None,
    ) -> list[InvariantResult]:
        """Evaluate every invariant on ``state``; results in spec order.

        Per-session invariants are measured over the actions of the session of
        the state's last action (``session_actions``); with
        ``session_idle_seconds``, a session idle longer than that started afresh
        at its next action, as a monitor that releases idle sessions sees it.
        """
        check_idle_seconds(session_idle_seconds)
        checked = coerce_state(state)
        session: BehavioralState | None = None
        results = []
        for spec, text in zip(self._specs, self._texts, strict=True):
            if spec.per_session:
                if session is None:
                    session = session_state(checked, session_idle_seconds)
                results.append(evaluate_spec(spec, text, session))
            else:
                results.append(evaluate_spec(spec, text, checked))
        return results

    def summary(self, results: Sequence[InvariantResult] | None = None) -> dict[str, Any]:
        """Counts by status and type for ``results``; without results, the compiled set."""
        if results is None:
            return {
                "total": len(self._specs),
                "by_type": _count_types(spec.type for spec in self._specs),
                "by_strategy": {name: len(ids) for name, ids in self._groups.items()},
            }
        return summarize(results, {spec.invariant_id: spec.type for spec in self._specs})


def check_idle_seconds(seconds: float | None) -> None:
    """``session_idle_seconds`` is None or a positive number of seconds; ValueError if not."""
    if seconds is not None and (not is_number(seconds) or seconds <= 0):
        raise ValueError(
            f"session_idle_seconds: {seconds!r} must be a positive number of seconds, or None"
        )


def session_state(state: BehavioralState, idle_seconds: float | None) -> BehavioralState:
    """The state per-session invariants see: the current session's actions, the same ``now``.

    Snapshot fields describe the whole agent, so they are left out.
    """
    return BehavioralState(
        actions=session_actions(state.actions, idle_seconds), now=state.effective_now
    )


def summarize(
    results: Sequence[InvariantResult], types: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Counts of results: by status (measured results only), by measurement, by type; ids.

    A result that measured nothing is counted as ``not_measured``, never under
    a status: ``by_status`` counts add up to ``by_measurement["measured"]``.
    """
    known = types or {}
    by_type: dict[str, dict[str, int]] = {}
    by_status = dict.fromkeys(STATUSES, 0)
    for result in results:
        counts = by_type.setdefault(known.get(result.invariant_id, "unknown"), _zero_counts())
        key = result.status if result.measured else NOT_MEASURED
        counts[key] += 1
        if result.measured:
            by_status[result.status] += 1
    measured = sum(by_status.values())
    return {
        "total": len(results),
        "by_status": by_status,
        "by_measurement": {"measured": measured, NOT_MEASURED: len(results) - measured},
        "by_type": {name: by_type[name] for name in sorted(by_type)},
        "violated": [r.invariant_id for r in results if r.status == "violated"],
        "approaching": [
            r.invariant_id for r in results if r.measured and r.status == "approaching"
        ],
        NOT_MEASURED: [r.invariant_id for r in results if not r.measured],
    }


def _count_types(types: Iterable[str]) -> dict[str, int]:
    counts = Counter(types)
    return {name: counts[name] for name in INVARIANT_TYPES if counts[name]}


def _zero_counts() -> dict[str, int]:
    return dict.fromkeys((*STATUSES, NOT_MEASURED), 0)
