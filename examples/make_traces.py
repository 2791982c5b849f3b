"""Generate the example traces: scenario recipes in, ``examples/<scenario>/trace.jsonl`` out.

Each trace is JSON Lines, one observation per line (``timestamp``,
``action_type``, ``target``, ``outcome``, ``session_id`` and, where the
scenario has an anchor term, ``semantic``). Normal work follows the scenario's
archetype; one realistic incident is spliced in so replaying the trace shows a
violation. A fixed seed per scenario makes every run byte-identical:

    python examples/make_traces.py            # rewrite every trace
    python examples/make_traces.py --check    # exit 1 if a committed trace is stale
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

EXAMPLES_DIR = Path(__file__).resolve().parent
Weights = Mapping[str, float]
Observation = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Workload:
    """How an agent normally behaves: what it does, to what, when and how fast."""

    actions: Weights
    targets: Mapping[str, Weights]  # per action: where that action goes
    outcomes: Weights
    zone: str
    open_hour: int
    close_hour: int
    mean_gap: float  # seconds between actions, on average
    term: str | None = None
    term_actions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Scenario:
    """A trace recipe: a workload, a start, a length and one incident."""

    name: str
    seed: int
    start: str  # local ISO date-time in the workload's zone
    length: int
    workload: Workload
    incident_at: int  # index of the normal observation the incident follows
    incident: Callable[[random.Random, float], list[Observation]] = field(repr=False)


def pick(rng: random.Random, weights: Weights) -> str:
    """One key of ``weights``, drawn in proportion to its weight (sorted keys: stable)."""
    keys = sorted(weights)
    return rng.choices(keys, weights=[weights[key] for key in keys])[0]


def working_times(rng: random.Random, workload: Workload, start: datetime) -> Iterator[float]:
    """Unix timestamps of actions, exponential gaps, only inside working hours."""
    zone = ZoneInfo(workload.zone)
    moment = start
    while True:
        moment += timedelta(seconds=rng.expovariate(1.0 / workload.mean_gap))
        local = moment.astimezone(zone)
        if not workload.open_hour <= local.hour < workload.close_hour:
            next_day = local.date() + timedelta(days=1 if local.hour >= workload.close_hour else 0)
            opening = datetime(
                next_day.year, next_day.month, next_day.day, workload.open_hour, tzinfo=zone
            )
            moment = opening + timedelta(seconds=rng.uniform(30, 900))
        yield round(moment.timestamp(), 3)


def observation(
    timestamp: float,
    action: str,
    target: str,
    outcome: str,
    session: str,
    semantic: Mapping[str, float] | None = None,
) -> Observation:
    """One trace line, keys in the documented order."""
    line: Observation = {
        "timestamp": timestamp,
        "action_type": action,
        "target": target,
        "outcome": outcome,
        "session_id": session,
    }
    if semantic:
        line["semantic"] = dict(semantic)
    return line


def normal_observations(
    rng: random.Random,
    scenario: Scenario,
    start: datetime,
    count: int,
    first_session: int,
) -> list[Observation]:
    """``count`` observations of ordinary work after ``start``, in sessions of 5 to 25 actions.

    Every session opens with a read.
    """
    workload = scenario.workload
    lines: list[Observation] = []
    session, remaining = first_session - 1, 0
    for timestamp in working_times(rng, workload, start):
        if len(lines) == count:
            break
        opening = remaining == 0
        if opening:
            session, remaining = session + 1, rng.randint(5, 25)
        remaining -= 1
        # An agent reads what it is about to work on before acting on it.
        action = "read" if opening else pick(rng, workload.actions)
        semantic = None
        if workload.term and action in workload.term_actions:
            semantic = {workload.term: round(rng.uniform(0.88, 0.99), 3)}
        lines.append(
            observation(
                timestamp,
                action,
                pick(rng, workload.targets[action]),
                pick(rng, workload.outcomes),
                f"{scenario.name[:3]}-{session:04d}",
                semantic,
            )
        )
    return lines


def build_trace(scenario: Scenario) -> list[Observation]:
    """Normal work, the incident after ``incident_at`` lines, then normal work resumes."""
    rng = random.Random(scenario.seed)
    zone = ZoneInfo(scenario.workload.zone)
    start = datetime.fromisoformat(scenario.start).replace(tzinfo=zone)
    head = normal_observations(rng, scenario, start, scenario.incident_at, 1)
    incident = scenario.incident(rng, head[-1]["timestamp"])
    resume = datetime.fromtimestamp(incident[-1]["timestamp"], zone)
    # Session numbers continue after the head's, so ids never repeat across the incident.
    next_session = int(head[-1]["session_id"].rsplit("-", 1)[1]) + 1
    tail_count = scenario.length - scenario.incident_at
    return head + incident + normal_observations(rng, scenario, resume, tail_count, next_session)


def burst(
    rng: random.Random,
    after: float,
    count: int,
    gap: float,
    make: Callable[[int, float], Observation],
) -> list[Observation]:
    """``count`` observations ``gap`` seconds apart (with jitter), starting after ``after``."""
    lines: list[Observation] = []
    moment = after
    for index in range(count):
        moment += gap * rng.uniform(0.7, 1.3)
        lines.append(make(index, round(moment, 3)))
    return lines


# --- customer_support: a reply loop ------------------------------------------------

SUPPORT = Workload(
    actions={"read": 50, "reply": 27, "escalate": 8, "close": 15},
    targets={
        "read": {"tickets": 55, "knowledge_base": 35, "customer_profile": 10},
        "reply": {"tickets": 100},
        "escalate": {"tickets": 100},
        "close": {"tickets": 100},
    },
    outcomes={"allow": 90, "deny": 4, "modify": 3, "escalate": 3},
    zone="America/New_York",
    open_hour=8,
    close_hour=20,
    mean_gap=70.0,
    term="refund",
    term_actions=("reply", "escalate"),
)


def reply_loop(rng: random.Random, after: float) -> list[Observation]:
    """The bot answers its own auto-reply: 60 refund templates to one ticket in three minutes."""
    return burst(
        rng,
        after,
        60,
        3.0,
        lambda index, moment: observation(
            moment,
            "reply",
            "tickets",
            "allow",
            "cus-loop",
            {"refund": round(rng.uniform(0.35, 0.5), 3)},
        ),
    )


# --- financial_analysis: writes to the ledger pile up --------------------------------

FINANCE = Workload(
    actions={"read": 60, "query": 20, "calculate": 12, "report": 6, "write": 2},
    targets={
        "read": {"ledger": 40, "market_data": 40, "portfolio": 20},
        "query": {"market_data": 60, "ledger": 40},
        "calculate": {"portfolio": 70, "market_data": 30},
        "report": {"reports": 100},
        "write": {"ledger": 80, "reports": 20},
    },
    outcomes={"allow": 92, "deny": 3, "modify": 2, "escalate": 3},
    zone="America/New_York",
    open_hour=7,
    close_hour=19,
    mean_gap=120.0,
)


def ledger_rewrite(rng: random.Random, after: float) -> list[Observation]:
    """A reconciliation task goes wrong: the agent rewrites ledger entries, one read per three writes."""

    def make(index: int, moment: float) -> Observation:
        action = "read" if index % 4 == 0 else "write"
        outcome = "modify" if action == "write" and index % 5 == 0 else "allow"
        return observation(moment, action, "ledger", outcome, "fin-recon")

    return burst(rng, after, 48, 40.0, make)


# --- data_pipeline: a retention job mass-deletes the warehouse ------------------------

PIPELINE = Workload(
    actions={"read": 41, "transform": 30, "write": 25, "delete": 4},
    targets={
        "read": {"raw_data": 70, "staging": 30},
        "transform": {"staging": 100},
        "write": {"staging": 40, "warehouse": 60},
        "delete": {"staging": 80, "raw_data": 20},
    },
    outcomes={"allow": 95, "deny": 2, "modify": 2, "escalate": 1},
    zone="UTC",
    open_hour=0,
    close_hour=24,
    mean_gap=2.5,
)


def mass_delete(rng: random.Random, after: float) -> list[Observation]:
    """A retention rule with the wrong date drops 120 warehouse partitions in two minutes."""
    return burst(
        rng,
        after,
        120,
        1.0,
        lambda index, moment: observation(
            moment,
            "delete",
            "warehouse",
            "allow",
            "dat-retention",
        ),
    )


# --- research_assistant: the agent drifts off its brief -------------------------------

RESEARCH = Workload(
    actions={"search": 35, "read": 40, "summarize": 15, "cite": 10},
    targets={
        "search": {"papers": 50, "web": 40, "datasets": 10},
        "read": {"papers": 50, "web": 25, "datasets": 25},
        "summarize": {"notes": 100},
        "cite": {"notes": 60, "papers": 40},
    },
    outcomes={"allow": 93, "deny": 2, "modify": 3, "escalate": 2},
    zone="Europe/London",
    open_hour=7,
    close_hour=21,
    mean_gap=90.0,
    term="research",
    term_actions=("search", "read", "summarize", "cite"),
)


def off_brief(rng: random.Random, after: float) -> list[Observation]:
    """A web page's injected instructions send the agent shopping: 30 searches far from the brief."""
    return burst(
        rng,
        after,
        30,
        45.0,
        lambda index, moment: observation(
            moment,
            "search" if index % 3 else "read",
            "web",
            "allow",
            "res-drift",
            {"research": round(rng.uniform(0.45, 0.65), 3)},
        ),
    )


