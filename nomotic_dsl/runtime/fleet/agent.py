"""One agent under one policy: its monitor, its drift window, and one step per observation.

Input: an agent's observations, oldest first (and, optionally, drift scores
the observation carries). Output: a ``Step`` per observation: every
invariant's result, the drift scores, drift-threshold exceedances, what was
out of scope, which invariants changed status, and status counts. Stage:
runtime; ``FleetRuntime`` and ``GovernanceRuntime`` both run agents here.

Order of one step: the observation joins the drift window; drift scores are
computed (or taken from the observation); the monitor is given them
(``set_drift``) and then the observation, so drift invariants read the
scores that include it; thresholds and scope are checked. An observation
earlier than the agent's previous one is refused (``StateError``) before
anything changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from nomotic_dsl.ir.frozen import is_number
from nomotic_dsl.ir.spec import DRIFT_DISTRIBUTIONS
from nomotic_dsl.runtime.fleet.config import FleetConfig
from nomotic_dsl.runtime.fleet.drift import DriftWindow
from nomotic_dsl.runtime.fleet.policy import Policy
from nomotic_dsl.runtime.governance.drift import overall_drift
from nomotic_dsl.runtime.governance.records import (
    NOT_MEASURED,
    RESULT_STATES,
    DriftExceedance,
)
from nomotic_dsl.runtime.interpreter.result import InvariantResult
from nomotic_dsl.runtime.interpreter.state import Observation, StateError

AGENT_STATE_FORMAT = "nomotic_dsl.agent_evaluation"
AGENT_STATE_VERSION = 1
DRIFT_COMPUTED = "computed"
DRIFT_GIVEN = "given"


class Step(NamedTuple):
    """What one observation did to an agent's evaluation.

    A named tuple: immutable like a frozen dataclass, and made in a fraction
    of its time (one is made per observation).
    """

    results: tuple[InvariantResult, ...]
    drift: Mapping[str, float]
    drift_source: str
    exceedances: tuple[DriftExceedance, ...]
    scope: Mapping[str, str] | None
    # (invariant id, state before or None when the evaluation just started, state now)
    changed: tuple[tuple[str, str | None, str], ...]
    counts: Mapping[str, int]
    # Ids of the invariants violated after this observation, sorted (a result with nothing
    # measured is never violated, so these follow from the states), and those not measured.
    violated: tuple[str, ...]
    unmeasured: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _States:
    """What follows from one tuple of states: counts, violated and unmeasured invariants."""

    states: tuple[str, ...]
    counts: Mapping[str, int]
    violated: tuple[str, ...]
    unmeasured: tuple[str, ...]

    @classmethod
    def of(cls, states: tuple[str, ...], results: tuple[InvariantResult, ...]) -> _States:
        tally = dict.fromkeys(RESULT_STATES, 0)
        for state in states:
            tally[state] += 1
        ids = [result.invariant_id for result in results]
        return cls(
            states=states,
            counts=MappingProxyType(tally),
            violated=tuple(
                sorted([i for i, s in zip(ids, states, strict=True) if s == "violated"])
            ),
            unmeasured=tuple([i for i, s in zip(ids, states, strict=True) if s == NOT_MEASURED]),
        )


class AgentEvaluation:
    """The evaluation state of one agent under one policy."""

    __slots__ = (
        "_min_drift",
        "_summary",
        "_thresholds",
        "_weights",
        "drift",
        "last_timestamp",
        "monitor",
        "policy",
        "states",
    )

    def __init__(self, policy: Policy, config: FleetConfig) -> None:
        self.policy = policy
        self.monitor = policy.monitor()
        self.drift = (
            DriftWindow(policy.baseline, config.drift_window)
            if policy.baseline is not None
            else None
        )
        # Each invariant's state after the last step, in result order; None before any.
        self.states: tuple[str, ...] | None = None
        self.last_timestamp: float | None = None
        self._weights = config.drift_weights
        self._min_drift = config.min_drift_observations
        # What the last states gave (shared by steps that leave them as they were).
        self._summary: _States | None = None
        # (distribution, threshold) in the standard order, as ``exceedances`` reads them.
        thresholds = policy.thresholds
        self._thresholds = tuple(
            (name, thresholds[name]) for name in DRIFT_DISTRIBUTIONS if name in thresholds
        )

    def check(self, observation: Observation) -> None:
        """Refuse an observation earlier than the agent's last (nothing changes)."""
        if self.last_timestamp is not None and observation.timestamp < self.last_timestamp:
            raise StateError(
                f"observation at {observation.timestamp!r} is earlier than the agent's "
                f"previous one at {self.last_timestamp!r}; an agent's observations must be "
                "in time order"
            )

    def step(self, observation: Observation, given: Mapping[str, float] | None = None) -> Step:
        """Take the agent's next observation; ``given`` drift scores replace computed ones."""
        self.check(observation)
        if self.drift is not None:
            self.drift.push(observation)
        if given is not None:
            scores = dict(given)
            if "overall" not in scores:
                overall = overall_drift(scores, self._weights)
                if overall is not None:
                    scores["overall"] = overall
            source = DRIFT_GIVEN
        else:
            scores = (
                self.drift.scores(self._weights, self._min_drift) if self.drift is not None else {}
            )
            source = DRIFT_COMPUTED
        monitor = self.monitor
        monitor.set_drift(scores or None)
        results = tuple(monitor.observe(observation))
        self.last_timestamp = observation.timestamp
        # result_state of each, inlined (eight calls an observation add up).
        states = tuple([r.status if r.measured else NOT_MEASURED for r in results])
        before = self.states
        if before is not None and before == states:
            changed: tuple[tuple[str, str | None, str], ...] = ()
        else:
            changed = tuple(
                (result.invariant_id, None if before is None else before[index], state)
                for index, (result, state) in enumerate(zip(results, states, strict=True))
                if before is None or before[index] != state
            )
        self.states = states
        summary = self._summary
        if summary is None or summary.states != states:
            summary = self._summary = _States.of(states, results)
        exceedances = tuple(
            [
                DriftExceedance(name, scores[name], threshold)
                for name, threshold in self._thresholds
                if name in scores and scores[name] > threshold
            ]
        )
        return Step(
            results,
            MappingProxyType(scores),
            source,
            exceedances,
            self.policy.scope.outside(observation.action_type, observation.target),
            changed,
            summary.counts,
            summary.violated,
            summary.unmeasured,
        )

    def export(self) -> dict[str, Any]:
        """The whole evaluation as JSON-clean data (monitor state, drift window, states)."""
        return {
            "format": AGENT_STATE_FORMAT,
            "version": AGENT_STATE_VERSION,
            "monitor": self.monitor.export_state(),
            "drift": None if self.drift is None else self.drift.export(),
            "states": None if self.states is None else list(self.states),
            "last_timestamp": self.last_timestamp,
        }

    @classmethod
    def restore(
        cls, data: Any, policy: Policy, config: FleetConfig, where: str = "evaluation"
    ) -> AgentEvaluation:
        """The evaluation ``export`` described; StateError naming the field when invalid."""
        keys = {"format", "version", "monitor", "drift", "states", "last_timestamp"}
        if not isinstance(data, Mapping) or set(data) != keys:
            raise StateError(f"{where}: expected exactly {', '.join(sorted(keys))}")
        if data["format"] != AGENT_STATE_FORMAT or data["version"] != AGENT_STATE_VERSION:
            raise StateError(
                f"{where}: not a {AGENT_STATE_FORMAT} version {AGENT_STATE_VERSION} state"
            )
        evaluation = cls(policy, config)
        evaluation.monitor.import_state(data["monitor"])
        if (data["drift"] is None) != (policy.baseline is None):
            raise StateError(f"{where}.drift: does not match the policy (drift baseline or not)")
        if policy.baseline is not None:
            evaluation.drift = DriftWindow.restore(
                data["drift"], policy.baseline, config.drift_window, f"{where}.drift"
            )
        states = data["states"]
        if states is not None and (
            not isinstance(states, list)
            or len(states) != len(policy.specs)
            or not all(state in RESULT_STATES for state in states)
        ):
            raise StateError(
                f"{where}.states: expected one of {', '.join(RESULT_STATES)} per invariant"
            )
        evaluation.states = None if states is None else tuple(states)
        last = data["last_timestamp"]
        if last is not None and not is_number(last):  # an int past the float range included
            raise StateError(f"{where}.last_timestamp: expected a finite number or null")
        evaluation.last_timestamp = None if last is None else float(last)
        if (evaluation.states is None) != (evaluation.last_timestamp is None):
            raise StateError(f"{where}: states and last_timestamp must both be set or both null")
        return evaluation
