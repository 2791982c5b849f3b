"""The Flink engine against the local one: observations per second on a 10,000-agent trace.

One bundle without a contract (so one policy governs every agent, each with
its own monitor: six rules of the support example's kinds), one trace of
10,000 agents interleaved at random from a fixed seed (``fleet.lines``).
Measured, each on the same files, after checking that every engine wrote the
same bytes:

- ``nomo run --format jsonl`` (local engine), a real process, end to end;
- ``nomo run --engine flink`` (the same client code, in this process) with
  process workers at parallelism 1 and 2, and with thread workers (Python
  inside the JVM) at parallelism 1: end to end (staging, job start, the
  job, decisions merged back in trace order), and steady state (decisions
  per second the file sink committed between a fifth and nine tenths of
  the trace, which leaves start-up out);
- per observation, in one process without Flink: the local engine's
  decision, a Flink task's work (the decision plus storing the agent's state
  as JSON text), and numbering and keying a line (the job's single front
  task), to show what each costs apart from Flink.

From these, an estimate of the cluster for 1 million observations per
second (``estimate``; its assumptions are in the report). Skipped, with a
note, when pyflink is not installed. ``nomo bench --flink`` (or ``python -m
bench --flink``) runs it after the other benchmarks: it starts three Flink
jobs and takes minutes; ``python -m nomotic_dsl.bench.flink`` runs it alone.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import threading
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


def flink_run(
    stuff: Material, parallelism: int, workers: str, expected: bytes, work: Path
) -> dict[str, float]:
    """``nomo run --engine flink`` (its client code, here): end to end and steady state.

    Steady state: decisions per second committed by the job's file sink (at
    each checkpoint) between a fifth and nine tenths of the trace, sampled
    from the output folder while the job runs, which leaves start-up out.
    """
    from nomotic_dsl.flink.local import prepare
    from nomotic_dsl.runtime.bundle.loader import BundleChecks
    from nomotic_dsl.runtime.fleet import FleetConfig
    from nomotic_dsl.runtime.fleet.decision import encode_record

    started = time.perf_counter()
    with stuff.trace.open("rb") as stream:
        run = prepare(
            stuff.bundle, [stuff.pub], BundleChecks(), FleetConfig(), stream, work, parallelism
        )
    run.workers = workers
    staged = time.perf_counter()
    sampler = _Sampler(run.output)
    sampler.start()
    try:
        run.run()
    finally:
        sampler.stop.set()
        sampler.join()
    ran = time.perf_counter()
    written = [text for text, _record in run.decisions()]
    written.append(encode_record(run.end()).decode("utf-8"))
    total = time.perf_counter() - started
    if ("\n".join(written) + "\n").encode("utf-8") != expected:
        raise RuntimeError(f"the Flink engine ({workers}, parallelism {parallelism}) differs")
    count = len(written) - 1
    steady = sampler.rate(count // 5, count * 9 // 10)
    return {
        "seconds": total,
        "observations_per_second": count / total,
        # A job too short to commit part files along the way: its whole run, start-up included.
        "steady_observations_per_second": count / (ran - staged) if math.isnan(steady) else steady,
        "steady_sampled": not math.isnan(steady),
        "staging_seconds": staged - started,
        "job_seconds": ran - staged,
    }


class _Sampler(threading.Thread):
    """Counts the decisions in a file sink's finished part files, every half second."""

    def __init__(self, folder: Path) -> None:
        super().__init__(daemon=True)
        self.folder = folder
        self.stop = threading.Event()
        self.samples: list[tuple[float, int]] = []
        self._counted: dict[Path, int] = {}

    def run(self) -> None:
        while not self.stop.wait(0.5):
            self.samples.append((time.perf_counter(), self._count()))

    def _count(self) -> int:
        if self.folder.is_dir():
            for path in self.folder.glob("decisions-*"):
                if path not in self._counted:
                    with path.open("rb") as stream:
                        self._counted[path] = sum(1 for _ in stream)
        return sum(self._counted.values())

    def rate(self, low: int, high: int) -> float:
        """Decisions per second between the first samples at or past ``low`` and ``high``."""
        first = next(((t, n) for t, n in self.samples if n >= low), None)
        last = next(((t, n) for t, n in self.samples if n >= high), None)
        if first is None or last is None or last[0] <= first[0]:
            return float("nan")
        return (last[1] - first[1]) / (last[0] - first[0])


def apart(stuff: Material, sizes: FlinkSizes, work: Path) -> dict[str, float]:
    """Per observation without Flink: the local decision, and a task's decision + stored state."""
    from nomotic_dsl.flink.keeper import AgentKeeper, task_runtime
    from nomotic_dsl.flink.local import prepare
    from nomotic_dsl.flink.records import from_payload, from_staged, raw_record
    from nomotic_dsl.runtime.bundle.loader import BundleChecks, load_bundle
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
    routing = run.spec.routing
    started = time.perf_counter()
    for number, line in enumerate(lines, 1):
        numbered = raw_record(number, line, routing)
        if numbered is not None:
            from_payload(numbered.line, numbered.key, numbered.payload())
    front = (time.perf_counter() - started) / len(lines)
    return {
        "local_decision_s": local,
        "task_decision_and_state_s": task,
        "front_end_s": front,
        "state_bytes_per_agent": sum(sizes_of) / len(sizes_of),
    }


