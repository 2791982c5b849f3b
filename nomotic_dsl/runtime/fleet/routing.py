"""Which chain a trace line's decision goes to, knowing only the bundle's agents.

Input: the agent ids a runtime's contracts name (or that it governs every
agent), and a trace line. Output: the key of the chain the line's decision
joins: the agent id it names, the only contract's agent for a line naming
none, or None (the agent-less chain) for a line no contract can take by
name. Stage: runtime; ``FleetRuntime`` routes with it, and an engine that
partitions agents across workers (the Flink job) keys lines by it before any
evaluator runs.

For a line that cannot be read as an observation, the key is the agent id
the line names when that much is valid (``TraceLineError.agent_id``), else
None: the same chain the runtime's error decision joins. What is not decided
here is the per-runtime agent limit (``max_agents``), which depends on every
agent seen before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nomotic_dsl.runtime.fleet.observation import TraceLineError, parse_line


@dataclass(frozen=True, slots=True)
class Routing:
    """The agents a runtime has contracts for, and whether one policy governs every agent."""

    agents: frozenset[str]
    governs_all: bool = False

    @classmethod
    def of(cls, agents: Iterable[str], governs_all: bool = False) -> Routing:
        """Routing over ``agents`` (the agent ids of a bundle's contracts)."""
        return cls(frozenset(agents), governs_all)

    def key(self, agent_id: str | None) -> str | None:
        """The chain of an observation naming ``agent_id`` (None: it names none)."""
        if agent_id is not None or self.governs_all:
            return agent_id
        if len(self.agents) == 1:
            (only,) = self.agents
            return only
        return None

    def line_key(self, data: str | bytes | None) -> str | None:
        """The chain the decision on trace line ``data`` joins (None for an unreadable line)."""
        if data is None:
            return None
        try:
            item = parse_line(data)
        except TraceLineError as exc:
            return exc.agent_id
        return self.key(item.agent_id)
