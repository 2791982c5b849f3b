"""The fleet runtime: one runtime governing many agents from verified bundles.

Input: ``LoadedBundle``s (or ``Policy``s made from contracts and evaluator
modules) and observations naming their agent. Output: one decision record per
observation with receipts chained per agent, end records, provenance,
checkpoints. Stage: runtime; ``nomo run``, ``nomo log verify`` and the HTTP
API's ``/v1/observations`` are shells over it, and ``GovernanceRuntime`` runs
its agents with this package's ``AgentEvaluation``.

Modules: ``config`` (options), ``policy`` (contract + module + scope + drift
baseline), ``drift`` (incremental drift window), ``agent`` (one agent's step),
``observation`` (trace lines), ``decision`` (records and receipts),
``runtime`` (routing, chains, idle release, state), ``checkpoint`` (files),
``log`` (verifying decision logs), ``trace`` (reading traces and streams),
``reference`` (the interpreter behind a module's interface).
"""

from nomotic_dsl.runtime.fleet.agent import AgentEvaluation, Step
from nomotic_dsl.runtime.fleet.config import FleetConfig
from nomotic_dsl.runtime.fleet.observation import TraceItem, TraceLineError, parse_line
from nomotic_dsl.runtime.fleet.policy import EvaluatorProvider, Policy, Scope, make_policy
from nomotic_dsl.runtime.fleet.reference import reference_evaluators
from nomotic_dsl.runtime.fleet.runtime import FleetRuntime, StateMismatch

__all__ = [
    "AgentEvaluation",
    "EvaluatorProvider",
    "FleetConfig",
    "FleetRuntime",
    "Policy",
    "Scope",
    "StateMismatch",
    "Step",
    "TraceItem",
    "TraceLineError",
    "make_policy",
    "parse_line",
    "reference_evaluators",
]
