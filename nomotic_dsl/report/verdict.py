"""One line's violations in words, for a compliance reader (``nomo explain --verdict``).

Input: a policy set, a trace, a line, optionally an invariant. Output:
``VerdictExplanation``s: for each invariant violated after that line's
observation, the rule in plain words, what the runtime said, since when it
has been violated, the window behind the value and what drove it. Stage:
``nomo explain --verdict``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nomotic_dsl.compiler.explain import explain_spec
from nomotic_dsl.replay.source import PolicySet
from nomotic_dsl.report.collect import collect
from nomotic_dsl.report.explain import Explanation, clock, explain
from nomotic_dsl.runtime.governance.records import result_state


class VerdictError(Exception):
    """The line holds no verdict to explain (refused, missing, nothing violated)."""


@dataclass(frozen=True, slots=True)
class VerdictExplanation:
    """One violated invariant at one line, explained."""

    line: int
    agent_id: str | None
    time: str
    contract: str | None
    invariant_id: str
    rule: str
    description: str
    since: int | None
    explanation: Explanation

    def text(self) -> str:
        """Paragraphs for a compliance reader."""
        who = "the agent" if self.agent_id is None else f"agent {self.agent_id}"
        under = "" if self.contract is None else f" under contract {self.contract}"
        since = (
            "It became violated on this line."
            if self.since in (None, self.line)
            else f"It has been violated since line {self.since}."
        )
        body = " ".join(self.explanation.sentences[1:])
        return "\n".join(
            [
                f"Line {self.line} ({self.time}), {who}{under}: {self.invariant_id} was violated.",
                f"  The rule: {self.rule}",
                f"  As written: {self.description}",
                f"  What the runtime found: {self.explanation.sentences[0]}",
                f"  {body}",
                f"  {since}",
            ]
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "line": self.line,
            "agent_id": self.agent_id,
            "time": self.time,
            "contract": self.contract,
            "invariant": self.invariant_id,
            "rule": self.rule,
            "description": self.description,
            "violated_since": self.since,
            "explanation": self.explanation.to_dict(),
        }


def explain_verdict(
    policy_set: PolicySet, trace: Path, line: int, invariant: str | None = None
) -> list[VerdictExplanation]:
    """The violations in effect after line ``line`` of ``trace``, explained (VerdictError)."""
    collected = collect(policy_set, trace, verdict_line=line)
    verdict = collected.verdict
    if verdict is None:
        refused = next((item for item in collected.refused if item.line == line), None)
        if refused is not None:
            raise VerdictError(f"line {line} was refused, nothing was evaluated: {refused.message}")
        raise VerdictError(f"{trace} has no observation on line {line}")
    specs = {spec.invariant_id: spec for spec in verdict.policy.specs}
    if invariant is not None and invariant not in specs:
        known = ", ".join(specs) or "none"
        raise VerdictError(
            f"agent {verdict.agent_id!r} is held to no invariant {invariant!r} (its invariants: {known})"
        )
    contract = verdict.policy.contract
    label = None if contract is None else f"{contract.agent_id} version {contract.version}"
    found = []
    states = []
    for result in verdict.results:
        if invariant is not None and result.invariant_id != invariant:
            continue
        state = result_state(result)
        states.append(f"{result.invariant_id} {state.replace('_', ' ')}")
        if state != "violated":
            continue
        spec = specs[result.invariant_id]
        expected = {} if verdict.policy.baseline is None else dict(verdict.policy.baseline.expected)
        found.append(
            VerdictExplanation(
                line=line,
                agent_id=verdict.agent_id,
                time=clock(verdict.timestamp),
                contract=label,
                invariant_id=result.invariant_id,
                rule=explain_spec(spec),
                description=spec.description,
                since=verdict.since.get(result.invariant_id),
                explanation=explain(
                    spec,
                    result,
                    verdict.history,
                    expected=expected,
                    drift_window=policy_set.config.drift_window,
                ),
            )
        )
    if not found:
        who = "the agent" if verdict.agent_id is None else f"agent {verdict.agent_id}"
        raise VerdictError(
            f"nothing was violated after line {line} for {who}: "
            + (", ".join(states) or "no invariant")
        )
    return found
