"""Write ``trace.jsonl``: three agents' observations interleaved, with four incidents.

Deterministic (a fixed seed): ``python examples/fleet/make_trace.py --check``
exits 1 when the committed trace no longer matches this recipe.

Normal work follows each agent's archetype; the incidents:
- support-bot: a reply storm (40 replies in two minutes) -> burst_rate and
  replies_follow_reads;
- etl-pipeline: deletes on ``prod_database`` -> out of scope, target drift;
- ops-coordinator: an hour of nothing but ``notify`` -> action drift;
- one line from an agent with no contract, one without agent_id.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
START = 1_712_577_600.0  # 2024-04-08 12:00 UTC (08:00 in New York)
WORK = {
    "support-bot": (
        {"read": 45, "reply": 30, "escalate": 10, "close": 15},
        {"tickets": 60, "knowledge_base": 30, "customer_profile": 10},
    ),
    "etl-pipeline": (
        {"read": 40, "transform": 30, "write": 25, "delete": 5},
        {"raw_data": 40, "staging": 35, "warehouse": 25},
    ),
    "ops-coordinator": (
        {"read": 35, "schedule": 20, "assign": 15, "notify": 20, "update": 10},
        {"tasks": 40, "calendar": 25, "team_roster": 15, "incidents": 20},
    ),
}


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    keys = sorted(weights)
    return rng.choices(keys, weights=[weights[key] for key in keys])[0]


def normal(rng: random.Random, agent: str, clock: float, session: str) -> dict[str, object]:
    actions, targets = WORK[agent]
    return {
        "agent_id": agent,
        "timestamp": round(clock, 3),
        "action_type": pick(rng, actions),
        "target": pick(rng, targets),
        "outcome": "allow",
        "session_id": session,
    }


def trace() -> list[dict[str, object]]:
    rng = random.Random(20240408)
    clock = START
    out: list[dict[str, object]] = []
    for index in range(600):
        clock += rng.expovariate(1 / 20.0)
        agent = sorted(WORK)[rng.randrange(3)]
        session = f"{agent[:3]}-{index // 40:03d}"
        out.append(normal(rng, agent, clock, session))
        if index == 200:  # the reply storm
            for step in range(40):
                out.append(
                    {
                        "agent_id": "support-bot",
                        "timestamp": round(clock + 3 * step, 3),
                        "action_type": "reply",
                        "target": "tickets",
                        "outcome": "allow",
                        "session_id": "sup-storm",
                    }
                )
            clock += 120
        if index == 320:  # deletes outside the pipeline's scope
            for step in range(40):
                out.append(
                    {
                        "agent_id": "etl-pipeline",
                        "timestamp": round(clock + step, 3),
                        "action_type": "delete",
                        "target": "prod_database",
                        "outcome": "allow",
                        "session_id": "etl-cleanup",
                    }
                )
            clock += 40
        if index == 420:  # notify, notify, notify
            for step in range(60):
                out.append(
                    {
                        "agent_id": "ops-coordinator",
                        "timestamp": round(clock + 60 * step, 3),
                        "action_type": "notify",
                        "target": "incidents",
                        "outcome": "allow",
                        "session_id": "ops-alarm",
                    }
                )
            clock += 3600
        if index == 500:
            out.append(
                {
                    "agent_id": "shadow-agent",
                    "timestamp": round(clock, 3),
                    "action_type": "read",
                    "target": "payroll",
                }
            )
            out.append({"timestamp": round(clock, 3), "action_type": "read", "target": "tickets"})
    return out


def text() -> str:
    return "".join(json.dumps(item, separators=(",", ":")) + "\n" for item in trace())


def main(argv: list[str]) -> int:
    path = HERE / "trace.jsonl"
    if "--check" in argv:
        return 0 if path.read_text(encoding="utf-8") == text() else 1
    path.write_text(text(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
