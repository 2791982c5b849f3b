"""Archetype priors: the expected behaviour of an agent archetype.

Priors are written in the language (``archetype NAME { ... }`` declarations)
and shipped in ``stdlib/archetypes/<name>.nomo``. ``get_archetype`` compiles
the standard library's file for a name and returns its prior, or None for an
archetype the standard library does not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType

from nomotic_dsl.resources import stdlib_dir

_EMPTY: Mapping[str, float] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ActiveHours:
    """The hours an archetype is normally active: ``start <= hour < end`` (wrapping)."""

    start: int
    end: int
    zone: str | None = None


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
        return bool(self.action_distribution or self.target_distribution or self.outcome_distribution)


def archetype_path(name: str) -> str:
    """The standard-library import path of an archetype's file."""
    return f"std/archetypes/{name}"


@cache
def get_archetype(name: str) -> ArchetypePrior | None:
    """The standard library's prior for ``name``, or None when it has none.

    Raises ValueError when the standard library's file for ``name`` does not
    compile: that is a defect of the installation, not of the caller's input.
    """
    path = stdlib_dir() / "archetypes" / f"{name}.nomo"
    if not name or "/" in name or "\\" in name or not path.is_file():
        return None
    from nomotic_dsl.pipeline import compile_file  # the pipeline imports this module

    result = compile_file(path)
    if not result.ok:
        raise ValueError(f"standard library archetype {name!r} does not compile")
    for prior in result.archetypes:
        if prior.name == name:
            return prior
    return None


def known_archetypes() -> tuple[str, ...]:
    """Names of the archetypes the standard library ships, sorted."""
    return tuple(sorted(path.stem for path in (stdlib_dir() / "archetypes").glob("*.nomo")))
