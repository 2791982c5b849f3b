"""Benchmarks: the performance targets against hand-written floors, then the rest.

First the targets (``targets.py``): snapshot evaluation, the streaming
monitor, a large snapshot, ``nomo run`` end to end, compiling many rules,
bundle load and monitor memory, each beside its floor and the ratio, and the
peers (regopy, cedarpy) when installed. Then streaming monitor cost by window
size, generated vs interpreted evaluation, monitor vs recomputation, the
language server's work per keystroke and the fleet runtime.

``nomo bench`` (or ``python -m bench`` from a checkout); ``--quick`` makes a
fast smoke run, whose sizes are too small to judge the targets (it never
prints MISSED for them). Prints a table of medians and ratios, all measured in
the same run, and writes them as JSON.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from nacl.signing import SigningKey

from nomotic_dsl._version import __version__
from nomotic_dsl.bench.checker import checker_rows, checker_scale
from nomotic_dsl.bench.fleet import FULL as FLEET_FULL
from nomotic_dsl.bench.fleet import QUICK as FLEET_QUICK
from nomotic_dsl.bench.fleet import run_fleet
from nomotic_dsl.bench.flink import FULL as FLINK_FULL
from nomotic_dsl.bench.flink import QUICK as FLINK_QUICK
from nomotic_dsl.bench.flink import flink_rows, run_flink
from nomotic_dsl.bench.targets import (
    Target,
    compile_many,
    monitor_eight,
    monitor_memory,
    nomo_run,
    snapshot_four,
    snapshot_many,
)
from nomotic_dsl.bench.workloads import SUPPORT_POLICY, example_specs, make_trace
from nomotic_dsl.compiler.codegen import generate_module, load_generated
from nomotic_dsl.compiler.pipeline import build_bundle, compile_source
from nomotic_dsl.runtime.bundle import load_bundle
from nomotic_dsl.runtime.interpreter import BehavioralState, CompiledInvariants

DEFAULT_OUTPUT = Path("nomo-bench.json")


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much work each measurement does; ``--quick`` shrinks everything."""

    windows: tuple[int, ...]
    batch: int
    repeats: int
    eval_actions: int
    recompute_window: int
    compile_rules: int
    four_calls: int
    many_actions: int
    run_lines: int
    many_rules: int
    memory_agents: int
    one_metric_rules: int = 10_000
    policy_bytes: int = 1_000_000
    identical_lines: int = 1_000


FULL = Sizes(
    (100, 10_000, 100_000), 2_000, 7, 2_000, 10_000, 1_000, 2_000, 10_000, 100_000, 10_000, 200
)
QUICK = Sizes((10, 100, 1_000), 200, 3, 200, 500, 50, 200, 1_000, 2_000, 400, 20, 300, 20_000, 100)


def build(specs: Sequence[dict[str, Any]]) -> ModuleType:
    generated = generate_module(specs, module_name="bench", source_digest="0" * 64)
    return load_generated(generated.source, "<bench>/policy_evaluator.py")


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def monitor_cost(window: int, sizes: Sizes) -> float:
    """Median seconds per observation once the window is full (so every step also evicts)."""
    trace = make_trace(window + sizes.batch * sizes.repeats)
    monitor = build(example_specs(window)).Monitor()
    for observation in trace[:window]:
        monitor.observe(observation)
    batches = iter(range(window, len(trace), sizes.batch))

    def feed() -> None:
        start = next(batches)
        for observation in trace[start : start + sizes.batch]:
            monitor.observe(observation)

    return median_seconds(feed, sizes.repeats) / sizes.batch


