"""The measurements the performance targets are stated in, each beside its hand-written floor.

Each function times the product and its floor (``floors.py``) in the same
run, on the same input, after checking that they agree (the generated
results equal the reference interpreter's, and the floor's bools equal the
generated results' ``satisfied``), and returns a ``Target`` row: value,
floor, ratio and the bound it is held to. Targets stated for full-size
inputs are only judged in a full run (``judged`` False in ``--quick``).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO

from nacl.signing import SigningKey

from nomotic_dsl.bench import floors, peers
from nomotic_dsl.bench.workloads import (
    FOUR_CHECKS,
    SUPPORT_POLICY,
    action_dicts,
    eight_rules,
    four_check_state,
    make_trace,
    trace_lines,
)
from nomotic_dsl.compiler.codegen import generate_module, load_generated
from nomotic_dsl.compiler.pipeline import build_bundle, compile_source
from nomotic_dsl.runtime.bundle.keys import verify_key_to_text
from nomotic_dsl.runtime.interpreter import CompiledInvariants, InvariantResult, Observation

DRIFT = {"action": 0.1}


@dataclass(frozen=True, slots=True)
class Target:
    """One target row: what was measured, against what, and whether it held."""

    name: str
    value: float
    unit: str
    floor: float | None
    floor_name: str
    bound: str
    ratio: float | None
    met: bool | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-clean form."""
        return asdict(self)


def build(specs: Sequence[dict[str, Any]]) -> ModuleType:
    """Generate and load the evaluator module of ``specs``."""
    generated = generate_module(specs, module_name="bench", source_digest="0" * 64)
    return load_generated(generated.source, "<bench>/policy_evaluator.py")


