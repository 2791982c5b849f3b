"""Checking expectations against a recording: what was expected, what happened, and where.

Input: a test's expectations, its ``Recording``, the agent each subject is
about, and where each line came from. Output: ``Failure``s, each with the
expectation's text, what the runtime actually decided (with the detail
sentence of that decision) and the line it happened on. Stage: the last
step of running one test.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nomotic_dsl.ir.describe import format_number
from nomotic_dsl.policytest.model import (
    AtEnd,
    AtLine,
    AtTime,
    Comparison,
    ErrorAt,
    Expectation,
    FirstAt,
    LineRange,
    Never,
    NoErrors,
    NoViolations,
    Point,
    Reaches,
    StateAt,
    Subject,
    Times,
    ValueAt,
    Where,
)
from nomotic_dsl.policytest.record import AgentNow, Reading, Recording, SubjectKey


@dataclass(frozen=True, slots=True)
class Failure:
    """One expectation that did not hold (or a problem found while checking it)."""

    where: Where
    expected: str
    happened: str
    # The line it happened on, and where that line came from (a test step or a trace file).
    line: int | None = None
    source: str | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-clean form."""
        return {
            "file": self.where.file,
            "line": self.where.line,
            "expected": self.expected,
            "happened": self.happened,
            "at_line": self.line,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class Segment:
    """Lines ``first``..``last`` of a test's trace, and where they came from."""

    first: int
    last: int
    # A test step ("policy.nomotest:14") or a trace file ("trace.jsonl", offset).
    label: str
    trace_offset: int | None = None


class Sources:
    """Where each line of a test's trace came from."""

    def __init__(self) -> None:
        self.segments: list[Segment] = []

    def add(self, segment: Segment) -> None:
        if segment.last >= segment.first:
            self.segments.append(segment)

    def of(self, line: int) -> str | None:
        """``policy.nomotest:14`` for a generated line, ``trace.jsonl:431`` for a trace's."""
        for segment in self.segments:
            if segment.first <= line <= segment.last:
                if segment.trace_offset is None:
                    return segment.label
                return f"{segment.label}:{line - segment.trace_offset}"
        return None


# Resolves the agent an expectation's subject is about: (agent, None) or (None, problem).
AgentResolver = Callable[[Subject, Recording], tuple[str | None, str | None]]


def word(state: str) -> str:
    """How a message names a state."""
    return state.replace("_", " ")


def describe_value(value: float) -> str:
    """A measured value, or ``not measured``."""
    return "not measured" if math.isnan(value) else format_number(value)


def compare(value: float, comparison: Comparison) -> bool:
    """Whether ``value`` meets ``comparison`` (never for NaN); == allows rounding."""
    if math.isnan(value):
        return False
    bound = comparison.value
    match comparison.operator:
        case "<":
            return value < bound
        case "<=":
            return value <= bound
        case ">":
            return value > bound
        case ">=":
            return value >= bound
        case "==":
            return math.isclose(value, bound, rel_tol=1e-9, abs_tol=1e-12)
        case _:
            upper = comparison.upper if comparison.upper is not None else bound
            return bound <= value <= upper


class Checker:
    """Checks one test's expectations against its recording."""

    def __init__(
        self,
        recording: Recording,
        sources: Sources,
        resolve: AgentResolver,
        point_index: dict[int, int],
        test_where: Where,
    ) -> None:
        self.test_where = test_where
        self.recording = recording
        self.sources = sources
        self.resolve = resolve
        # Expectation position -> index of its point's snapshot.
        self.point_index = point_index

    def check_all(self, expectations: Sequence[Expectation]) -> list[Failure]:
        """Every failure, in the order the expectations were written; unexpected errors last."""
        failures = []
        for position, expectation in enumerate(expectations):
            failure = self.check(position, expectation)
            if failure is not None:
                failures.append(failure)
        failures.extend(self._unexpected_errors(expectations))
        return failures

    def check(self, position: int, expectation: Expectation) -> Failure | None:
        claim = expectation.claim
        if isinstance(claim, NoErrors | ErrorAt):
            return self._errors(expectation, claim)
        if isinstance(claim, NoViolations):
            if claim.lines is not None:
                return self._no_violations_in(position, expectation, claim, claim.lines)
            return self._no_violations(expectation, claim)
        agent, problem = self.resolve(claim.subject, self.recording)
        if problem is not None:
            return self.fail(expectation, problem)
        key = _key(claim.subject)
        if isinstance(claim, Never | Reaches | FirstAt) and claim.lines is not None:
            return self._in_range(position, expectation, claim, agent, claim.lines)
        match claim:
            case StateAt() | ValueAt():
                return self._at_point(position, expectation, claim, agent, key)
            case Never():
                first = self.recording.firsts.get((agent, key), {}).get(claim.state)
                if first is None:
                    return self._observed_or_fail(expectation, agent)
                return self.fail(
                    expectation,
                    f"it was first {word(claim.state)} at line {first.line}: {first.detail}",
                    first.line,
                )
            case Reaches():
                firsts = self.recording.firsts.get((agent, key), {})
                if claim.state in firsts:
                    return None
                return self.fail(
                    expectation, f"it never was {word(claim.state)}; {self._tally(agent, key)}"
                )
            case FirstAt():
                first = self.recording.firsts.get((agent, key), {}).get(claim.state)
                if first is not None and first.line == claim.line:
                    return None
                if first is None:
                    return self.fail(
                        expectation, f"it never was {word(claim.state)}; {self._tally(agent, key)}"
                    )
                return self.fail(
                    expectation,
                    f"it was first {word(claim.state)} at line {first.line}: {first.detail}",
                    first.line,
                )
            case Times():
                count = self.recording.counts.get((agent, key), {}).get(claim.state, 0)
                if count == claim.count:
                    return None
                first = self.recording.firsts.get((agent, key), {}).get(claim.state)
                where = "" if first is None else f" (first at line {first.line})"
                return self.fail(
                    expectation,
                    f"it was {word(claim.state)} on {count} observation{'s' if count != 1 else ''}{where}",
                    None if first is None else first.line,
                )
        raise AssertionError(f"unchecked claim {claim!r}")  # pragma: no cover

    def fail(self, expectation: Expectation, happened: str, line: int | None = None) -> Failure:
        source = None if line is None else self.sources.of(line)
        return Failure(expectation.where, expectation.text, happened, line, source)

    # --- kinds ----------------------------------------------------------------------------

    def _at_point(
        self,
        position: int,
        expectation: Expectation,
        claim: StateAt | ValueAt,
        agent: str | None,
        key: SubjectKey,
    ) -> Failure | None:
        snapshot, problem = self._snapshot(position, claim.point)
        if problem is not None or snapshot is None:
            return self.fail(expectation, problem or "the point was never reached")
        now = snapshot.get(agent)
        if now is None:
            return self.fail(
                expectation, f"{_agent_name(agent)} had no observation {_before(claim.point)}"
            )
        reading = now.readings.get(key)
        if reading is None:
            return self.fail(expectation, _no_reading(claim.subject, now), now.line)
        if isinstance(claim, StateAt):
            if reading.state == claim.state:
                return None
            return self.fail(
                expectation,
                f"it was {_state_word(claim.subject, reading)} at line {now.line}: {reading.detail}",
                now.line,
            )
        if compare(reading.value, claim.comparison):
            return None
        name = "score" if claim.subject.kind == "drift" else "value"
        return self.fail(
            expectation,
            f"its {name} was {describe_value(reading.value)} at line {now.line}: {reading.detail}",
            now.line,
        )

    def _snapshot(
        self, position: int, point: Point
    ) -> tuple[dict[str | None, AgentNow] | None, str | None]:
        if isinstance(point, AtEnd):
            if not self.recording.latest:
                return None, "nothing was decided: every line was refused"
            return self.recording.latest, None
        index = self.point_index[position]
        snapshot = self.recording.snapshots.get(index)
        if snapshot is None:
            if isinstance(point, AtLine):
                return None, (
                    f"the trace ends at line {self.recording.last_line}, before line {point.line}"
                )
            return None, "the trace ends before that time"
        return snapshot, None

    def _observed_or_fail(self, expectation: Expectation, agent: str | None) -> Failure | None:
        if agent in self.recording.latest:
            return None
        return self.fail(expectation, f"{_agent_name(agent)} had no observation at all")

    def _tally(self, agent: str | None, key: SubjectKey) -> str:
        counts = self.recording.counts.get((agent, key))
        if not counts:
            if agent not in self.recording.latest:
                return f"{_agent_name(agent)} had no observation at all"
            return "it had no reading at all"
        parts = [f"{word(state)} on {count}" for state, count in sorted(counts.items())]
        total = sum(counts.values())
        return "it was " + ", ".join(parts) + (" observation" if total == 1 else " observations")

    def _in_range(
        self,
        position: int,
        expectation: Expectation,
        claim: Never | Reaches | FirstAt,
        agent: str | None,
        lines: LineRange,
    ) -> Failure | None:
        if agent not in self.recording.range_seen.get(position, set()):
            return self.fail(expectation, f"{_agent_name(agent)} had no observation {lines.text()}")
        first = self.recording.range_firsts.get(position, {}).get(agent)
        state = word(claim.state)
        if isinstance(claim, Never):
            if first is None:
                return None
            return self.fail(
                expectation, f"it was {state} at line {first.line}: {first.detail}", first.line
            )
        if first is None:
            return self.fail(expectation, f"it never was {state} {lines.text()}")
        if isinstance(claim, Reaches) or first.line == claim.line:
            return None
        return self.fail(
            expectation,
            f"it was first {state} {lines.text()} at line {first.line}: {first.detail}",
            first.line,
        )

    def _no_violations(self, expectation: Expectation, claim: NoViolations) -> Failure | None:
        found = [
            (event.line, agent, key[1], event.detail)
            for (agent, key), firsts in self.recording.firsts.items()
            if key[0] == "invariant"
            and (claim.agent is None or agent == claim.agent)
            and (event := firsts.get("violated")) is not None
        ]
        if claim.agent is not None and claim.agent not in self.recording.latest:
            return self.fail(expectation, f"{_agent_name(claim.agent)} had no observation at all")
        if not found:
            return None
        line, agent, ident, detail = min(found, key=lambda item: (item[0], item[2]))
        who = "" if claim.agent is not None or agent is None else f" of {agent}"
        more = f" ({len(found) - 1} more invariants violated)" if len(found) > 1 else ""
        return self.fail(
            expectation, f"{ident}{who} was violated at line {line}: {detail}{more}", line
        )

    def _no_violations_in(
        self, position: int, expectation: Expectation, claim: NoViolations, lines: LineRange
    ) -> Failure | None:
        seen = self.recording.range_seen.get(position, set())
        if (claim.agent is None and not seen) or (
            claim.agent is not None and claim.agent not in seen
        ):
            who = "no agent" if claim.agent is None else _agent_name(claim.agent)
            return self.fail(expectation, f"{who} had an observation {lines.text()}")
        firsts = self.recording.range_firsts.get(position, {})
        found = [
            (event.line, agent, event)
            for agent, event in firsts.items()
            if claim.agent is None or agent == claim.agent
        ]
        if not found:
            return None
        line, agent, event = min(found, key=lambda item: (item[0], str(item[1])))
        who = "" if claim.agent is not None or agent is None else f" of {agent}"
        return self.fail(
            expectation, f"{event.name}{who} was violated at line {line}: {event.detail}", line
        )

    def _errors(self, expectation: Expectation, claim: NoErrors | ErrorAt) -> Failure | None:
        errors = self.recording.errors
        if isinstance(claim, NoErrors):
            if not self.recording.error_count:
                return None
            first = errors[0]
            more = self.recording.error_count - 1
            extra = f" ({more} more refused)" if more else ""
            return self.fail(
                expectation, f"line {first.line} was refused: {first.message}{extra}", first.line
            )
        found = next((error for error in errors if error.line == claim.line), None)
        if found is None:
            if claim.line > self.recording.last_line:
                return self.fail(
                    expectation,
                    f"the trace ends at line {self.recording.last_line}, before line {claim.line}",
                )
            return self.fail(expectation, f"line {claim.line} was decided, not refused", claim.line)
        if claim.containing is not None and claim.containing not in found.message:
            return self.fail(
                expectation, f"line {claim.line} was refused with: {found.message}", claim.line
            )
        return None

    def _unexpected_errors(self, expectations: Sequence[Expectation]) -> list[Failure]:
        if any(isinstance(e.claim, NoErrors) for e in expectations):
            return []  # `expect no errors` already reports them
        expected = {e.claim.line for e in expectations if isinstance(e.claim, ErrorAt)}
        surprises = [error for error in self.recording.errors if error.line not in expected]
        if not surprises:
            return []
        first = surprises[0]
        extra = f" ({len(surprises) - 1} more)" if len(surprises) > 1 else ""
        return [
            Failure(
                self.test_where,
                f"every line decided (no `expect error at line {first.line}`)",
                f"line {first.line} was refused: {first.message}{extra}",
                first.line,
                self.sources.of(first.line),
            )
        ]


def _key(subject: Subject) -> SubjectKey:
    return (subject.kind, subject.name)


def _agent_name(agent: str | None) -> str:
    return "the agent" if agent is None else f"agent {agent}"


def _before(point: Point) -> str:
    if isinstance(point, AtLine):
        return f"at or before line {point.line}"
    if isinstance(point, AtTime):
        return f"at or before {point.time}"
    return "at all"


def _state_word(subject: Subject, reading: Reading) -> str:
    if subject.kind == "scope" and reading.state != "violated":
        return "in scope"
    if subject.kind == "drift" and reading.state != "exceeded":
        return "within its threshold"
    return word(reading.state)


def _no_reading(subject: Subject, now: AgentNow) -> str:
    if subject.kind == "drift":
        return (
            f"there was no {subject.name} drift score at line {now.line} (drift is scored once "
            "an agent took enough actions, and only for what its contract expects)"
        )
    return f"there was no reading of {subject.label()} at line {now.line}"
