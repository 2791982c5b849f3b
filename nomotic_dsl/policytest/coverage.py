"""Coverage of policy tests: which invariants the tests drove where, and which none named.

Input: a ``TestRun``. Output: one ``InvariantCoverage`` per invariant of
every policy a test ran (per contract): whether some test drove it to
approaching and to violated, whether its window ever filled (a test fed at
least its window of actions, or spanned its window of time), and whether an
expectation named it. Stage: ``nomo test --coverage``.

A window that depends on something the tests here cannot see (an invariant
with settings this module does not know) is reported as ``unknown``, never
as filled.
"""

from __future__ import annotations

from dataclasses import dataclass

from nomotic_dsl.ir.spec import InvariantSpec, has_plain_window
from nomotic_dsl.policytest.runner import TestRun

FILLED = "filled"
NOT_FILLED = "not filled"
NO_WINDOW = "whole history"
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class InvariantCoverage:
    """What the tests did with one invariant of one policy's contract."""

    policy: str
    agent_id: str | None
    invariant_id: str
    description: str
    approaching: bool
    violated: bool
    window: str
    named: bool
    observed: bool

    def to_dict(self) -> dict[str, object]:
        """JSON-clean form."""
        return {
            "policy": self.policy,
            "agent_id": self.agent_id,
            "invariant": self.invariant_id,
            "description": self.description,
            "approaching": self.approaching,
            "violated": self.violated,
            "window": self.window,
            "named": self.named,
            "observed": self.observed,
        }


def window_filled(
    spec: InvariantSpec, most_actions: int, longest_span: float, drift_window: int
) -> str:
    """Whether some test filled ``spec``'s window, given its most actions and longest span.

    A drift invariant reads the runtime's drift window (``drift_window`` actions).
    """
    if not has_plain_window(spec):
        return UNKNOWN
    if spec.type == "drift":
        return FILLED if most_actions >= drift_window else NOT_FILLED
    if spec.window is not None:
        return FILLED if most_actions >= spec.window else NOT_FILLED
    if spec.window_seconds is not None:
        return FILLED if longest_span >= spec.window_seconds else NOT_FILLED
    return NO_WINDOW


def coverage(run: TestRun) -> list[InvariantCoverage]:
    """Every invariant of every policy the tests ran, by policy, agent and invariant order."""
    table: list[InvariantCoverage] = []
    for key in sorted(run.policies):
        policy_set = run.policies[key]
        outcomes = [outcome for outcome in run.outcomes if outcome.policy == key]
        for policy in policy_set.policies:
            agent = policy.agent_id
            seen = [
                item
                for outcome in outcomes
                for item in outcome.seen
                if agent is None or item.agent_id == agent
            ]
            named = {
                ident
                for outcome in outcomes
                for who, ident in outcome.named
                if agent is None or who == agent
            }
            most = max((item.observations for item in seen), default=0)
            longest = max((item.span_seconds for item in seen), default=0.0)
            for spec in policy.specs:
                states = set().union(*(item.reached.get(spec.invariant_id, ()) for item in seen))
                table.append(
                    InvariantCoverage(
                        policy=key,
                        agent_id=agent,
                        invariant_id=spec.invariant_id,
                        description=spec.description,
                        approaching="approaching" in states,
                        violated="violated" in states,
                        window=window_filled(spec, most, longest, policy_set.config.drift_window)
                        if seen
                        else NOT_FILLED,
                        named=spec.invariant_id in named,
                        observed=bool(seen),
                    )
                )
    return table


def untested(table: list[InvariantCoverage]) -> list[InvariantCoverage]:
    """The invariants no expectation named."""
    return [row for row in table if not row.named]
