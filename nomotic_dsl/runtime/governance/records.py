"""What the governance runtime hands back: verdict records, drift exceedances, provenance.

Input: one evaluation's pieces (verdict, observation, contract, invariant
results, drift scores). Output: frozen records with JSON-clean ``to_dict()``
and the verdict metadata a caller stores with its own verdict. Stage: runtime
output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from nomotic_dsl.ir.contract import BehavioralContract
from nomotic_dsl.ir.frozen import freeze, thaw
from nomotic_dsl.ir.spec import DRIFT_DISTRIBUTIONS
from nomotic_dsl.runtime.interpreter.result import InvariantResult
from nomotic_dsl.runtime.interpreter.state import Observation

# What counts and ``changed`` call a result: its status, or "not_measured" when
# nothing was measured (such a result is never counted as satisfied).
NOT_MEASURED = "not_measured"
RESULT_STATES: tuple[str, ...] = ("satisfied", "approaching", "violated", NOT_MEASURED)


def result_state(result: InvariantResult) -> str:
    """``"not_measured"`` for a result with nothing measured, else its status."""
    return result.status if result.measured else NOT_MEASURED


@dataclass(frozen=True, slots=True)
class DriftExceedance:
    """One distribution whose drift score went above the contract's threshold."""

    distribution: str
    score: float
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        """``{"distribution", "score", "threshold"}``, as recorded in verdict metadata."""
        return {"distribution": self.distribution, "score": self.score, "threshold": self.threshold}


def exceedances(
    scores: Mapping[str, float], thresholds: Mapping[str, float]
) -> tuple[DriftExceedance, ...]:
    """Each distribution whose score is above the contract's threshold, in the standard order."""
    return tuple(
        DriftExceedance(distribution=name, score=scores[name], threshold=thresholds[name])
        for name in DRIFT_DISTRIBUTIONS
        if name in thresholds and name in scores and scores[name] > thresholds[name]
    )


@dataclass(frozen=True, slots=True)
class Provenance:
    """Running counts for one agent since the runtime started."""

    agent_id: str
    records: int
    satisfied: int
    approaching: int
    violated: int
    drift_exceedances: int
    not_measured: int = 0
    scope_violations: int = 0

    @property
    def evaluations(self) -> int:
        """Measured invariant results counted: satisfied + approaching + violated."""
        return self.satisfied + self.approaching + self.violated

    def to_dict(self) -> dict[str, Any]:
        """JSON-clean counts; ``not_measured`` results are in none of the status counts."""
        return {
            "agent_id": self.agent_id,
            "records": self.records,
            "satisfied": self.satisfied,
            "approaching": self.approaching,
            "violated": self.violated,
            "not_measured": self.not_measured,
            "drift_exceedances": self.drift_exceedances,
            "scope_violations": self.scope_violations,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class VerdictRecord:
    """One verdict on one action, and what the agent's contract said about it."""

    agent_id: str
    verdict: str
    observation: Observation
    contract_id: str | None
    contract_version: int | None
    results: tuple[InvariantResult, ...]
    drift: Mapping[str, float]
    exceedances: tuple[DriftExceedance, ...]
    metadata: Mapping[str, Any]

    @classmethod
    def without_contract(
        cls, agent_id: str, verdict: str, observation: Observation, drift: Mapping[str, float]
    ) -> VerdictRecord:
        """A record for an agent with no active contract (or with contracts disabled)."""
        return cls(
            agent_id=agent_id,
            verdict=verdict,
            observation=observation,
            contract_id=None,
            contract_version=None,
            results=(),
            drift=MappingProxyType(dict(drift)),
            exceedances=(),
            metadata=MappingProxyType({"contract_id": None, "contract_version": None}),
        )

    @classmethod
    def build(
        cls,
        *,
        agent_id: str,
        verdict: str,
        observation: Observation,
        contract: BehavioralContract,
        results: tuple[InvariantResult, ...],
        drift: Mapping[str, float],
        drift_source: str,
        exceedances: tuple[DriftExceedance, ...],
        scope: Mapping[str, str] | None = None,
    ) -> VerdictRecord:
        """A record for an evaluated contract, with its metadata filled in.

        ``scope`` names what of the action was outside the contract's
        authorized scope (``{"action": ...}``, ``{"target": ...}``), or None.
        """
        metadata = {
            "contract_id": contract.contract_id,
            "contract_version": contract.version,
            "drift": dict(drift),
            "drift_source": drift_source,
            "drift_exceedances": [exceedance.to_dict() for exceedance in exceedances],
            "scope": None if scope is None else dict(scope),
            "invariants": _status_counts(results),
            "violated_invariants": [r.invariant_id for r in results if r.status == "violated"],
            "approaching_invariants": [
                r.invariant_id for r in results if r.measured and r.status == "approaching"
            ],
            "not_measured_invariants": [r.invariant_id for r in results if not r.measured],
        }
        return cls(
            agent_id=agent_id,
            verdict=verdict,
            observation=observation,
            contract_id=contract.contract_id,
            contract_version=contract.version,
            results=results,
            drift=MappingProxyType(dict(drift)),
            exceedances=exceedances,
            metadata=freeze(metadata),
        )

    @property
    def violated(self) -> tuple[str, ...]:
        """Ids of the invariants this action left violated."""
        return tuple(r.invariant_id for r in self.results if r.status == "violated")

    def to_dict(self) -> dict[str, Any]:
        """JSON-clean form of the whole record."""
        return {
            "agent_id": self.agent_id,
            "verdict": self.verdict,
            "observation": self.observation.to_dict(),
            "contract_id": self.contract_id,
            "contract_version": self.contract_version,
            "results": [result.to_dict() for result in self.results],
            "drift": dict(self.drift),
            "exceedances": [exceedance.to_dict() for exceedance in self.exceedances],
            "metadata": thaw(self.metadata),
        }


def _status_counts(results: tuple[InvariantResult, ...]) -> dict[str, int]:
    states = [result_state(result) for result in results]
    return {state: states.count(state) for state in RESULT_STATES}