def evaluation_speed(sizes: Sizes) -> tuple[float, float]:
    """Median seconds of one snapshot evaluation: (generated, interpreter)."""
    specs = example_specs(sizes.eval_actions // 2)
    state = BehavioralState(actions=tuple(make_trace(sizes.eval_actions)), drift={"action": 0.1})
    module, reference = build(specs), CompiledInvariants.compile(specs)
    assert all(
        a.same_as(b) for a, b in zip(module.evaluate(state), reference.evaluate(state), strict=True)
    )
    generated = median_seconds(lambda: module.evaluate(state), sizes.repeats)
    interpreted = median_seconds(lambda: reference.evaluate(state), sizes.repeats)
    return generated, interpreted


def recompute_cost(sizes: Sizes) -> tuple[float, float]:
    """(generated evaluate, interpreter) seconds to recompute one full window from scratch."""
    window = sizes.recompute_window
    specs = example_specs(window)
    state = BehavioralState(actions=tuple(make_trace(window)))
    module, reference = build(specs), CompiledInvariants.compile(specs)
    return (
        median_seconds(lambda: module.evaluate(state), sizes.repeats),
        median_seconds(lambda: reference.evaluate(state), max(1, sizes.repeats // 2)),
    )


NOMO_FORMS = (
    "ratio write/read < 0.3 over {n} actions",
    "distribution action_max <= 50% over {n} actions",
    'semantic "research" > 0.85 over {n} actions',
    "temporal 8-18 == 0 over {n} actions",
    "rate action_frequency <= 0.5 over {n} actions",
    "count distinct_targets <= 5 over {n} actions",
    "count distinct_actions >= 2 over {n} actions",
    "distribution target_max < 0.6 over {n} actions",
)


def nomo_text(rules: int) -> str:
    """A policy of ``rules`` one-line rules, each on its own window so none conflict."""
    lines = [NOMO_FORMS[index % len(NOMO_FORMS)].format(n=index + 1) for index in range(rules)]
    return "\n".join(lines) + "\n"


def compile_time(sizes: Sizes) -> dict[str, Any]:
    """Seconds to compile a generated policy of many rules, and to generate its module."""
    text = nomo_text(sizes.compile_rules)
    result = compile_source(text, "bench.nomo")
    if not result.ok:
        first = result.diagnostics[0]
        return {"skipped": f"generated policy did not compile: {first.code} {first.message}"}
    specs = [spec.to_dict() for spec in result.invariants]
    compile_s = median_seconds(lambda: compile_source(text, "bench.nomo"), 3)
    generate_s = median_seconds(
        lambda: generate_module(specs, module_name="bench", source_digest="0"), 3
    )
    return {
        "rules": len(specs),
        "compile_s": compile_s,
        "generate_s": generate_s,
        "total_s": compile_s + generate_s,
    }


def bundle_load_time(sizes: Sizes) -> dict[str, Any]:
    """Seconds to verify and import a sealed bundle of the example policy."""
    key = SigningKey(bytes(range(32)))
    with tempfile.TemporaryDirectory() as work:
        policy = Path(work) / "bench.nomo"
        policy.write_text(nomo_text(10), encoding="utf-8")
        bundle = Path(work) / "bench.nomobundle"
        build_bundle(policy, key, bundle)
        seconds = median_seconds(lambda: load_bundle(bundle, key.verify_key), sizes.repeats)
        return {"load_s": seconds, "bytes": bundle.stat().st_size}


EDITOR_EXAMPLE = Path(str(SUPPORT_POLICY))
# What a keystroke may cost the language server on a hand-written policy before typing lags.
EDITOR_FLOORS = {"analyse_s": 0.05, "complete_s": 0.02, "hover_s": 0.01}


def editor_latency(sizes: Sizes) -> dict[str, Any]:
    """Seconds for `nomo lsp` to compile the example after an edit, complete, and hover."""
    try:
        from nomotic_dsl.lsp.analysis import analyse
        from nomotic_dsl.lsp.completion import complete
        from nomotic_dsl.lsp.hover import hover
    except ImportError as error:
        return {"skipped": f"the lsp extra is not installed ({error.name})"}
    text = EDITOR_EXAMPLE.read_text(encoding="utf-8")
    middle = text.index("ratio reply/read")
    analysis = analyse(text, EDITOR_EXAMPLE)
    half = analyse(text[:middle], EDITOR_EXAMPLE)  # half-typed: does not parse
    repeats = max(sizes.repeats, 5)
    return {
        "chars": len(text),
        "analyse_s": median_seconds(lambda: analyse(text, EDITOR_EXAMPLE), repeats),
        "complete_s": median_seconds(lambda: complete(half, middle, analysis), repeats),
        "hover_s": median_seconds(lambda: hover(analysis, middle + 2), repeats),
    }


def targets(sizes: Sizes) -> dict[str, Any]:
    """The target rows (value, floor, ratio, bound) and what was measured beside them."""
    judged = sizes is not QUICK
    four, four_extra = snapshot_four(sizes.repeats, sizes.four_calls, judged)
    rows: list[Target] = [
        four,
        monitor_eight(100, sizes.batch, sizes.repeats, judged),
        snapshot_many(sizes.many_actions, max(3, sizes.repeats // 2), judged),
    ]
    run_row, run_parts = nomo_run(sizes.run_lines, judged)
    compile_row, compile_parts = compile_many(sizes.many_rules, judged)
    bundle = bundle_load_time(sizes)
    load_ms = bundle["load_s"] * 1e3
    rows += [
        run_row,
        compile_row,
        Target(
            "bundle load (verify + import), 10 rules",
            bundle["load_s"],
            "s",
            None,
            "",
            "< 10 ms",
            None,
            load_ms < 10 if judged else None,
        ),
        monitor_memory(sizes.memory_agents, judged),
    ]
    return {
        "rows": [row.to_dict() for row in rows],
        "snapshot_four": four_extra,
        "nomo_run": run_parts,
        "compile_many": compile_parts,
    }


def run(sizes: Sizes) -> dict[str, Any]:
    """Every measurement, and the ratios the targets are stated in."""
    target_report = targets(sizes)
    fleet = run_fleet(FLEET_QUICK if sizes is QUICK else FLEET_FULL)
    per_window = {str(window): monitor_cost(window, sizes) for window in sizes.windows}
    generated, interpreted = evaluation_speed(sizes)
    recompute_generated, recompute_interpreted = recompute_cost(sizes)
    middle = str(sizes.recompute_window)
    monitor_at_middle = per_window.get(middle) or monitor_cost(sizes.recompute_window, sizes)
    smallest, largest = str(sizes.windows[0]), str(sizes.windows[-1])
    return {
        "targets": target_report,
        "monitor_s_per_observation": per_window,
        "evaluate_s": {"generated": generated, "interpreter": interpreted},
        "recompute_s": {
            "generated": recompute_generated,
            "interpreter": recompute_interpreted,
            "window": sizes.recompute_window,
        },
        "compile": compile_time(sizes),
        "checker": checker_scale(sizes.one_metric_rules, sizes.policy_bytes, sizes.identical_lines),
        "bundle": bundle_load_time(sizes),
        "editor": editor_latency(sizes),
        "fleet": {
            "observations_per_second": fleet["observations_per_second"],
            "memory_bytes_per_agent": fleet["memory_bytes_per_agent"],
        },
        "ratios": {
            "fleet_largest_vs_one_agent": fleet["largest_vs_one_agent"],
            "monitor_largest_vs_smallest_window": per_window[largest] / per_window[smallest],
            "interpreter_vs_generated_evaluate": interpreted / generated,
            "recompute_vs_monitor": recompute_generated / monitor_at_middle,
            "interpreter_recompute_vs_monitor": recompute_interpreted / monitor_at_middle,
        },
    }


TARGETS_TEXT = {
    # Per-observation work must not grow with the fleet: the largest fleet keeps half the rate.
    "fleet_largest_vs_one_agent": (">= 0.5", lambda r: r >= 0.5),
    "monitor_largest_vs_smallest_window": ("<= 1.3", lambda r: r <= 1.3),
    "interpreter_vs_generated_evaluate": (">= 5", lambda r: r >= 5),
    "recompute_vs_monitor": (">= 50", lambda r: r >= 50),
}


def _amount(value: float, unit: str) -> str:
    if unit == "bytes":
        return f"{value:,.0f} bytes"
    if value >= 1:
        return f"{value:.3f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.2f} ms"
    return f"{value * 1e6:.2f} us"


def target_table(report: dict[str, Any]) -> str:
    """The target rows as a plain-text table: figure, floor, ratio, bound and verdict."""
    rows = [("target", "ours", "floor", "ratio", "bound")]
    for row in report["targets"]["rows"]:
        floor = (
            ""
            if row["floor"] is None
            else f"{_amount(row['floor'], row['unit'])} ({row['floor_name']})"
        )
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        if row["met"] is None:
            verdict = (
                row["bound"]
                if row["bound"] == "reported"
                else f"{row['bound']}: not judged (quick run)"
            )
        else:
            verdict = f"{row['bound']}: {'met' if row['met'] else 'MISSED'}"
        value = _amount(row["value"], row["unit"]) + (f", {row['note']}" if row["note"] else "")
        rows.append((row["name"], value, floor, ratio, verdict))
    four = report["targets"]["snapshot_four"]
    rows.append(
        ("  4 checks, reference interpreter", _amount(four["interpreter_s"], "s"), "", "", "")
    )
    rows.append(
        (
            "  4 checks, generated, every detail read",
            _amount(four["read_detail_s"], "s"),
            "",
            "",
            "",
        )
    )
    for peer in ("regopy", "cedarpy"):
        found = four[peer]
        rows.append(
            (f"  4 checks, {peer}", found.get("skipped") or _amount(found["s"], "s"), "", "", "")
        )
    parts = report["targets"]["nomo_run"]
    rows.append(
        (
            "  nomo run against a replay by hand (records, receipts, no evaluation)",
            "",
            _amount(parts["records_floor_s"], "s"),
            f"{parts['vs_records_floor']:.2f}x",
            "",
        )
    )
    rows.append(
        (
            "  nomo run against the whole replay by hand (drift, 8 rules, records, receipts)",
            "",
            f"{_amount(parts['by_hand_s'], 's')} ({parts['by_hand_vs_parse_floor']:.2f}x json.loads)",
            f"{parts['vs_by_hand']:.2f}x",
            "",
        )
    )
    for name in ("decision_s", "parse_s", "drift_s", "monitor_s", "record_and_receipt_s"):
        label = name.removesuffix("_s").replace("_", " ")
        rows.append(
            (f"  nomo run, per observation: {label}", _amount(parts[name], "s"), "", "", "")
        )
    compiled = report["targets"]["compile_many"]
    rows.append(
        ("  compile (parse, check, lower)", _amount(compiled["compile_s"], "s"), "", "", "")
    )
    rows.append(("  generate the module", _amount(compiled["generate_s"], "s"), "", "", ""))
    return _layout(rows)


def _layout(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def table(report: dict[str, Any]) -> str:
    """The report as plain-text tables: the targets, then the other measurements."""
    rows = [("measurement", "median", "target")]
    for window, seconds in report["monitor_s_per_observation"].items():
        rows.append((f"monitor, window {int(window):,}", f"{seconds * 1e6:.1f} us/obs", ""))
    for name, seconds in report["evaluate_s"].items():
        rows.append((f"snapshot evaluate, {name}", f"{seconds * 1e3:.2f} ms", ""))
    recompute = report["recompute_s"]
    for name in ("generated", "interpreter"):
        rows.append(
            (
                f"recompute window {recompute['window']:,}, {name}",
                f"{recompute[name] * 1e3:.2f} ms",
                "",
            )
        )
    compile_ = report["compile"]
    if "skipped" in compile_:
        rows.append(("compile", compile_["skipped"], ""))
    else:
        rows.append((f"compile {compile_['rules']:,} rules", f"{compile_['compile_s']:.3f} s", ""))
        rows.append(
            (f"generate {compile_['rules']:,} rules", f"{compile_['generate_s']:.3f} s", "")
        )
        ok = "met" if compile_["total_s"] < 2 else "MISSED"
        rows.append(("compile + generate", f"{compile_['total_s']:.3f} s", f"< 2 s: {ok}"))
    rows.extend(checker_rows(report["checker"], report["quick"]))
    bundle = report["bundle"]
    rows.append(
        (
            "bundle load (verify + import)",
            bundle.get("skipped") or f"{bundle['load_s'] * 1e3:.2f} ms",
            "",
        )
    )
    editor = report["editor"]
    if "skipped" in editor:
        rows.append(("language server", editor["skipped"], ""))
    else:
        for name, label in (
            ("analyse_s", "compile after an edit"),
            ("complete_s", "complete, half-typed"),
            ("hover_s", "hover on a rule"),
        ):
            floor = EDITOR_FLOORS[name]
            ok = "met" if editor[name] < floor else "MISSED"
            rows.append(
                (
                    f"lsp: {label} ({editor['chars']:,} chars)",
                    f"{editor[name] * 1e3:.2f} ms",
                    f"< {floor * 1e3:.0f} ms: {ok}",
                )
            )
    for agents, rate in report["fleet"]["observations_per_second"].items():
        rows.append((f"fleet runtime, {int(agents):,} agents", f"{rate:,.0f} obs/s", ""))
    rows.append(
        ("fleet memory per agent", f"{report['fleet']['memory_bytes_per_agent']:,.0f} bytes", "")
    )
    for name, ratio in report["ratios"].items():
        wanted, check = TARGETS_TEXT.get(name, ("", lambda r: True))
        if not wanted:
            verdict = ""
        elif report["quick"]:  # stated for full-size windows: a smoke run does not judge them
            verdict = f"{wanted}: not judged (quick run)"
        else:
            verdict = f"{wanted}: {'met' if check(ratio) else 'MISSED'}"
        rows.append((f"ratio {name.replace('_', ' ')}", f"{ratio:.2f}x", verdict))
    return target_table(report) + "\n\n" + _layout(rows)


def main(
    argv: Sequence[str] | None = None,
    *,
    prog: str = "nomo bench",
    default_output: Path = DEFAULT_OUTPUT,
    offer_load: bool = False,
) -> None:
    """Run the benchmarks, print the table, write the JSON report."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run in seconds")
    parser.add_argument(
        "--output", type=Path, default=default_output, help="where to write the JSON report"
    )
    parser.add_argument(
        "--flink",
        action="store_true",
        help="also the Flink engine against the local one (starts three Flink jobs; the flink extra)",
    )
    if offer_load:
        parser.add_argument(
            "--load",
            action="store_true",
            help="also run the HTTP load benchmark (python -m bench.load; a real server on 127.0.0.1)",
        )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    report = {
        "quick": args.quick,
        "version": __version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        **run(sizes),
    }
    if args.flink:
        report["flink"] = run_flink(FLINK_QUICK if args.quick else FLINK_FULL)
    print(table(report))
    if args.flink:
        print("\n" + _layout([("flink engine", "figure", "note"), *flink_rows(report["flink"])]))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"\nwrote {args.output}", file=sys.stderr)
    if getattr(args, "load", False):
        load = importlib.import_module("bench.load")  # the checkout's HTTP load benchmark
        print()
        load.main(["--quick"] if args.quick else [])


if __name__ == "__main__":
    main()
