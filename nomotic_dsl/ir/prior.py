"""Archetype priors: the expected behaviour of an agent archetype, as plain data.

Priors are written in the language (``archetype NAME { ... }`` in
``stdlib/archetypes/<name>.nomo``). The compiler turns them into these
records; the runtime reads them from a data file the compiler wrote
(``stdlib/priors.json``, see ``nomotic_dsl.runtime.priors``), so reading a
prior never loads the parser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from nomotic_dsl.ir.frozen import is_number

_EMPTY: Mapping[str, float] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ActiveHours:
    """The hours an archetype is normally active: ``start <= hour < end`` (wrapping)."""

    start: int
    end: int
    zone: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"start", "end", "zone"}``."""
        return {"start": self.start, "end": self.end, "zone": self.zone}


@dataclass(frozen=True, slots=True)
class ArchetypePrior:
    """Expected action, target and outcome distributions, active hours and baseline rate."""

    name: str
    action_distribution: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    target_distribution: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    outcome_distribution: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    active_hours: ActiveHours | None = None
    baseline_rate: float | None = None  # actions per second

    @property
    def has_prior(self) -> bool:
        """False for an archetype with no expected distributions (such as ``general``)."""
        return bool(
            self.action_distribution or self.target_distribution or self.outcome_distribution
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON-clean form written to the priors data file."""
        return {
            "name": self.name,
            "action_distribution": dict(self.action_distribution),
            "target_distribution": dict(self.target_distribution),
            "outcome_distribution": dict(self.outcome_distribution),
            "active_hours": None if self.active_hours is None else self.active_hours.to_dict(),
            "baseline_rate": self.baseline_rate,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArchetypePrior:
        """Read ``to_dict()`` output back; ValueError naming the first malformed field."""
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("prior: 'name' must be a non-empty string")
        hours = data.get("active_hours")
        rate = data.get("baseline_rate")
        if rate is not None and not (is_number(rate) and rate > 0):
            raise ValueError(f"prior {name!r}: baseline_rate must be a positive number or null")
        return cls(
            name=name,
            action_distribution=_shares(data, "action_distribution", name),
            target_distribution=_shares(data, "target_distribution", name),
            outcome_distribution=_shares(data, "outcome_distribution", name),
            active_hours=None if hours is None else _active_hours(hours, name),
            baseline_rate=None if rate is None else float(rate),
        )


def _shares(data: Mapping[str, Any], key: str, name: str) -> Mapping[str, float]:
    value = data.get(key) or {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and is_number(v) for k, v in value.items()
    ):
        raise ValueError(f"prior {name!r}: {key} must map names to numbers")
    return MappingProxyType({k: float(v) for k, v in value.items()})


def _active_hours(value: Any, name: str) -> ActiveHours:
    if not isinstance(value, Mapping):
        raise ValueError(f"prior {name!r}: active_hours must be an object or null")
    start, end, zone = value.get("start"), value.get("end"), value.get("zone")
    if not (
        isinstance(start, int) and isinstance(end, int) and 0 <= start <= 24 and 0 <= end <= 24
    ):
        raise ValueError(f"prior {name!r}: active_hours start and end must be hours 0..24")
    if zone is not None and not isinstance(zone, str):
        raise ValueError(f"prior {name!r}: active_hours zone must be a string or null")
    return ActiveHours(start, end, zone)
