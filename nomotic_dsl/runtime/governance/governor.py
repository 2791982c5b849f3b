"""GovernanceRuntime: holds each agent to its active contract, one verdict at a time.

Input: an agent id, one observed action and the governance verdict on it
(optionally the caller's own drift scores). Output: a VerdictRecord with the
contract's invariant results, the drift scores, every drift-threshold
exceedance in its metadata, and running provenance counts per agent. Stage:
runtime, after the contract store.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from nomotic_dsl.ir.contract import BehavioralContract
from nomotic_dsl.ir.prior import ActiveHours, ArchetypePrior
from nomotic_dsl.ir.spec import DRIFT_DISTRIBUTIONS
from nomotic_dsl.runtime import priors as archetypes
from nomotic_dsl.runtime.contracts.store import ContractStore
from nomotic_dsl.runtime.governance.drift import DEFAULT_DRIFT_WEIGHTS, overall_drift, window_drift
from nomotic_dsl.runtime.governance.records import DriftExceedance, Provenance, VerdictRecord
from nomotic_dsl.runtime.interpreter.evaluate import CompiledInvariants
from nomotic_dsl.runtime.interpreter.state import BehavioralState, Observation, StateError

ArchetypeLookup = Callable[[str], ArchetypePrior | None]


def _standard_archetype(name: str) -> ArchetypePrior | None:
    # Looked up through the module so a patched get_archetype is honoured.
    return archetypes.get_archetype(name)


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeConfig:
    """How the runtime governs agents; contract support is on by default.

    ``contract_store`` shares a store with other components (an in-memory one
    is made when None). ``window_size`` actions are kept per agent and are what
    invariants are measured over; drift uses the last ``drift_window`` of them
    and is measured only once ``min_drift_observations`` actions were seen, so
    the first few actions of an agent do not raise alarms.
    """

    contracts_enabled: bool = True
    contract_store: ContractStore | None = None
    window_size: int = 1000
    drift_window: int = 100
    min_drift_observations: int = 10
    drift_weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_DRIFT_WEIGHTS)
    archetype_lookup: ArchetypeLookup = _standard_archetype

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be a whole number, at least 1"
            for name in ("window_size", "drift_window", "min_drift_observations")
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1
        ]
        unknown = sorted(set(self.drift_weights) - set(DRIFT_DISTRIBUTIONS))
        if unknown:
            problems.append(f"drift_weights: unknown distribution(s) {', '.join(unknown)}")
        if any(weight < 0 for weight in self.drift_weights.values()):
            problems.append("drift_weights must not be negative")
        if problems:
            raise ValueError("invalid runtime config: " + "; ".join(problems))
        object.__setattr__(self, "drift_weights", MappingProxyType(dict(self.drift_weights)))


class GovernanceRuntime:
    """Per-agent windows, contract evaluation, drift enforcement and provenance."""

    def __init__(self, config: RuntimeConfig | None = None) -> None:
        self.config = config or RuntimeConfig()
        self.store = self.config.contract_store or ContractStore()
        self._lock = threading.Lock()
        self._windows: dict[str, deque[Observation]] = {}
        self._counts: dict[str, Counter[str]] = {}
        self._compiled: dict[str, tuple[str, int, CompiledInvariants]] = {}
        self._priors: dict[str, ArchetypePrior | None] = {}

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
        given = None if drift is None else _checked_drift(drift)
        with self._lock:
            window = self._windows.setdefault(agent_id, deque(maxlen=self.config.window_size))
            if window and action.timestamp < window[-1].timestamp:
                raise StateError(
                    f"observation at {action.timestamp!r} is older than agent {agent_id!r}'s "
                    f"last one at {window[-1].timestamp!r}"
                )
            window.append(action)
            contract = self.store.get_active(agent_id) if self.config.contracts_enabled else None
            record = self._evaluate(agent_id, action, verdict, contract, given)
            self._count(record)
        return record

    def _evaluate(
        self,
        agent_id: str,
        action: Observation,
        verdict: str,
        contract: BehavioralContract | None,
        given: Mapping[str, float] | None,
    ) -> VerdictRecord:
        if contract is None:
            return VerdictRecord.without_contract(agent_id, verdict, action, given or {})
        scores = self._drift_scores(agent_id, contract, given)
        state = BehavioralState(
            actions=tuple(self._windows[agent_id]), drift=scores or None, now=action.timestamp
        )
        results = tuple(self._compiled_for(contract).evaluate(state))
        return VerdictRecord.build(
            agent_id=agent_id,
            verdict=verdict,
            observation=action,
            contract=contract,
            results=results,
            drift=scores,
            drift_source="caller" if given is not None else "computed",
            exceedances=exceedances(scores, contract.drift_thresholds),
        )

    def _drift_scores(
        self, agent_id: str, contract: BehavioralContract, given: Mapping[str, float] | None
    ) -> dict[str, float]:
        if given is not None:
            scores = dict(given)
            overall = overall_drift(scores, self.config.drift_weights)
            if "overall" not in scores and overall is not None:
                scores["overall"] = overall
            return scores
        window = self._windows[agent_id]
        if len(window) < self.config.min_drift_observations:
            return {}
        recent = list(window)[-self.config.drift_window :]
        expected = {
            "action": contract.expected_action_distribution,
            "target": contract.expected_target_distribution,
            "outcome": contract.expected_outcome_distribution,
        }
        return window_drift(
            recent, expected, self._active_hours(contract), self.config.drift_weights
        )

    def _active_hours(self, contract: BehavioralContract) -> ActiveHours | None:
        if contract.archetype not in self._priors:
            self._priors[contract.archetype] = self.config.archetype_lookup(contract.archetype)
        prior = self._priors[contract.archetype]
        return None if prior is None else prior.active_hours

    def _compiled_for(self, contract: BehavioralContract) -> CompiledInvariants:
        cached = self._compiled.get(contract.agent_id)
        if cached is not None and cached[:2] == (contract.contract_id, contract.version):
            return cached[2]
        compiled = CompiledInvariants.compile(contract.invariants)
        self._compiled[contract.agent_id] = (contract.contract_id, contract.version, compiled)
        return compiled

    def _count(self, record: VerdictRecord) -> None:
        counts = self._counts.setdefault(record.agent_id, Counter())
        counts["records"] += 1
        counts["drift_exceedances"] += len(record.exceedances)
        counts.update(
            result.status if result.measured else "not_measured" for result in record.results
        )

    def provenance(self, agent_id: str) -> Provenance:
        """Running counts for the agent: records, invariant results by status, exceedances."""
        with self._lock:
            counts = Counter(self._counts.get(agent_id, Counter()))
        return Provenance(
            agent_id=agent_id,
            records=counts["records"],
            satisfied=counts["satisfied"],
            approaching=counts["approaching"],
            violated=counts["violated"],
            drift_exceedances=counts["drift_exceedances"],
            not_measured=counts["not_measured"],
        )

    def window(self, agent_id: str) -> tuple[Observation, ...]:
        """The agent's retained actions, oldest first."""
        with self._lock:
            return tuple(self._windows.get(agent_id, ()))


def exceedances(
    scores: Mapping[str, float], thresholds: Mapping[str, float]
) -> tuple[DriftExceedance, ...]:
    """Each distribution whose score is above the contract's threshold, in the standard order."""
    return tuple(
        DriftExceedance(distribution=name, score=scores[name], threshold=thresholds[name])
        for name in DRIFT_DISTRIBUTIONS
        if name in thresholds and name in scores and scores[name] > thresholds[name]
    )


def _checked_action(observation: Observation | Mapping[str, Any], verdict: str) -> Observation:
    if not isinstance(verdict, str) or not verdict:
        raise StateError(f"verdict: expected a non-empty string, got {verdict!r}")
    action = Observation.from_mapping(observation)
    return action if action.outcome == verdict else replace(action, outcome=verdict)


def _checked_drift(drift: Mapping[str, float]) -> Mapping[str, float]:
    # BehavioralState checks drift keys (did-you-mean included) as every other entry point does.
    return BehavioralState(drift=drift).drift or MappingProxyType({})
