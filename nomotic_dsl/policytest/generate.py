"""Observations from ``observe`` steps: names cycled or mixed by share, times from the clock.

Input: an ``Observe`` step, the clock's time, the pace and the default agent.
Output: ``TraceItem``s (the fleet runtime's parsed observation), lazily, and
the clock's time after the step. Stage: ``nomo test``, in front of the
replay.

``observe 40 read, reply on tickets every 30s`` alternates read and reply;
``read 75%, reply 25%`` mixes them by share, deterministically (smooth
weighted round robin: after any prefix, each name has been used as close to
its share as whole observations allow). The first observation is at the
clock's time, the next ones ``every`` apart (the pace when not given), and
the clock then stands one interval after the last.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from nomotic_dsl.policytest.model import Choice, Observe
from nomotic_dsl.runtime.fleet.observation import TraceItem, checked_drift
from nomotic_dsl.runtime.interpreter.state import Observation, StateError


class Names:
    """An endless sequence of names from a list: cycled, or by share."""

    def __init__(self, choices: tuple[Choice, ...]) -> None:
        self.names = [choice.name for choice in choices]
        self.weights = [choice.weight for choice in choices]
        self.current = [0.0] * len(choices)
        self.index = 0

    def next(self) -> str | None:
        """The next name (None for an empty list)."""
        if not self.names:
            return None
        if self.weights[0] is None:
            name = self.names[self.index % len(self.names)]
            self.index += 1
            return name
        best = 0
        for position, weight in enumerate(self.weights):
            self.current[position] += weight or 0.0
            if self.current[position] > self.current[best] + 1e-12:
                best = position
        self.current[best] -= 1.0
        return self.names[best]


@dataclass(frozen=True, slots=True)
class Generated:
    """One generated observation and its timestamp."""

    item: TraceItem
    timestamp: float


def observations(
    step: Observe, clock: float, pace: float, default_agent: str | None
) -> Iterator[Generated]:
    """The step's observations; StateError when one is not a valid observation."""
    every = step.every if step.every is not None else pace
    actions, targets = Names(step.actions), Names(step.targets)
    sessions, outcomes = Names(step.sessions), Names(step.outcomes)
    semantic: Mapping[str, float] = MappingProxyType(dict(step.semantic))
    drift = checked_drift(dict(step.drift)) if step.drift else None
    agent = step.agent if step.agent is not None else default_agent
    for index in range(step.count):
        timestamp = clock + index * every
        action, target = actions.next(), targets.next()
        assert action is not None and target is not None  # the parser requires both lists
        observation = Observation(
            timestamp=timestamp,
            action_type=action,
            target=target,
            outcome=outcomes.next(),
            session_id=sessions.next(),
            semantic=semantic,
        )
        yield Generated(TraceItem(agent, observation, drift), timestamp)


def clock_after(step: Observe, clock: float, pace: float) -> float:
    """Where the clock stands after the step: one interval after its last observation."""
    every = step.every if step.every is not None else pace
    return clock + step.count * every


__all__ = ["Generated", "Names", "StateError", "clock_after", "observations"]
