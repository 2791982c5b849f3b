"""GovernanceRuntime: holds each agent to its active contract, one verdict at a time.

Input: an agent id, one observed action and the governance verdict on it
(optionally the caller's own drift scores). Output: a VerdictRecord with the
contract's invariant results, the drift scores, every drift-threshold
exceedance in its metadata, and running provenance counts per agent. Stage:
runtime, after the contract store.

It is served by the fleet runtime's per-agent evaluation
(``nomotic_dsl.runtime.fleet.agent.AgentEvaluation``): a streaming monitor of
the contract's evaluator module and an incremental drift window per agent.
Contracts come from the ``ContractStore``, so their evaluator modules come
from ``RuntimeConfig.evaluators``: the compiler's generated code when a shell
wires it in (``nomotic_dsl.compiler.evaluators.generated_evaluators()``),
else the reference interpreter behind the same interface. When an agent's
active contract changes, its evaluation restarts under the new version and
is first given the agent's retained window (the last ``window_size``
actions), so windows carry over; no records are made for that replay.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from nomotic_dsl.ir.contract import BehavioralContract
from nomotic_dsl.ir.prior import ArchetypePrior
from nomotic_dsl.runtime.contracts.store import ContractStore
from nomotic_dsl.runtime.fleet.agent import AgentEvaluation
from nomotic_dsl.runtime.fleet.config import FleetConfig, standard_archetype
from nomotic_dsl.runtime.fleet.observation import checked_drift
from nomotic_dsl.runtime.fleet.policy import EvaluatorProvider, Policy, make_policy
from nomotic_dsl.runtime.fleet.reference import reference_evaluators
from nomotic_dsl.runtime.governance.drift import DEFAULT_DRIFT_WEIGHTS
from nomotic_dsl.runtime.governance.records import (
    Provenance,
    VerdictRecord,
    exceedances,
    result_state,
)
from nomotic_dsl.runtime.interpreter.state import Observation, StateError

ArchetypeLookup = Callable[[str], ArchetypePrior | None]
# Contracts from a store have no bundle; their decisions would chain from this.
STORE_DIGEST = "0" * 64
_CACHED_POLICIES = 256

__all__ = ["GovernanceRuntime", "RuntimeConfig", "exceedances"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeConfig:
    """How the runtime governs agents; contract support is on by default.

    ``contract_store`` shares a store with other components (an in-memory one
    is made when None). ``window_size`` actions are retained per agent
    (``window()``, and the replay into a new contract version's monitor);
    invariants are measured by each agent's streaming monitor over its own
    windows. Drift uses the last ``drift_window`` actions and is measured
    only once ``min_drift_observations`` actions were seen, so the first few
    actions of an agent do not raise alarms. ``evaluators`` makes the
    evaluator module of a contract's specs (default: the reference
    interpreter); ``session_idle_seconds`` goes to each monitor.
    """

    contracts_enabled: bool = True
    contract_store: ContractStore | None = None
    window_size: int = 1000
    drift_window: int = 100
    min_drift_observations: int = 10
    drift_weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_DRIFT_WEIGHTS)
    archetype_lookup: ArchetypeLookup = standard_archetype
    evaluators: EvaluatorProvider | None = None
    session_idle_seconds: float | None = None

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.window_size, int) or self.window_size < 1:
            problems.append("window_size must be a whole number, at least 1")
        try:
            fleet = self.fleet_config()
        except ValueError as exc:
            problems.append(str(exc).removeprefix("invalid runtime config: "))
        if problems:
            raise ValueError("invalid runtime config: " + "; ".join(problems))
        object.__setattr__(self, "drift_weights", fleet.drift_weights)

    def fleet_config(self) -> FleetConfig:
        """The fleet runtime options these settings amount to."""
        return FleetConfig(
            drift_window=self.drift_window,
            min_drift_observations=self.min_drift_observations,
            drift_weights=self.drift_weights,
            session_idle_seconds=self.session_idle_seconds,
            archetype_lookup=self.archetype_lookup,
        )


class _Agent:
    """What the runtime keeps for one agent: its window, evaluation and counts."""

    __slots__ = ("counts", "evaluation", "window")

    def __init__(self, size: int) -> None:
        self.window: deque[Observation] = deque(maxlen=size)
        self.evaluation: AgentEvaluation | None = None
        self.counts: Counter[str] = Counter()


class GovernanceRuntime:
    """Per-agent windows, contract evaluation, drift enforcement and provenance."""

    def __init__(self, config: RuntimeConfig | None = None) -> None:
        self.config = config or RuntimeConfig()
        self.store = self.config.contract_store or ContractStore()
        self._fleet = self.config.fleet_config()
        self._evaluators = self.config.evaluators or reference_evaluators
        self._lock = threading.Lock()
        self._agents: dict[str, _Agent] = {}
        self._policies: dict[tuple[str, int, str], Policy] = {}

    def record(
        self,
        agent_id: str,
        observation: Observation | Mapping[str, Any],
        verdict: str,
        *,
        drift: Mapping[str, float] | None = None,
    ) -> VerdictRecord:
        """Record one action and its verdict; evaluate the agent's active contract.

        The verdict becomes the observation's outcome. Raises StateError (a
        ValueError) for a malformed observation, one older than the agent's
        last, or caller drift scores that are not distribution -> 0..1.
        """
        action = _checked_action(observation, verdict)
        given = None if drift is None else checked_drift(drift)
        with self._lock:
            agent = self._agents.get(agent_id) or _Agent(self.config.window_size)
            if agent.window and action.timestamp < agent.window[-1].timestamp:
                raise StateError(
                    f"observation at {action.timestamp!r} is older than agent {agent_id!r}'s "
                    f"last one at {agent.window[-1].timestamp!r}"
                )
            self._agents[agent_id] = agent
            contract = self.store.get_active(agent_id) if self.config.contracts_enabled else None
            if contract is None:
                agent.window.append(action)
                record = VerdictRecord.without_contract(agent_id, verdict, action, given or {})
            else:
                evaluation = self._evaluation(agent, contract)
                agent.window.append(action)
                step = evaluation.step(action, given)
                record = VerdictRecord.build(
                    agent_id=agent_id,
                    verdict=verdict,
                    observation=action,
                    contract=contract,
                    results=step.results,
                    drift=step.drift,
                    drift_source="caller" if given is not None else "computed",
                    exceedances=step.exceedances,
                    scope=step.scope,
                )
            self._count(agent, record)
        return record

    def _evaluation(self, agent: _Agent, contract: BehavioralContract) -> AgentEvaluation:
        policy = self._policy_for(contract)
        if agent.evaluation is None or agent.evaluation.policy is not policy:
            agent.evaluation = AgentEvaluation(policy, self._fleet)
            for earlier in agent.window:
                agent.evaluation.step(earlier)
        return agent.evaluation

    def _policy_for(self, contract: BehavioralContract) -> Policy:
        key = (contract.agent_id, contract.version, contract.contract_id)
        policy = self._policies.get(key)
        if policy is None:
            specs = contract.invariant_specs()
            policy = make_policy(
                contract, self._evaluators(specs), STORE_DIGEST, self._fleet, specs
            )
            if len(self._policies) >= _CACHED_POLICIES:
                self._policies.pop(next(iter(self._policies)))
            self._policies[key] = policy
        return policy

    def _count(self, agent: _Agent, record: VerdictRecord) -> None:
        counts = agent.counts
        counts["records"] += 1
        counts["drift_exceedances"] += len(record.exceedances)
        counts["scope_violations"] += record.metadata.get("scope") is not None
        counts.update(result_state(result) for result in record.results)

    def provenance(self, agent_id: str) -> Provenance:
        """Running counts for the agent: records, invariant results by status, exceedances."""
        with self._lock:
            agent = self._agents.get(agent_id)
            counts = Counter(agent.counts) if agent is not None else Counter()
        return Provenance(
            agent_id=agent_id,
            records=counts["records"],
            satisfied=counts["satisfied"],
            approaching=counts["approaching"],
            violated=counts["violated"],
            drift_exceedances=counts["drift_exceedances"],
            not_measured=counts["not_measured"],
            scope_violations=counts["scope_violations"],
        )

    def window(self, agent_id: str) -> tuple[Observation, ...]:
        """The agent's retained actions, oldest first."""
        with self._lock:
            agent = self._agents.get(agent_id)
            return tuple(agent.window) if agent is not None else ()


def _checked_action(observation: Observation | Mapping[str, Any], verdict: str) -> Observation:
    if not isinstance(verdict, str) or not verdict:
        raise StateError(f"verdict: expected a non-empty string, got {verdict!r}")
    action = Observation.from_mapping(observation)
    return action if action.outcome == verdict else replace(action, outcome=verdict)
