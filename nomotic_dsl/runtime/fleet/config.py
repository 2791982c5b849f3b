"""How the fleet runtime governs: drift window, idle release, limits.

Input: keyword options (from the CLI, the HTTP settings or a platform's own
code). Output: one frozen, validated ``FleetConfig``. Stage: runtime.

Everything here changes decisions (except ``max_agents``'s absence), so a
checkpoint records ``decision_fields()`` and a resumed run must use the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from nomotic_dsl.ir.frozen import is_number
from nomotic_dsl.ir.prior import ArchetypePrior
from nomotic_dsl.ir.spec import DRIFT_DISTRIBUTIONS
from nomotic_dsl.runtime import priors as archetypes
from nomotic_dsl.runtime.governance.drift import DEFAULT_DRIFT_WEIGHTS

ArchetypeLookup = Callable[[str], ArchetypePrior | None]

DEFAULT_DRIFT_WINDOW = 100
DEFAULT_MIN_DRIFT_OBSERVATIONS = 10


def standard_archetype(name: str) -> ArchetypePrior | None:
    """The standard library's prior for ``name`` (looked up through the module, so patchable)."""
    return archetypes.get_archetype(name)


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetConfig:
    """Options of a ``FleetRuntime``.

    - ``drift_window``: drift is measured over each agent's last N actions;
    - ``min_drift_observations``: no drift score before an agent took N actions;
    - ``drift_weights``: weights of each distribution in ``overall``;
    - ``agent_idle_seconds``: an agent whose next observation comes more than
      this many seconds (trace time) after its previous one starts afresh, and
      the evaluation state of agents idle for twice as long is released from
      memory; None keeps every agent's state;
    - ``session_idle_seconds``: passed to each generated monitor, which
      releases the state of sessions idle that long; None keeps sessions;
    - ``max_agents``: at most this many distinct agent ids are governed; an
      observation for one more gets an error decision; None: no limit;
    - ``archetype_lookup``: archetype name -> prior (active hours for
      temporal drift); the standard library's priors by default.
    """

    drift_window: int = DEFAULT_DRIFT_WINDOW
    min_drift_observations: int = DEFAULT_MIN_DRIFT_OBSERVATIONS
    drift_weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_DRIFT_WEIGHTS)
    agent_idle_seconds: float | None = None
    session_idle_seconds: float | None = None
    max_agents: int | None = None
    archetype_lookup: ArchetypeLookup = standard_archetype

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be a whole number, at least 1"
            for name in ("drift_window", "min_drift_observations")
            if not _is_count(getattr(self, name))
        ]
        for name in ("agent_idle_seconds", "session_idle_seconds"):
            value = getattr(self, name)
            if value is not None and not (is_number(value) and value > 0):
                problems.append(f"{name} must be a positive number of seconds or None")
        if self.max_agents is not None and not _is_count(self.max_agents):
            problems.append("max_agents must be a whole number, at least 1, or None")
        unknown = sorted(set(self.drift_weights) - set(DRIFT_DISTRIBUTIONS))
        if unknown:
            problems.append(f"drift_weights: unknown distribution(s) {', '.join(unknown)}")
        if any(not is_number(weight) or weight < 0 for weight in self.drift_weights.values()):
            problems.append("drift_weights must be finite numbers, not negative")
        if problems:
            raise ValueError("invalid runtime config: " + "; ".join(problems))
        weights = {name: float(self.drift_weights[name]) for name in sorted(self.drift_weights)}
        object.__setattr__(self, "drift_weights", MappingProxyType(weights))
        for name in ("agent_idle_seconds", "session_idle_seconds"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, float(value))

    def decision_fields(self) -> dict[str, Any]:
        """The options decisions depend on, JSON-clean (what a checkpoint records)."""
        return {
            "drift_window": self.drift_window,
            "min_drift_observations": self.min_drift_observations,
            "drift_weights": dict(self.drift_weights),
            "agent_idle_seconds": self.agent_idle_seconds,
            "session_idle_seconds": self.session_idle_seconds,
            "max_agents": self.max_agents,
        }


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
