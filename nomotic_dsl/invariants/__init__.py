"""Behavioral invariants: specs, behavioral state, and the reference interpreter."""

from nomotic_dsl.invariants.builder import InvariantBuilder, derived_invariant_id
from nomotic_dsl.invariants.compiled import CompiledInvariants, evaluate_spec
from nomotic_dsl.invariants.result import InvariantResult
from nomotic_dsl.invariants.spec import InvariantSpec
from nomotic_dsl.invariants.state import BehavioralState, Observation, StateError, coerce_state

__all__ = [
    "BehavioralState",
    "CompiledInvariants",
    "InvariantBuilder",
    "InvariantResult",
    "InvariantSpec",
    "Observation",
    "StateError",
    "coerce_state",
    "derived_invariant_id",
    "evaluate_spec",
]
