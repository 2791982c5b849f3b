"""What a report shows, gathered from one replay of a trace through a policy set.

Input: a ``PolicySet`` and a trace file. Output: a ``Collected``: per agent,
every invariant's value and state after each of its observations, drift
scores, scope violations, and the incidents (each violation's onset with its
explanation, the line it had been approaching since and the line it ended);
the lines the runtime refused. Stage: ``nomo report`` and ``nomo explain
--verdict``; values and states are the fleet runtime's (generated code).

Bounds: at most ``MAX_OBSERVATIONS`` observations (a larger trace is refused
with ReportLimit), and at most ``MAX_KEPT`` scope violations and refused
lines are listed (all are counted).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field, replace
from pathlib import Path

from nomotic_dsl.ir.spec import DRIFT_DISTRIBUTIONS, InvariantSpec
from nomotic_dsl.replay.run import Observed, replay_trace
from nomotic_dsl.replay.source import PolicySet
from nomotic_dsl.report.explain import Explanation, Seen, explain
from nomotic_dsl.runtime.fleet.policy import Policy
from nomotic_dsl.runtime.governance.records import result_state
from nomotic_dsl.runtime.interpreter.result import InvariantResult

MAX_OBSERVATIONS = 200_000
MAX_KEPT = 1000
STATE_CODES = {"satisfied": 0, "approaching": 1, "violated": 2, "not_measured": 3}


class ReportLimit(Exception):
    """A trace too large for a report."""


@dataclass(slots=True)
class Series:
    """One invariant of one agent over the agent's observations."""

    spec: InvariantSpec
    values: array[float] = field(default_factory=lambda: array("d"))
    states: bytearray = field(default_factory=bytearray)


@dataclass(frozen=True, slots=True)
class Incident:
    """A violation: its onset, what the runtime said, and why."""

    line: int
    timestamp: float
    agent_id: str | None
    invariant_id: str
    description: str
    detail: str
    value: float
    explanation: Explanation
    approaching_since: int | None
    # Filled in when the violation ended (the agent's first observation not violated).
    ended_at: int | None = None


@dataclass(slots=True)
class ScopeViolation:
    """Consecutive observations of an agent outside its scope, for the same reason."""

    line: int
    timestamp: float
    outside: tuple[tuple[str, str], ...]
    # The last observation of the run (its line, time, and index among the agent's).
    last_line: int = 0
    last_timestamp: float = 0.0
    last_index: int = 0
    observations: int = 1


@dataclass(slots=True)
class AgentReport:
    """Everything the report shows of one agent."""

    agent_id: str | None
    policy: Policy
    lines: array[int] = field(default_factory=lambda: array("q"))
    times: array[float] = field(default_factory=lambda: array("d"))
    series: dict[str, Series] = field(default_factory=dict)
    drift: dict[str, array[float]] = field(default_factory=dict)
    scope: list[ScopeViolation] = field(default_factory=list)
    scope_count: int = 0
    incidents: list[Incident] = field(default_factory=list)
    exceedances: int = 0
    history: list[Seen] = field(default_factory=list)
    # Per invariant: the line its current approaching streak began, and its open incident.
    approaching: dict[str, int] = field(default_factory=dict)
    open_incident: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Refused:
    """A line the runtime refused."""

    line: int
    agent_id: str | None
    message: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """An agent's results and history at one line (for ``nomo explain --verdict``)."""

    line: int
    agent_id: str | None
    timestamp: float
    policy: Policy
    results: tuple[InvariantResult, ...]
    history: tuple[Seen, ...]
    # Invariant id -> the line its current violation began.
    since: dict[str, int]


@dataclass(slots=True)
class Collected:
    """The replay, gathered for a report."""

    policy_set: PolicySet
    trace: str
    observations: int = 0
    agents: dict[str | None, AgentReport] = field(default_factory=dict)
    refused: list[Refused] = field(default_factory=list)
    refused_count: int = 0
    verdict: Verdict | None = None

    @property
    def incidents(self) -> list[Incident]:
        """Every incident, in trace order."""
        found = [incident for agent in self.agents.values() for incident in agent.incidents]
        return sorted(found, key=lambda item: (item.line, item.invariant_id))