def per_call(action: Callable[[], object], calls: int, repeats: int) -> float:
    """Median seconds per call over ``repeats`` batches of ``calls`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            action()
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times)


def _agree(ours: Sequence[InvariantResult], floor: Sequence[bool], what: str) -> None:
    got = tuple(result.satisfied for result in ours)
    if got != tuple(floor):
        raise RuntimeError(f"{what}: the floor's verdicts {floor} differ from {got}")


def _same(ours: Sequence[InvariantResult], reference: Sequence[InvariantResult], what: str) -> None:
    if len(ours) != len(reference) or not all(
        a.same_as(b) for a, b in zip(ours, reference, strict=True)
    ):
        raise RuntimeError(f"{what}: generated results differ from the interpreter's")


def _row(
    name: str, value: float, unit: str, floor: float, floor_name: str, most: float, judged: bool
) -> Target:
    ratio = value / floor
    return Target(
        name,
        value,
        unit,
        floor,
        floor_name,
        f"<= {most:g}x",
        ratio,
        ratio <= most if judged else None,
    )


def snapshot_four(repeats: int, calls: int, judged: bool) -> tuple[Target, dict[str, Any]]:
    """Four checks on one state dict, full results, against plain Python returning bools."""
    specs = list(FOUR_CHECKS)
    module, reference, state = build(specs), CompiledInvariants.compile(specs), four_check_state()
    _same(module.evaluate(state), reference.evaluate(state), "four checks")
    _agree(module.evaluate(state), floors.four_checks(state), "four checks")
    ours = per_call(lambda: module.evaluate(state), calls, repeats)
    floor = per_call(lambda: floors.four_checks(state), calls * 10, repeats)
    extra: dict[str, Any] = {
        "interpreter_s": per_call(lambda: reference.evaluate(state), calls, repeats),
        "read_detail_s": per_call(
            lambda: [result.detail for result in module.evaluate(state)], calls, repeats
        ),
    }
    for name, make in (("regopy", peers.rego_checks), ("cedarpy", peers.cedar_checks)):
        check = make()
        if isinstance(check, str):
            extra[name] = {"skipped": check}
            continue
        _agree(module.evaluate(state), check(state), name)
        extra[name] = {"s": _time_peer(check, state, max(1, calls // 20), repeats)}
    row = _row(
        "snapshot, 4 checks from a dict, full results",
        ours,
        "s",
        floor,
        "bools by hand",
        15,
        judged,
    )
    return row, extra


def _time_peer(check: peers.Check, state: dict[str, Any], calls: int, repeats: int) -> float:
    return per_call(lambda: check(state), calls, repeats)


def monitor_eight(window: int, steps: int, repeats: int, judged: bool) -> Target:
    """A monitor of eight rules, per observation, against a hand-written incremental monitor."""
    specs = eight_rules(window)
    module, reference = build(specs), CompiledInvariants.compile(specs)
    trace = make_trace(window + steps * (repeats + 1))
    monitor, floor = module.Monitor(), floors.IncrementalEight(window)
    monitor.set_drift(DRIFT)
    floor.drift = DRIFT
    for observation in trace[:window]:
        _agree(monitor.observe(observation), floor.observe(observation), "monitor")
    state = {"actions": [o.to_dict() for o in trace[:window]], "drift": DRIFT}
    _same(monitor.results(), reference.evaluate(state), "monitor")
    ours_feed, floor_feed = iter(trace[window:]), iter(trace[window:])
    ours = per_call(lambda: monitor.observe(next(ours_feed)), steps, repeats)
    hand = per_call(lambda: floor.observe(next(floor_feed)), steps, repeats)
    return _row(
        f"monitor, 8 rules, window {window:,}, per observation",
        ours,
        "s",
        hand,
        "incremental by hand",
        4,
        judged,
    )


def snapshot_many(count: int, repeats: int, judged: bool) -> Target:
    """A snapshot of ``count`` action dicts (eight rules over all of them) against one loop."""
    specs = eight_rules(count)
    module, reference = build(specs), CompiledInvariants.compile(specs)
    actions = action_dicts(count)
    state = {"actions": actions, "drift": DRIFT}
    _same(module.evaluate(state), reference.evaluate(state), "snapshot of many actions")
    _agree(
        module.evaluate(state), floors.one_pass_eight(actions, DRIFT), "snapshot of many actions"
    )
    ours = per_call(lambda: module.evaluate(state), 1, repeats)
    floor = per_call(lambda: floors.one_pass_eight(actions, DRIFT), 1, repeats)
    return _row(
        f"snapshot of {count:,} actions from dicts", ours, "s", floor, "one loop by hand", 5, judged
    )


def monitor_memory(agents: int, judged: bool) -> Target:
    """Bytes per agent monitor of the eight rules, windows full (100 actions), observations included."""
    module = build(eight_rules(100))
    raws = [action_dicts(150, seed=index) for index in range(agents)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        monitors = []
        for raw in raws:
            monitor = module.Monitor()
            for item in raw:
                monitor.observe(Observation.from_mapping(item))
            monitors.append(monitor)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    per_agent = (after - before) / agents
    return Target(
        "memory per agent monitor, 8 rules, full windows",
        per_agent,
        "bytes",
        None,
        "",
        "reported",
        None,
        None,
    )


def nomo_text(rules: int) -> str:
    """A policy of ``rules`` one-line rules, no two comparable (the checker compares rules of
    one metric and window pairwise), most of them on eight shared windows."""
    forms = (
        "ratio w{i}/r{i} < 0.3 over 100 actions",
        'semantic "t{i}" > 0.85 over 200 actions',
        "ratio s{i}/r{i} <= 2 over 1h",
        'semantic "u{i}" >= 0.5',
        "ratio d{i}/r{i} < 0.1 over 300 actions",
        'semantic "v{i}" > 0.7 over 10m',
        "count distinct_targets <= 5 over {n} actions",
        "distribution target_max < 0.6 over {n} actions",
    )
    lines = [
        f"invariant r{index}: " + forms[index % len(forms)].format(i=index, n=index + 1)
        for index in range(rules)
    ]
    return "\n".join(lines) + "\n"


def compile_many(rules: int, judged: bool) -> tuple[Target, dict[str, Any]]:
    """Seconds to compile (parse, check, lower) a policy of ``rules`` rules and generate its module."""
    text = nomo_text(rules)
    started = time.perf_counter()
    result = compile_source(text, "bench.nomo")
    compiled = time.perf_counter() - started
    if not result.ok:
        first = result.diagnostics[0]
        raise RuntimeError(f"the generated policy did not compile: {first.code} {first.message}")
    started = time.perf_counter()
    generate_module(result.invariants, module_name="bench", source_digest="0")
    generated = time.perf_counter() - started
    total = compiled + generated
    row = Target(
        f"compile + generate {rules:,} rules",
        total,
        "s",
        None,
        "",
        "< 2 s",
        None,
        total < 2 if judged else None,
    )
    return row, {"compile_s": compiled, "generate_s": generated, "rules": len(result.invariants)}


def nomo_run(lines: int, judged: bool) -> tuple[Target, dict[str, Any]]:
    """``nomo run --format jsonl`` over a JSON Lines trace, end to end, against parse-only."""
    key = SigningKey(bytes(range(32)))
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        bundle, trust, trace = (
            folder / "support.nomob",
            folder / "bench.pub",
            folder / "trace.jsonl",
        )
        build_bundle(Path(str(SUPPORT_POLICY)), key, bundle)
        trust.write_text(verify_key_to_text(key.verify_key) + "\n", encoding="utf-8")
        trace.write_bytes(b"".join(trace_lines(lines)))
        command = [sys.executable, "-m", "nomotic_dsl", "run", str(bundle), "--trust", str(trust)]
        command += ["--trace", str(trace), "--format", "jsonl"]
        with (folder / "decisions.jsonl").open("wb") as out:
            started = time.perf_counter()
            done = subprocess.run(command, stdout=out, stderr=subprocess.PIPE, check=False)
            wall = time.perf_counter() - started
        if done.returncode not in (0, 1):
            raise RuntimeError(f"nomo run failed: {done.stderr.decode(errors='replace')[-500:]}")
        decided = sum(1 for _ in (folder / "decisions.jsonl").open("rb")) - 1
        if decided != lines:
            raise RuntimeError(f"nomo run wrote {decided} decisions for {lines} lines")
        floor = _parse_only_seconds(trace)
        records_floor = _replay_seconds(trace, folder / "floor.jsonl", floors.replay_records)
        known = _support_constants(bundle, trust)
        by_hand = _replay_seconds(
            trace, folder / "by_hand.jsonl", partial(floors.run_by_hand, known=known)
        )
        _agree_with_log(folder / "decisions.jsonl", folder / "by_hand.jsonl")
    ratio = wall / floor
    row = Target(
        f"nomo run --format jsonl, {lines:,} lines, end to end",
        wall,
        "s",
        floor,
        "json.loads of each line",
        "<= 6x",
        ratio,
        ratio <= 6 if judged else None,
        note=f"{lines / wall:,.0f} observations/s",
    )
    return row, {
        "observations_per_second": lines / wall,
        "records_floor_s": records_floor,
        "vs_records_floor": wall / records_floor,
        "by_hand_s": by_hand,
        "vs_by_hand": wall / by_hand,
        "by_hand_vs_parse_floor": by_hand / floor,
        **runtime_parts(min(lines, 20_000)),
    }


def _parse_only_seconds(trace: Path, repeats: int = 5) -> float:
    """The floor: median seconds of ``json.loads`` over every line of the trace file.

    A median of several runs, as the other floors are: one run of a fraction of a
    second swings with whatever else the machine is doing at that moment.
    """
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        with trace.open("rb") as stream:
            floors.parse_only(stream)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def _replay_seconds(
    trace: Path, out: Path, replay: Callable[[BinaryIO, BinaryIO], object], repeats: int = 5
) -> float:
    """Median seconds of a replay written by hand: the trace read, a decision line written each.

    ``replay`` is ``floors.replay_records`` (evaluating nothing) or
    ``floors.run_by_hand`` with its constants (the whole contract).
    """
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        with trace.open("rb") as stream, out.open("wb") as sink:
            replay(stream, sink)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def _support_constants(bundle: Path, trust: Path) -> floors.SupportConstants:
    """What ``floors.run_by_hand`` knows in advance, read from the verified bundle's policy."""
    from nomotic_dsl.runtime.bundle.loader import load_bundle
    from nomotic_dsl.runtime.fleet import FleetConfig, FleetRuntime
    from nomotic_dsl.runtime.governance.drift import active_hours_distribution, normalise

    config = FleetConfig()
    (policy,) = FleetRuntime.from_bundles([load_bundle(bundle, [trust])], config).policies
    baseline = policy.baseline
    assert baseline is not None and baseline.active_hours is not None
    assert baseline.zone is None  # the floor counts hours of the day in UTC
    assert policy.scope.actions is not None and policy.scope.targets is not None
    (term,) = baseline.terms
    expected = {
        name: normalise(baseline.expected[name]) for name in ("action", "target", "outcome")
    }
    expected["temporal"] = normalise(active_hours_distribution(baseline.active_hours))
    return floors.SupportConstants(
        bundle=policy.bundle,
        contract=policy.identity or {},
        agent_id=policy.agent_id,
        expected=expected,
        weights=dict(config.drift_weights),
        window=config.drift_window,
        min_observations=config.min_drift_observations,
        term=term,
        actions=policy.scope.actions,
        targets=policy.scope.targets,
    )


