"""Fleet runtime throughput and memory: observations per second for 1, 100 and 10,000 agents.

Each agent has its own contract (the customer-support example's rules and
drift thresholds, one generated module shared by all, as agents of one
archetype would share a bundle's module) and the trace interleaves agents at
random. Every agent first takes a few observations (warm-up, not timed), then
a timed stream goes through ``FleetRuntime.process_line`` exactly as ``nomo
run`` feeds it: parsing, routing, drift, the monitor, the decision record and
its receipt. Memory per agent is measured with ``tracemalloc`` over a fleet
whose agents each hold a full drift window.
"""

from __future__ import annotations

import json
import random
import time
import tracemalloc
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nomotic_dsl.bench.workloads import SUPPORT_POLICY
from nomotic_dsl.compiler.evaluators import generated_evaluators
from nomotic_dsl.compiler.pipeline import compile_file
from nomotic_dsl.ir.contract import BehavioralContract
from nomotic_dsl.runtime.fleet import FleetConfig, FleetRuntime, make_policy

# The customer-support example's policy, shipped with the package (a test keeps the copy equal).
EXAMPLE = Path(str(SUPPORT_POLICY))
ACTIONS = ("read", "reply", "escalate", "close")
TARGETS = ("tickets", "knowledge_base", "customer_profile")


@dataclass(frozen=True, slots=True)
class FleetSizes:
    """Agents per measurement, observations timed per measurement, memory fleet size."""

    agents: tuple[int, ...]
    timed: dict[int, int]
    warm_up: int
    memory_agents: int


FULL = FleetSizes((1, 100, 10_000), {1: 5_000, 100: 10_000, 10_000: 30_000}, 3, 200)
QUICK = FleetSizes((1, 10, 100), {1: 300, 10: 300, 100: 500}, 2, 50)


def fleet(count: int, config: FleetConfig) -> FleetRuntime:
    (contract,) = compile_file(EXAMPLE).contracts
    provide = generated_evaluators()
    specs = contract.invariant_specs()
    module = provide(specs)
    policies = []
    for index in range(count):
        values = replace(contract, agent_id=f"agent-{index:05d}").to_dict()
        values["contract_id"] = ""
        own = BehavioralContract.from_dict(values)
        policies.append(make_policy(own, module, "0" * 64, config, specs))
    return FleetRuntime(policies, config, digest="0" * 64)


def lines(count: int, agents: int, start: float, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    clock = start
    out = []
    for _ in range(count):
        clock += rng.choice((0.5, 1.0, 2.0))
        item: dict[str, Any] = {
            "agent_id": f"agent-{rng.randrange(agents):05d}",
            "timestamp": clock,
            "action_type": rng.choice(ACTIONS),
            "target": rng.choice(TARGETS),
            "outcome": "allow",
            "session_id": f"s-{rng.randrange(50)}",
        }
        if rng.random() < 0.3:
            item["semantic"] = {"refund": rng.choice((0.8, 0.9, 1.0))}
        out.append(json.dumps(item).encode())
    return out


def throughput(agents: int, sizes: FleetSizes) -> float:
    """Observations per second through the runtime, once every agent took its warm-up."""
    runtime = fleet(agents, FleetConfig())
    start = 1_712_577_600.0
    warm = lines(agents * sizes.warm_up, agents, start, seed=1)
    for text in warm:
        runtime.process_line(text)
    timed = lines(sizes.timed[agents], agents, start + 10 * len(warm), seed=2)
    began = time.perf_counter()
    for text in timed:
        runtime.process_line(text)
    return len(timed) / (time.perf_counter() - began)


def memory_per_agent(sizes: FleetSizes) -> float:
    """Bytes held per agent whose drift window is full (100 actions), monitors included."""
    agents = sizes.memory_agents
    runtime = fleet(agents, FleetConfig())
    feed = lines(agents * 100, agents, 1_712_577_600.0, seed=3)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for text in feed:
            runtime.process_line(text)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return (after - before) / agents


def run_fleet(sizes: FleetSizes) -> dict[str, Any]:
    """Throughput per fleet size, memory per agent, and the ratio the floor is stated in."""
    rates = {str(agents): throughput(agents, sizes) for agents in sizes.agents}
    smallest, largest = str(sizes.agents[0]), str(sizes.agents[-1])
    return {
        "observations_per_second": rates,
        "memory_bytes_per_agent": memory_per_agent(sizes),
        "largest_vs_one_agent": rates[largest] / rates[smallest],
    }
