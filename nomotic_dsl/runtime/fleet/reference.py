"""The reference interpreter behind a generated module's interface, for contracts without code.

Input: invariant specs. Output: an object with ``SPECS``, ``evaluate`` and
``Monitor`` like a generated evaluator module, whose monitor keeps every
observation and evaluates them all with ``CompiledInvariants`` on each step.
Stage: runtime; ``GovernanceRuntime`` uses it when no ``EvaluatorProvider`` is
given, and tests use it as the meaning generated monitors must equal.

It is exact but slow (each observation re-evaluates the whole history) and
its memory grows with the history: shells pass the compiler's provider of
generated code instead (``nomotic_dsl.compiler.evaluators``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from nomotic_dsl.ir.spec import InvariantSpec
from nomotic_dsl.runtime.interpreter.evaluate import CompiledInvariants
from nomotic_dsl.runtime.interpreter.result import InvariantResult
from nomotic_dsl.runtime.interpreter.state import BehavioralState, Observation, StateError
from nomotic_dsl.runtime.results import check_order, checked_scores

REFERENCE_STATE_FORMAT = "nomotic_dsl.reference_monitor_state"


class ReferenceMonitor:
    """A streaming monitor that re-evaluates every observation so far with the interpreter."""

    def __init__(self, compiled: CompiledInvariants) -> None:
        self._compiled = compiled
        self._actions: list[Observation] = []
        self._drift: Mapping[str, float] | None = None

    def observe(self, observation: Observation | Mapping[str, Any]) -> list[InvariantResult]:
        """Take the next observation and return every invariant's result."""
        current = Observation.from_mapping(observation)
        check_order(self._actions[-1].timestamp if self._actions else None, current.timestamp)
        self._actions.append(current)
        return self.results()

    def results(self) -> list[InvariantResult]:
        """Every invariant's result on the observations so far."""
        return self._compiled.evaluate(
            BehavioralState(actions=tuple(self._actions), drift=self._drift)
        )

    def set_drift(self, scores: Mapping[str, float] | None) -> None:
        """Set the drift scores drift invariants read."""
        self._drift = checked_scores("drift", scores)

    def export_state(self) -> dict[str, Any]:
        """Every observation and the drift scores, JSON-clean."""
        return {
            "format": REFERENCE_STATE_FORMAT,
            "observations": [action.to_dict() for action in self._actions],
            "drift": None if self._drift is None else dict(self._drift),
        }

    def import_state(self, state: Mapping[str, Any]) -> None:
        """Continue from ``export_state`` data."""
        if not isinstance(state, Mapping) or state.get("format") != REFERENCE_STATE_FORMAT:
            raise StateError(f"state: not a {REFERENCE_STATE_FORMAT}")
        checked = BehavioralState.from_mapping(
            {"actions": state.get("observations") or [], "drift": state.get("drift")}
        )
        self._actions = list(checked.actions)
        self._drift = checked.drift


def reference_evaluator(specs: Sequence[InvariantSpec]) -> Any:
    """A module-like object (``SPECS``, ``evaluate``, ``Monitor``) over the interpreter."""
    compiled = CompiledInvariants.compile(tuple(specs))

    def evaluate(state: BehavioralState | Mapping[str, Any]) -> list[InvariantResult]:
        return compiled.evaluate(state)

    def monitor() -> ReferenceMonitor:
        return ReferenceMonitor(compiled)

    return SimpleNamespace(
        SPECS=tuple(spec.to_dict() for spec in compiled.specs), evaluate=evaluate, Monitor=monitor
    )


def reference_evaluators(specs: tuple[InvariantSpec, ...]) -> Any:
    """The ``EvaluatorProvider`` of reference evaluators (see the module's note)."""
    return reference_evaluator(specs)