class Collector:
    """Feeds a ``Collected`` one observation at a time."""

    def __init__(self, policy_set: PolicySet, trace: str, verdict_line: int | None = None) -> None:
        self.collected = Collected(policy_set, trace)
        self.verdict_line = verdict_line
        self._last_violation_start: dict[tuple[str | None, str], int] = {}

    def add(self, observed: Observed) -> None:
        collected = self.collected
        collected.observations += 1
        record = observed.record
        step = observed.step
        if step is None or observed.item is None:
            collected.refused_count += 1
            if len(collected.refused) < MAX_KEPT:
                collected.refused.append(
                    Refused(observed.line, observed.agent_id, str(record["error"]))
                )
            return
        agent_id = observed.agent_id
        agent = collected.agents.get(agent_id)
        if agent is None:
            policy = collected.policy_set.policy(agent_id)
            assert policy is not None  # the runtime decided, so a policy governs the agent
            agent = collected.agents[agent_id] = AgentReport(agent_id, policy)
            for spec in policy.specs:
                agent.series[spec.invariant_id] = Series(spec)
        if record["changed"] and all(change["from"] is None for change in record["changed"]):
            agent.history.clear()  # the agent's evaluation started afresh (idle release)
        observation = observed.item.observation
        timestamp = observation.timestamp
        agent.history.append(
            Seen(
                observed.line,
                timestamp,
                observation.action_type,
                observation.target,
                observation.outcome,
                dict(observation.semantic),
            )
        )
        index = len(agent.lines)
        agent.lines.append(observed.line)
        agent.times.append(timestamp)
        for name in DRIFT_DISTRIBUTIONS:
            scores = agent.drift.get(name)
            score = step.drift.get(name)
            if scores is None:
                if score is None:
                    continue
                scores = agent.drift[name] = array("d", [float("nan")] * index)
            scores.append(float("nan") if score is None else score)
        agent.exceedances += len(record["drift_exceedances"])
        if record["scope"]:
            agent.scope_count += 1
            outside = tuple(sorted(record["scope"].items()))
            last = agent.scope[-1] if agent.scope else None
            if last is not None and last.outside == outside and last.last_index == index - 1:
                last.last_line, last.last_timestamp = observed.line, timestamp
                last.last_index, last.observations = index, last.observations + 1
            elif len(agent.scope) < MAX_KEPT:
                agent.scope.append(
                    ScopeViolation(
                        observed.line, timestamp, outside, observed.line, timestamp, index
                    )
                )
        for result in step.results:
            self._result(agent, observed.line, timestamp, result)
        if observed.line == self.verdict_line:
            collected.verdict = Verdict(
                observed.line,
                agent_id,
                timestamp,
                agent.policy,
                tuple(step.results),
                tuple(agent.history),
                {
                    ident: line
                    for (who, ident), line in self._last_violation_start.items()
                    if who == agent_id
                },
            )

    def _result(
        self, agent: AgentReport, line: int, timestamp: float, result: InvariantResult
    ) -> None:
        ident = result.invariant_id
        series = agent.series[ident]
        state = result_state(result)
        previous = series.states[-1] if series.states else None
        series.values.append(result.current_value)
        series.states.append(STATE_CODES[state])
        key = (agent.agent_id, ident)
        if state == "approaching" and previous != STATE_CODES["approaching"]:
            agent.approaching[ident] = line
        if state == "violated" and previous != STATE_CODES["violated"]:
            self._last_violation_start[key] = line
            since = agent.approaching.get(ident) if previous == STATE_CODES["approaching"] else None
            policy = agent.policy
            expected = {} if policy.baseline is None else dict(policy.baseline.expected)
            explanation = explain(
                series.spec,
                result,
                agent.history,
                expected=expected,
                drift_window=self.collected.policy_set.config.drift_window,
            )
            agent.open_incident[ident] = len(agent.incidents)
            agent.incidents.append(
                Incident(
                    line=line,
                    timestamp=timestamp,
                    agent_id=agent.agent_id,
                    invariant_id=ident,
                    description=series.spec.description,
                    detail=result.detail,
                    value=result.current_value,
                    explanation=explanation,
                    approaching_since=since,
                )
            )
        elif state != "violated":
            self._last_violation_start.pop(key, None)
            position = agent.open_incident.pop(ident, None)
            if position is not None:
                agent.incidents[position] = replace(agent.incidents[position], ended_at=line)


def collect(
    policy_set: PolicySet,
    trace: Path,
    *,
    verdict_line: int | None = None,
    max_observations: int = MAX_OBSERVATIONS,
) -> Collected:
    """Replay ``trace`` and gather the report's data (TraceFileError, ReportLimit)."""
    collector = Collector(policy_set, str(trace), verdict_line)
    runtime = policy_set.runtime()
    for observed in replay_trace(runtime, trace, max_observations=max_observations + 1):
        if collector.collected.observations >= max_observations:
            raise ReportLimit(
                f"{trace} holds more than {max_observations:,} observations, more than a "
                "report shows readably; cut the trace (nomo run and nomo diff have no such limit)"
            )
        collector.add(observed)
        if verdict_line is not None and observed.line >= verdict_line:
            break
    return collector.collected
