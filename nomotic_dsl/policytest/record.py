"""What a test's replay did, kept as the expectations need it.

Input: ``Observed`` items from the replay, in order, and the points
(lines, times) some expectations look at. Output: per agent, the latest
state of every invariant, scope and drift score; the first line each
subject reached each state and how many observations it spent there;
snapshots at the requested points; error decisions; what coverage needs
(observation counts and spans per agent). Stage: ``nomo test``, between the
replay and the checks. Memory: a few entries per agent and invariant, one
snapshot per point, error lines up to ``MAX_KEPT``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from nomotic_dsl.policytest.model import DRIFT_STATE, SCOPE_STATE, LineRange
from nomotic_dsl.replay.run import Observed
from nomotic_dsl.runtime.governance.records import result_state

MAX_KEPT = 1000
# (kind, name): ("invariant", id), ("scope", ""), ("drift", distribution).
SubjectKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Reading:
    """One subject after one observation: its state, value and detail sentence."""

    state: str
    value: float
    detail: str


@dataclass(frozen=True, slots=True)
class AgentNow:
    """An agent's state after its latest observation so far."""

    line: int
    timestamp: float
    readings: Mapping[SubjectKey, Reading]


@dataclass(frozen=True, slots=True)
class Event:
    """The first time a subject reached a state: the line and what was said then."""

    line: int
    detail: str
    # The invariant, for events of "any invariant" (``expect no violations``).
    name: str = ""


@dataclass(frozen=True, slots=True)
class RangeWatch:
    """A claim over a range of lines: the subject (None: any invariant) and state it looks for."""

    key: SubjectKey | None
    state: str
    lines: LineRange


@dataclass(slots=True)
class AgentSpan:
    """How much of an agent a test saw: observations, first and last time."""

    observations: int = 0
    first: float = math.inf
    last: float = -math.inf


@dataclass(frozen=True, slots=True)
class ErrorLine:
    """A line the runtime refused."""

    line: int
    agent_id: str | None
    message: str


@dataclass(slots=True)
class Recording:
    """Everything the checks of one test read."""

    lines: int = 0
    last_line: int = 0
    latest: dict[str | None, AgentNow] = field(default_factory=dict)
    firsts: dict[tuple[str | None, SubjectKey], dict[str, Event]] = field(default_factory=dict)
    counts: dict[tuple[str | None, SubjectKey], dict[str, int]] = field(default_factory=dict)
    errors: list[ErrorLine] = field(default_factory=list)
    error_count: int = 0
    spans: dict[str | None, AgentSpan] = field(default_factory=dict)
    # Point index -> the agents' states at that point (None: the point was never reached).
    snapshots: dict[int, dict[str | None, AgentNow] | None] = field(default_factory=dict)
    # Range index -> per agent, the first event in the range; and the agents seen in it.
    range_firsts: dict[int, dict[str | None, Event]] = field(default_factory=dict)
    range_seen: dict[int, set[str | None]] = field(default_factory=dict)

    def agents(self) -> list[str | None]:
        """The agents decided on (not only refused), in first-seen order."""
        return list(self.latest)


class Recorder:
    """Feeds a ``Recording`` one ``Observed`` at a time, resolving points as they pass."""

    def __init__(
        self,
        line_points: Mapping[int, int],
        time_points: Mapping[int, float],
        ranges: Mapping[int, RangeWatch] | None = None,
    ) -> None:
        self.recording = Recording()
        self._ranges = dict(ranges or {})
        for index in self._ranges:
            self.recording.range_firsts[index] = {}
            self.recording.range_seen[index] = set()
        # Pending points, latest first (popped from the end): (line or time, point index).
        self._lines = sorted(((line, i) for i, line in line_points.items()), reverse=True)
        self._times = sorted(((when, i) for i, when in time_points.items()), reverse=True)

    def add(self, observed: Observed) -> None:
        """Record one observation's decision."""
        self._pass_points(observed)
        recording = self.recording
        recording.lines += 1
        recording.last_line = observed.line
        record = observed.record
        agent = observed.agent_id
        if record["error"] is not None or observed.step is None:
            recording.error_count += 1
            if len(recording.errors) < MAX_KEPT:
                recording.errors.append(ErrorLine(observed.line, agent, str(record["error"])))
            return
        step = observed.step
        timestamp = float(record["timestamp"])
        readings: dict[SubjectKey, Reading] = {}
        for result in step.results:
            readings[("invariant", result.invariant_id)] = Reading(
                result_state(result), result.current_value, result.detail
            )
        scope = record["scope"]
        readings[("scope", "")] = Reading(
            SCOPE_STATE if scope else "in_scope",
            math.nan,
            "out of scope: " + ", ".join(f"{kind} {name!r}" for kind, name in scope.items())
            if scope
            else "in scope",
        )
        exceeded = {entry["distribution"]: entry for entry in record["drift_exceedances"]}
        for name, score in step.drift.items():
            entry = exceeded.get(name)
            readings[("drift", name)] = Reading(
                DRIFT_STATE if entry else "within",
                score,
                f"{name} drift {score:.4g} is above its threshold {entry['threshold']:g}"
                if entry
                else f"{name} drift {score:.4g}",
            )
        recording.latest[agent] = AgentNow(observed.line, timestamp, readings)
        for key, reading in readings.items():
            where = (agent, key)
            firsts = recording.firsts.setdefault(where, {})
            if reading.state not in firsts:
                firsts[reading.state] = Event(observed.line, reading.detail)
            counts = recording.counts.setdefault(where, {})
            counts[reading.state] = counts.get(reading.state, 0) + 1
        if self._ranges:
            self._watch(observed.line, agent, readings)
        span = recording.spans.setdefault(agent, AgentSpan())
        span.observations += 1
        span.first = min(span.first, timestamp)
        span.last = max(span.last, timestamp)

    def _watch(self, line: int, agent: str | None, readings: Mapping[SubjectKey, Reading]) -> None:
        recording = self.recording
        for index, watch in self._ranges.items():
            if not watch.lines.holds(line):
                continue
            recording.range_seen[index].add(agent)
            firsts = recording.range_firsts[index]
            if agent in firsts:
                continue
            if watch.key is None:
                for (kind, name), reading in sorted(readings.items()):
                    if kind == "invariant" and reading.state == watch.state:
                        firsts[agent] = Event(line, reading.detail, name)
                        break
                continue
            found = readings.get(watch.key)
            if found is not None and found.state == watch.state:
                firsts[agent] = Event(line, found.detail, watch.key[1])

    def finish(self) -> Recording:
        """Resolve the points not passed (the end, or lines and times beyond the last)."""
        recording = self.recording
        for line, index in self._lines:
            recording.snapshots[index] = (
                dict(recording.latest) if line <= recording.last_line else None
            )
        for _when, index in self._times:
            recording.snapshots[index] = dict(recording.latest)
        self._lines.clear()
        self._times.clear()
        return recording

    def _pass_points(self, observed: Observed) -> None:
        snapshots = self.recording.snapshots
        while self._lines and observed.line > self._lines[-1][0]:
            snapshots[self._lines.pop()[1]] = dict(self.recording.latest)
        stamp = observed.timestamp
        while self._times and stamp is not None and stamp > self._times[-1][0]:
            snapshots[self._times.pop()[1]] = dict(self.recording.latest)
