"""What a change does: one trace replayed through two policy sets, verdict by verdict.

Input: two ``PolicySet``s (A, the current bundle, and B, the proposed one) and a
trace. Output: a ``VerdictDiff``: the invariants B adds and removes (per
agent), and every subject whose verdict differs between A and B on some
observation (an invariant's state, scope, a drift exceedance, a line one of
them refused), with the runs of lines where it differs and the first line.
Stage: the library behind ``nomo diff``; both sides are the fleet runtime
over generated evaluators, fed the same lines in the same order.

A run is a sequence of the agent's consecutive observations with the same
pair of verdicts (A's, B's); in an interleaved trace its lines need not be
contiguous. At most ``MAX_RUNS`` runs are kept per subject (all are counted).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nomotic_dsl.ir.spec import DRIFT_DISTRIBUTIONS
from nomotic_dsl.replay.run import Observed, TraceFileError, decide
from nomotic_dsl.replay.source import PolicySet
from nomotic_dsl.runtime.fleet.runtime import FleetRuntime
from nomotic_dsl.runtime.fleet.trace import TraceReader
from nomotic_dsl.runtime.governance.records import result_state

MAX_RUNS = 1000
REFUSED = "refused"
DECIDED = "decided"


@dataclass(slots=True)
class Run:
    """Consecutive observations of one agent with the same verdicts under A and B."""

    first_line: int
    last_line: int
    observations: int
    a: str
    b: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "from_line": self.first_line,
            "to_line": self.last_line,
            "observations": self.observations,
            "a": self.a,
            "b": self.b,
        }


@dataclass(slots=True)
class Flip:
    """One subject of one agent whose verdicts differ: where, how often, and how."""

    agent_id: str | None
    kind: str  # invariant, scope, drift, decision
    name: str
    observations: int = 0
    runs: list[Run] = field(default_factory=list)
    truncated: bool = False
    # The last run is still open while the agent's next observation may extend it.
    _open: bool = False

    @property
    def first_line(self) -> int:
        return self.runs[0].first_line

    @property
    def label(self) -> str:
        """``invariant_id``, ``scope``, ``drift target`` or ``decision``."""
        return {"invariant": self.name, "drift": f"drift {self.name}"}.get(self.kind, self.kind)

    def add(self, line: int, a: str, b: str) -> None:
        self.observations += 1
        last = self.runs[-1] if self.runs else None
        if last is not None and self._open and (last.a, last.b) == (a, b):
            last.last_line = line
            last.observations += 1
            return
        self._open = True
        if len(self.runs) >= MAX_RUNS:
            self.truncated = True
            self._open = False
            return
        self.runs.append(Run(line, line, 1, a, b))

    def close(self) -> None:
        """The agent's observation agreed: the next difference starts a new run."""
        self._open = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id,
            "kind": self.kind,
            "subject": self.label,
            "observations": self.observations,
            "first_line": self.first_line,
            "runs": [run.to_dict() for run in self.runs],
            "truncated": self.truncated,
        }


@dataclass(frozen=True, slots=True)
class Change:
    """An invariant one side holds an agent to and the other does not."""

    agent_id: str | None
    invariant_id: str
    # On the side that has it: the first line it was violated, if ever.
    first_violated: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id,
            "invariant": self.invariant_id,
            "first_violated": self.first_violated,
        }


@dataclass(slots=True)
class VerdictDiff:
    """Everything ``nomo diff`` reports."""

    observations: int = 0
    added: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)
    flips: list[Flip] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        return bool(self.added or self.removed or self.flips)

    @property
    def first_line(self) -> int | None:
        return min((flip.first_line for flip in self.flips), default=None)


def _side(policy_set: PolicySet) -> dict[str | None, tuple[str, ...]]:
    return {policy.agent_id: policy.invariant_ids for policy in policy_set.policies}


def _collapse(state: str, violations_only: bool) -> str:
    if not violations_only or state in ("violated", REFUSED):
        return state
    return "not violated"


class _Comparer:
    def __init__(self, a: PolicySet, b: PolicySet, violations_only: bool) -> None:
        self.a, self.b = a, b
        self.violations_only = violations_only
        self.flips: dict[tuple[str | None, str, str], Flip] = {}
        self.first_violated: dict[tuple[str, str | None, str], int] = {}
        self.observations = 0

    def compare(self, left: Observed, right: Observed) -> None:
        self.observations += 1
        agent = left.agent_id if left.agent_id is not None else right.agent_id
        line = left.line
        a_states = self._verdicts(left, "a")
        b_states = self._verdicts(right, "b")
        for key in sorted(set(a_states) & set(b_states)):
            a, b = a_states[key], b_states[key]
            index = (agent, *key)
            if a == b:
                flip = self.flips.get(index)
                if flip is not None:
                    flip.close()
                continue
            flip = self.flips.get(index)
            if flip is None:
                flip = self.flips[index] = Flip(agent, key[0], key[1])
            flip.add(line, a, b)

    def _verdicts(self, observed: Observed, side: str) -> dict[tuple[str, str], str]:
        record = observed.record
        step = observed.step
        if step is None:
            return {("decision", ""): REFUSED}
        states: dict[tuple[str, str], str] = {("decision", ""): DECIDED}
        for result in step.results:
            state = result_state(result)
            if state == "violated":
                self.first_violated.setdefault(
                    (side, observed.agent_id, result.invariant_id), observed.line
                )
            states[("invariant", result.invariant_id)] = _collapse(state, self.violations_only)
        states[("scope", "")] = "violated" if record["scope"] else "in scope"
        exceeded = {entry["distribution"] for entry in record["drift_exceedances"]}
        # Every distribution: a score one side does not compute is not exceeded there.
        for name in DRIFT_DISTRIBUTIONS:
            states[("drift", name)] = "exceeded" if name in exceeded else "within"
        return states


def diff_replays(
    a: PolicySet, b: PolicySet, trace: Path, *, violations_only: bool = False
) -> VerdictDiff:
    """Replay ``trace`` through A and B and compare every verdict, line by line.

    TraceFileError when the trace cannot be read.
    """
    comparer = _Comparer(a, b, violations_only)
    for left, right in _pairs(a.runtime(), b.runtime(), trace):
        comparer.compare(left, right)
    result = VerdictDiff(observations=comparer.observations)
    a_side, b_side = _side(a), _side(b)
    for agent in sorted(set(a_side) | set(b_side), key=lambda item: (item is not None, item or "")):
        before, after = a_side.get(agent, ()), b_side.get(agent, ())
        for ident in after:
            if ident not in before:
                first = comparer.first_violated.get(("b", agent, ident))
                result.added.append(Change(agent, ident, first))
        for ident in before:
            if ident not in after:
                first = comparer.first_violated.get(("a", agent, ident))
                result.removed.append(Change(agent, ident, first))
    result.flips = sorted(
        comparer.flips.values(),
        key=lambda flip: (flip.first_line, str(flip.agent_id), flip.kind, flip.name),
    )
    return result


def _pairs(
    left: FleetRuntime, right: FleetRuntime, trace: Path
) -> Iterator[tuple[Observed, Observed]]:
    try:
        stream = open(trace, "rb")  # noqa: SIM115 - closed in finally
    except OSError as exc:
        raise TraceFileError(f"cannot read trace {trace}: {exc.strerror or exc}") from None
    try:
        for item in TraceReader(stream):
            yield (
                decide(left, item.number, item.data, item.problem),
                decide(right, item.number, item.data, item.problem),
            )
    finally:
        stream.close()