def estimate(
    process_one: float, process_two: float, thread_one: float, parts: dict[str, float]
) -> dict[str, Any]:
    """Cluster size for ``TARGET`` observations per second, from the measured rates.

    The assumptions are part of the result (``assumptions``).
    """
    efficiency = min(1.0, process_two / (2 * process_one))
    assumed = max(efficiency, 0.8)
    slots = math.ceil(TARGET / (process_one * assumed))
    jvms = math.ceil(TARGET / (thread_one * 0.9))
    front = 1 / parts["front_end_s"]
    return {
        "target_observations_per_second": TARGET,
        "process_task_observations_per_second": process_one,
        "measured_scaling_efficiency_2_tasks": efficiency,
        "assumed_scaling_efficiency": assumed,
        "process_task_slots": slots,
        "process_machines_of_16_cores": math.ceil(slots / 15),
        "thread_task_observations_per_second": thread_one,
        "thread_task_managers": jvms,
        "thread_machines_of_16_cores": math.ceil(jvms / 15),
        "front_end_observations_per_second_per_task": front,
        "input_partitions": math.ceil(TARGET / front),
        "state_gb_for_1m_agents": 1_000_000 * parts["state_bytes_per_agent"] / 1e9,
        "assumptions": [
            "a task's steady rate is the one measured here at parallelism 1 (a shared 2-core "
            "machine: a dedicated core does at least as well)",
            "process workers: one task slot per core; scaling is the measured 1-to-2-task "
            "figure but at least 0.8 (two tasks here share 2 busy cores with the client, the "
            "JVM and each other; Flink's keyed shuffle scales near linearly on dedicated cores)",
            "thread workers: one task manager (JVM, one slot) per core, 0.9 scaling",
            "machines of 16 cores, one left for the JVM, network and checkpoints",
            "input partitioned by agent: Kafka partitions keyed by agent_id, one source and "
            "numbering task per partition; this job numbers and keys every line in one task, "
            "whose Python work alone (front_end) caps it below 1 million per second",
            "state: the measured JSON text per agent, for 1 million agents, in RocksDB",
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
            f"{workers} {parallelism}": flink_run(
                stuff, parallelism, workers, expected, _fresh(work, f"{workers}-{parallelism}")
            )
            for workers, parallelism in (("process", 1), ("process", 2), ("thread", 1))
        }
        parts = apart(stuff, sizes, _fresh(work, "apart"))
    one, two, thread = (
        measured[key]["steady_observations_per_second"]
        for key in ("process 1", "process 2", "thread 1")
    )
    return {
        "agents": sizes.agents,
        "observations": sizes.observations,
        "local": {"seconds": local_s, "observations_per_second": sizes.observations / local_s},
        "flink": measured,
        "apart": parts,
        "estimate": estimate(one, two, thread, parts),
    }


def _fresh(work: Path, name: str) -> Path:
    folder = work / f"run-{name}"
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
    for name, figures in report["flink"].items():
        workers, parallelism = name.split()
        rows.append(
            (
                f"flink engine, {workers} workers, parallelism {parallelism}, end to end",
                f"{figures['observations_per_second']:,.0f} obs/s",
                f"{figures['seconds']:.1f} s; steady "
                f"{figures['steady_observations_per_second']:,.0f} obs/s",
            )
        )
    parts = report["apart"]
    for label, name in (
        ("local decision", "local_decision_s"),
        ("task decision + stored state", "task_decision_and_state_s"),
        ("numbering and keying a line", "front_end_s"),
    ):
        rows.append((label, f"{parts[name] * 1e6:.1f} us/obs", "one process, no Flink"))
    rows.append(("state per agent", f"{parts['state_bytes_per_agent']:,.0f} bytes", "JSON text"))
    guess = report["estimate"]
    rows.append(
        (
            "estimate for 1M obs/s, process workers",
            f"{guess['process_task_slots']:,} task slots",
            f"{guess['process_machines_of_16_cores']:,} machines of 16 cores",
        )
    )
    rows.append(
        (
            "estimate for 1M obs/s, thread workers",
            f"{guess['thread_task_managers']:,} task managers",
            f"{guess['thread_machines_of_16_cores']:,} machines of 16 cores",
        )
    )
    return rows


def main() -> None:
    """``python -m nomotic_dsl.bench.flink [--quick]``: this section alone, printed as JSON."""
    sizes = QUICK if "--quick" in sys.argv[1:] else FULL
    print(json.dumps(run_flink(sizes), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
