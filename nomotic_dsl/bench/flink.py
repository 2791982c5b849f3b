"""The Flink engine against the local one: observations per second on a 10,000-agent trace.

One bundle without a contract (so one policy governs every agent, each with
its own monitor: six rules of the support example's kinds), one trace of
10,000 agents interleaved at random from a fixed seed (``fleet.lines``).
Measured, each on the same files, after checking that every engine wrote the
same bytes:

- ``nomo run --format jsonl`` (local engine), a real process, end to end;
- ``nomo run --engine flink`` at parallelism 1 and 2 (the same client code,
  in this process): end to end (staging, job start, decisions back in trace
  order), and steady state (decisions per second once the first fifth had
  come back, which leaves job start-up out);
- per observation, in one process without Flink: the local engine's
  decision, and a Flink task's work (the decision plus storing the agent's
  state as JSON text), to show what keyed state costs apart from Flink.

From these, an estimate of the cluster for 1 million observations per
second (``estimate``; its assumptions are in the report). Skipped, with a
note, when pyflink is not installed. ``nomo bench --flink`` (or ``python -m
bench --flink``) runs it after the other benchmarks: it starts two Flink jobs
and takes minutes.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

from nomotic_dsl.bench.fleet import lines as fleet_lines
from nomotic_dsl.compiler.pipeline import build_bundle
from nomotic_dsl.runtime.bundle.keys import verify_key_to_text

RULES = """\
# Support agents without contracts: every agent held to the same six rules.
invariant office_hours: no activity outside 8-20 in "America/New_York"
invariant replies_follow_reads: ratio reply/read < 1.0 over 100 actions
invariant few_targets: count distinct_targets <= 3 over 50 actions
invariant no_single_target: no single target above 80%
invariant burst: rate < 30 per minute over 10 minutes
invariant refunds_on_topic: semantic "refund" > 0.85 over 20 actions
"""
START = 1_712_577_600.0
TARGET = 1_000_000


@dataclass(frozen=True, slots=True)
class FlinkSizes:
    """Agents and observations of the trace; observations timed without Flink."""

    agents: int
    observations: int
    apart: int


FULL = FlinkSizes(10_000, 200_000, 20_000)
QUICK = FlinkSizes(100, 2_000, 500)


@dataclass(frozen=True, slots=True)
class Material:
    """The bundle, its key and the trace, in one folder."""

    bundle: Path
    pub: Path
    trace: Path


def material(folder: Path, sizes: FlinkSizes) -> Material:
    key = SigningKey(bytes(range(32)))
    policy = folder / "rules.nomo"
    policy.write_text(RULES, encoding="utf-8")
    bundle = folder / "rules.nomob"
    build_bundle(policy, key, bundle)
    pub = folder / "bench.pub"
    pub.write_text(verify_key_to_text(key.verify_key) + "\n", encoding="utf-8")
    trace = folder / "trace.jsonl"
    lines = fleet_lines(sizes.observations, sizes.agents, START, seed=15)
    trace.write_bytes(b"".join(line + b"\n" for line in lines))
    return Material(bundle, pub, trace)


def local_run(stuff: Material, out: Path) -> float:
    """Seconds of ``nomo run --format jsonl`` (a real process, end to end)."""
    command = [sys.executable, "-m", "nomotic_dsl", "run", str(stuff.bundle)]
    command += ["--trust", str(stuff.pub), "--trace", str(stuff.trace), "--format", "jsonl"]
    with out.open("wb") as stream:
        started = time.perf_counter()
        done = subprocess.run(command, stdout=stream, stderr=subprocess.PIPE, check=False)
        seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(f"nomo run failed: {done.stderr.decode(errors='replace')[-500:]}")
    return seconds


def flink_run(stuff: Material, parallelism: int, expected: bytes, work: Path) -> dict[str, float]:
    """``nomo run --engine flink`` (its client code, here): end to end and steady state."""
    from nomotic_dsl.flink.local import BundleChecks, prepare
    from nomotic_dsl.runtime.fleet import FleetConfig
    from nomotic_dsl.runtime.fleet.decision import encode_record

    started = time.perf_counter()
    with stuff.trace.open("rb") as stream:
        run = prepare(
            stuff.bundle, [stuff.pub], BundleChecks(), FleetConfig(), stream, work, parallelism
        )
    staged = time.perf_counter()
    arrivals: list[float] = []
    written: list[str] = []
    for text, _record in run.decisions():
        arrivals.append(time.perf_counter())
        written.append(text)
    written.append(encode_record(run.end()).decode("utf-8"))
    total = time.perf_counter() - started
    if ("\n".join(written) + "\n").encode("utf-8") != expected:
        raise RuntimeError(f"the Flink engine at parallelism {parallelism} wrote other decisions")
    fifth = len(arrivals) // 5
    steady = (len(arrivals) - fifth) / max(arrivals[-1] - arrivals[fifth], 1e-9)
    return {
        "seconds": total,
        "observations_per_second": len(arrivals) / total,
        "steady_observations_per_second": steady,
        "staging_seconds": staged - started,
        "first_decision_seconds": arrivals[0] - started,
    }


def apart(stuff: Material, sizes: FlinkSizes, work: Path) -> dict[str, float]:
    """Per observation without Flink: the local decision, and a task's decision + stored state."""
    from nomotic_dsl.flink.keeper import AgentKeeper, task_runtime
    from nomotic_dsl.flink.local import BundleChecks, prepare
    from nomotic_dsl.flink.records import from_staged
    from nomotic_dsl.runtime.bundle.loader import load_bundle
    from nomotic_dsl.runtime.fleet import FleetConfig, FleetRuntime

    lines = stuff.trace.read_bytes().splitlines()[: sizes.apart]
    runtime = FleetRuntime.from_bundles([load_bundle(stuff.bundle, [stuff.pub])], FleetConfig())
    started = time.perf_counter()
    for number, line in enumerate(lines, 1):
        runtime.process_line(line, number)
    local = (time.perf_counter() - started) / len(lines)
    with stuff.trace.open("rb") as stream:
        run = prepare(stuff.bundle, [stuff.pub], BundleChecks(), FleetConfig(), stream, work)
    records = [from_staged(text) for text in run.staged.path.read_text("utf-8").splitlines()]
    keeper = AgentKeeper(task_runtime(run.spec), run.spec.live_agents)
    state: dict[str, str] = {}
    started = time.perf_counter()
    for record in records[: sizes.apart]:
        state[record.key] = keeper.decide(record, state.get(record.key)).state
    task = (time.perf_counter() - started) / len(lines)
    for record in records[sizes.apart :]:
        state[record.key] = keeper.decide(record, state.get(record.key)).state
    sizes_of = [len(text.encode("utf-8")) for text in state.values()]
    return {
        "local_decision_s": local,
        "task_decision_and_state_s": task,
        "state_bytes_per_agent": sum(sizes_of) / len(sizes_of),
    }