def _agree_with_log(log: Path, by_hand: Path) -> None:
    """The floor's records equal ``nomo run``'s field for field, but details and receipts.

    So a floor that skipped work (or got a rule wrong) stops the run. The
    detail sentences are the runtime's alone (the floor writes the state), and
    the receipts cover the lines, so they differ with the details.
    """
    with log.open("rb") as ours, by_hand.open("rb") as floor:
        for number, (line, hand) in enumerate(zip(ours, floor, strict=False), start=1):
            record, other = json.loads(line), json.loads(hand)
            for entry in (*record["changed"], *other["changed"]):
                entry.pop("detail")
            record.pop("receipt")
            other.pop("receipt")
            if record != other:
                raise RuntimeError(
                    f"floors.run_by_hand disagrees with nomo run on line {number}: "
                    f"{record} != {other}"
                )


def runtime_parts(lines: int) -> dict[str, float]:
    """Seconds per observation of each part of a decision, measured apart on the same trace."""
    from nomotic_dsl.bench.fleet import fleet
    from nomotic_dsl.runtime.fleet import FleetConfig
    from nomotic_dsl.runtime.fleet.decision import encode_record
    from nomotic_dsl.runtime.fleet.drift import DriftWindow
    from nomotic_dsl.runtime.fleet.observation import parse_line

    config = FleetConfig()
    runtime = fleet(1, config)
    (policy,) = runtime.policies
    data = trace_lines(lines)
    started = time.perf_counter()
    record: dict[str, Any] = {}
    for line in data:
        record = runtime.process_line(line)
        encoded = runtime.last_encoded  # the line, made with the record (as nomo run writes it)
    total = (time.perf_counter() - started) / lines
    assert encoded == encode_record(record)
    started = time.perf_counter()
    items = [parse_line(line) for line in data]
    parse = (time.perf_counter() - started) / lines
    assert policy.baseline is not None
    window = DriftWindow(policy.baseline, config.drift_window)
    started = time.perf_counter()
    scores = []
    for item in items:
        window.push(item.observation)
        scores.append(window.scores(config.drift_weights, config.min_drift_observations))
    drift = (time.perf_counter() - started) / lines
    monitor = policy.monitor()
    started = time.perf_counter()
    for item, score in zip(items, scores, strict=True):
        monitor.set_drift(score or None)
        monitor.observe(item.observation)
    evaluate = (time.perf_counter() - started) / lines
    return {
        "decision_s": total,
        "parse_s": parse,
        "drift_s": drift,
        "monitor_s": evaluate,
        "record_and_receipt_s": max(0.0, total - parse - drift - evaluate),
    }


def quick_json(report: dict[str, Any]) -> str:
    """The report as JSON text."""
    return json.dumps(report, indent=2, sort_keys=True) + "\n"
