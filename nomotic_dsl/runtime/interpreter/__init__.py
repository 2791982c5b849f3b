"""The reference interpreter: behavioral state, measurement, judging, results.

``CompiledInvariants.evaluate`` is the one reference meaning of every
invariant; generated evaluators, monitors and the fleet runtime are tested
against it.
"""

from nomotic_dsl.runtime.interpreter.evaluate import CompiledInvariants, evaluate_spec
from nomotic_dsl.runtime.interpreter.result import InvariantResult
from nomotic_dsl.runtime.interpreter.state import (
    BehavioralState,
    Observation,
    StateError,
    coerce_state,
)

__all__ = [
    "BehavioralState",
    "CompiledInvariants",
    "InvariantResult",
    "Observation",
    "StateError",
    "coerce_state",
    "evaluate_spec",
]