def estimate(per_task: float, two_tasks: float, state_bytes: float) -> dict[str, Any]:
    """Cluster size for ``TARGET`` observations per second, from one and two tasks' rates."""
    efficiency = min(1.0, two_tasks / (2 * per_task))
    assumed = max(efficiency, 0.8)
    slots = math.ceil(TARGET / (per_task * assumed))
    agents = 1_000_000
    return {
        "target_observations_per_second": TARGET,
        "per_task_observations_per_second": per_task,
        "measured_scaling_efficiency_2_tasks": efficiency,
        "assumed_scaling_efficiency": assumed,
        "task_slots": slots,
        "task_managers_of_16_cores": math.ceil(slots / 15),
        "state_gb_for_1m_agents": agents * state_bytes / 1e9,
        "assumptions": [
            "one governor task per core; a task's steady rate is the measured parallelism-1 "
            "rate on this machine",
            "scaling efficiency: the measured 1-to-2-task figure, but at least 0.8 (two tasks "
            "here share 2 busy cores with the client and Flink's own threads; on dedicated "
            "cores Flink's keyed shuffle scales near linearly)",
            "16-core task managers, one core left for the JVM, network and checkpoints",
            "input partitioned by agent (Kafka partitions keyed by agent_id, one source task "
            "per partition): this job numbers lines in a single task, which at 1 million per "
            "second must instead be numbered per partition",
            "state: the measured JSON state per agent, for 1 million agents, in RocksDB",
        ],
    }


def run_flink(sizes: FlinkSizes) -> dict[str, Any]:
    """The Flink section of the benchmark report (``skipped`` without pyflink)."""
    from nomotic_dsl.flink import INSTALL_HINT, available

    if not available():
        return {"skipped": INSTALL_HINT}
    with tempfile.TemporaryDirectory(prefix="nomo-bench-flink-") as name:
        work = Path(name)
        stuff = material(work, sizes)
        local_out = work / "local.jsonl"
        local_s = local_run(stuff, local_out)
        expected = local_out.read_bytes()
        measured = {
            str(parallelism): flink_run(stuff, parallelism, expected, _fresh(work, parallelism))
            for parallelism in (1, 2)
        }
        parts = apart(stuff, sizes, _fresh(work, 0))
    one, two = (measured[key]["steady_observations_per_second"] for key in ("1", "2"))
    return {
        "agents": sizes.agents,
        "observations": sizes.observations,
        "local": {"seconds": local_s, "observations_per_second": sizes.observations / local_s},
        "flink": measured,
        "apart": parts,
        "estimate": estimate(one, two, parts["state_bytes_per_agent"]),
    }


def _fresh(work: Path, number: int) -> Path:
    folder = work / f"run-{number}"
    folder.mkdir()
    return folder


def flink_rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The section as table rows (measurement, figure, note)."""
    if "skipped" in report:
        return [("flink engine", "skipped", report["skipped"])]
    rows = [
        (
            f"local engine, {report['agents']:,} agents, end to end",
            f"{report['local']['observations_per_second']:,.0f} obs/s",
            f"{report['local']['seconds']:.1f} s",
        )
    ]
    for parallelism, figures in report["flink"].items():
        rows.append(
            (
                f"flink engine, parallelism {parallelism}, end to end",
                f"{figures['observations_per_second']:,.0f} obs/s",
                f"{figures['seconds']:.1f} s, first decision after "
                f"{figures['first_decision_seconds']:.1f} s",
            )
        )
        rows.append(
            (
                f"flink engine, parallelism {parallelism}, steady",
                f"{figures['steady_observations_per_second']:,.0f} obs/s",
                "",
            )
        )
    parts = report["apart"]
    rows.append(("local decision", f"{parts['local_decision_s'] * 1e6:.1f} us/obs", ""))
    rows.append(
        (
            "task decision + stored state",
            f"{parts['task_decision_and_state_s'] * 1e6:.1f} us/obs",
            "",
        )
    )
    rows.append(("state per agent", f"{parts['state_bytes_per_agent']:,.0f} bytes", ""))
    guess = report["estimate"]
    rows.append(
        (
            "estimate for 1M obs/s",
            f"{guess['task_slots']:,} task slots",
            f"{guess['task_managers_of_16_cores']:,} task managers of 16 cores",
        )
    )
    return rows


def main() -> None:
    """``python -m nomotic_dsl.bench.flink [--quick]``: this section alone, printed as JSON."""
    sizes = QUICK if "--quick" in sys.argv[1:] else FULL
    print(json.dumps(run_flink(sizes), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