# --- healthcare_scheduling: patient records opened at night ---------------------------

CLINIC = Workload(
    actions={"read": 50, "schedule": 20, "update": 10, "notify": 15, "escalate": 5},
    targets={
        "read": {"appointments": 45, "patient_record": 30, "provider_calendar": 25},
        "schedule": {"appointments": 60, "provider_calendar": 40},
        "update": {"appointments": 70, "patient_record": 30},
        "notify": {"messages": 100},
        "escalate": {"messages": 100},
    },
    outcomes={"allow": 88, "deny": 5, "modify": 2, "escalate": 5},
    zone="America/Chicago",
    open_hour=7,
    close_hour=19,
    mean_gap=150.0,
    term="scheduling",
    term_actions=("read", "schedule", "notify"),
)


def night_records(rng: random.Random, after: float) -> list[Observation]:
    """At 02:47 Chicago time, 12 patient records are read and one is changed, off any task."""
    zone = ZoneInfo("America/Chicago")
    local = datetime.fromtimestamp(after, zone)
    night = datetime(local.year, local.month, local.day, 2, 47, tzinfo=zone) + timedelta(days=1)
    return burst(
        rng,
        night.timestamp(),
        13,
        20.0,
        lambda index, moment: observation(
            moment,
            "update" if index == 12 else "read",
            "patient_record",
            "allow",
            "hea-night",
            {"scheduling": round(rng.uniform(0.2, 0.4), 3)},
        ),
    )


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("customer_support", 101, "2024-04-08T08:05", 700, SUPPORT, 430, reply_loop),
    Scenario("financial_analysis", 202, "2024-04-08T07:10", 600, FINANCE, 250, ledger_rewrite),
    Scenario("data_pipeline", 303, "2024-04-09T01:00", 1500, PIPELINE, 900, mass_delete),
    Scenario("research_assistant", 404, "2024-04-10T07:30", 650, RESEARCH, 380, off_brief),
    Scenario("healthcare_scheduling", 505, "2024-04-08T07:00", 500, CLINIC, 200, night_records),
)


def render(lines: list[Observation]) -> str:
    """JSON Lines text: compact separators, one observation per line."""
    return "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)


def main(argv: list[str]) -> int:
    """Write every trace, or with ``--check`` report the stale ones and exit 1."""
    check = "--check" in argv
    stale = []
    for scenario in SCENARIOS:
        path = EXAMPLES_DIR / scenario.name / "trace.jsonl"
        text = render(build_trace(scenario))
        if check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(scenario.name)
        else:
            path.write_text(text, encoding="utf-8")
    for name in stale:
        print(f"stale trace: {name}/trace.jsonl (run python examples/make_traces.py)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
