"""What the runtime holds an agent to: a contract, its evaluator module, scope and drift baseline.

Input: a contract (or none) and an evaluator module (a verified bundle's
generated module, or one an ``EvaluatorProvider`` made). Output: a frozen
``Policy``. Stage: runtime.

The runtime never generates code: a bundle brings its modules, and contracts
from a ``ContractStore`` get theirs from an ``EvaluatorProvider`` that the
caller passes in. The shells (CLI, HTTP) pass the compiler's
``nomotic_dsl.compiler.evaluators.generated_evaluators()``; a library user who
passes none gets ``reference_evaluators`` (the reference interpreter behind
the same interface), which is exact but re-evaluates every action on each
observation.

Scope: ``authorized_scope`` ``{"actions": [...], "targets": [...]}`` restricts
a kind when its list is not empty; an absent or empty list does not restrict
(the compiler writes ``[]`` for a kind a ``scope`` block leaves out). Any other
shape is refused when the policy is made, so a scope is never ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from nomotic_dsl.ir.contract import BehavioralContract
from nomotic_dsl.ir.prior import ActiveHours
from nomotic_dsl.ir.spec import InvariantSpec, load_zone
from nomotic_dsl.runtime.bundle.evaluator import PolicyMonitor
from nomotic_dsl.runtime.fleet.config import FleetConfig

# specs -> a module offering SPECS and Monitor (a generated evaluator module, or
# an object with the same interface).
EvaluatorProvider = Callable[[tuple[InvariantSpec, ...]], Any]

SCOPE_KINDS: tuple[tuple[str, str], ...] = (("actions", "action"), ("targets", "target"))


@dataclass(frozen=True, slots=True)
class Scope:
    """The actions and targets a contract authorises; None for a kind it does not restrict."""

    actions: frozenset[str] | None = None
    targets: frozenset[str] | None = None

    @classmethod
    def of(cls, authorized_scope: Mapping[str, Any]) -> Scope:
        """Read ``authorized_scope``; ValueError naming the field when its shape is unknown."""
        allowed: dict[str, frozenset[str] | None] = {}
        for kind, _ in SCOPE_KINDS:
            names = authorized_scope.get(kind)
            if names is None:
                allowed[kind] = None
                continue
            if isinstance(names, str | bytes) or not isinstance(names, Sequence):
                raise ValueError(f"authorized_scope.{kind} must be a list of names")
            if not all(isinstance(name, str) and name for name in names):
                raise ValueError(f"authorized_scope.{kind} must hold non-empty names only")
            allowed[kind] = frozenset(names) or None
        return cls(allowed["actions"], allowed["targets"])

    def outside(self, action: str, target: str) -> dict[str, str] | None:
        """What of an action lies outside the scope: ``{"action": ..., "target": ...}`` or None."""
        actions, targets = self.actions, self.targets
        if (actions is None or action in actions) and (targets is None or target in targets):
            return None  # the common case, without building the dict
        found: dict[str, str] = {}
        if actions is not None and action not in actions:
            found["action"] = action
        if targets is not None and target not in targets:
            found["target"] = target
        return found  # not empty: one of the two is outside


@dataclass(frozen=True, slots=True)
class DriftBaseline:
    """What a contract expects, for drift: distributions, active hours, anchor terms."""

    expected: Mapping[str, Mapping[str, float]]
    active_hours: ActiveHours | None
    zone: ZoneInfo | None
    terms: frozenset[str]

    @classmethod
    def of(cls, contract: BehavioralContract, config: FleetConfig) -> DriftBaseline:
        """The baseline of ``contract``; active hours from its archetype's prior, when known."""
        expected = {
            name: MappingProxyType(dict(shares))
            for name, shares in (
                ("action", contract.expected_action_distribution),
                ("target", contract.expected_target_distribution),
                ("outcome", contract.expected_outcome_distribution),
            )
            if shares
        }
        prior = config.archetype_lookup(contract.archetype)
        hours = None if prior is None else prior.active_hours
        zone = load_zone(hours.zone) if hours is not None and hours.zone else None
        terms = frozenset(
            str(anchor["term"]) for anchor in contract.semantic_anchors if anchor.get("term")
        )
        return cls(MappingProxyType(expected), hours, zone, terms)


@dataclass(frozen=True, slots=True, eq=False)
class Policy:
    """One agent's contract (or a policy for any agent) with its evaluator module.

    ``agent_id`` None means the policy of a bundle without a contract: it
    governs every agent, each with its own monitor, and has no drift
    baseline, scope or thresholds. ``bundle`` is the digest decisions under
    this policy name and their receipt chains start from.
    """

    agent_id: str | None
    contract: BehavioralContract | None
    specs: tuple[InvariantSpec, ...]
    module: Any
    bundle: str
    scope: Scope
    baseline: DriftBaseline | None
    thresholds: Mapping[str, float]
    session_idle_seconds: float | None = None

    @property
    def identity(self) -> dict[str, Any] | None:
        """``{"id": contract_id, "version": version}``, or None without a contract."""
        if self.contract is None:
            return None
        return {"id": self.contract.contract_id, "version": self.contract.version}

    @property
    def invariant_ids(self) -> tuple[str, ...]:
        """The invariant ids, in the order results come in."""
        return tuple(spec.invariant_id for spec in self.specs)

    def monitor(self) -> PolicyMonitor:
        """A fresh streaming monitor of this policy's evaluator."""
        if self.session_idle_seconds is None:
            monitor: PolicyMonitor = self.module.Monitor()
        else:
            monitor = self.module.Monitor(session_idle_seconds=self.session_idle_seconds)
        return monitor


def make_policy(
    contract: BehavioralContract | None,
    module: Any,
    bundle: str,
    config: FleetConfig,
    specs: Sequence[InvariantSpec] | None = None,
) -> Policy:
    """A policy for ``contract`` (or for any agent when None) run by ``module``.

    ValueError when the contract's scope has an unknown shape or the module
    cannot make monitors with the configured options.
    """
    chosen = tuple(specs) if specs is not None else _specs_of(contract)
    policy = Policy(
        agent_id=None if contract is None else contract.agent_id,
        contract=contract,
        specs=chosen,
        module=module,
        bundle=bundle,
        scope=Scope() if contract is None else Scope.of(contract.authorized_scope),
        baseline=None if contract is None else DriftBaseline.of(contract, config),
        thresholds=MappingProxyType({} if contract is None else dict(contract.drift_thresholds)),
        session_idle_seconds=config.session_idle_seconds,
    )
    try:
        policy.monitor()
    except TypeError:
        raise ValueError(
            f"the generated monitor of {policy.agent_id or 'the policy'} does not support "
            "session release (session_idle_seconds); rebuild the bundle with a compiler whose "
            "monitors do, or leave session release off"
        ) from None
    return policy


def _specs_of(contract: BehavioralContract | None) -> tuple[InvariantSpec, ...]:
    return () if contract is None else contract.invariant_specs()
