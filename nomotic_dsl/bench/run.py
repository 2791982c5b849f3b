"""Benchmarks: streaming monitor cost by window size, generated vs interpreted evaluation,
monitor vs recomputation, compile time of a 1,000-invariant file, bundle load time,
and the language server's work per keystroke on the customer-support example.

Run ``python -m bench`` (or ``python bench/run.py``) from the repository root;
``--quick`` makes a fast smoke run. Prints a table of medians and ratios, all
measured in the same run, and writes them as JSON to ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
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
from nomotic_dsl.bench.fleet import FULL as FLEET_FULL
from nomotic_dsl.bench.fleet import QUICK as FLEET_QUICK
from nomotic_dsl.bench.fleet import run_fleet
from nomotic_dsl.compiler.codegen import generate_module, load_generated
from nomotic_dsl.compiler.pipeline import build_bundle, compile_source
from nomotic_dsl.runtime.bundle import load_bundle
from nomotic_dsl.runtime.interpreter import BehavioralState, CompiledInvariants, Observation

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
ACTIONS = ("read", "write", "search", "summarise", "send")
TARGETS = tuple(f"target-{index}" for index in range(200))


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much work each measurement does; ``--quick`` shrinks everything."""

    windows: tuple[int, ...]
    batch: int
    repeats: int
    eval_actions: int
    recompute_window: int
    compile_rules: int


FULL = Sizes((100, 10_000, 100_000), 2_000, 7, 2_000, 10_000, 1_000)
QUICK = Sizes((10, 100, 1_000), 200, 3, 200, 500, 50)


def example_specs(window: int) -> list[dict[str, Any]]:
    """About ten invariants of all seven types, the windowed ones over ``window`` actions."""
    over = {"window": window}
    rules: list[tuple[str, str, str, str, float, dict[str, Any]]] = [
        ("write-ratio", "ratio", "write_to_read", "lt", 0.5, over),
        ("target-share", "distribution", "target_max", "lt", 0.6, over),
        ("target-spread", "distribution", "target_count", "lte", 150.0, over),
        ("action-drift", "drift", "action", "lt", 0.3, {}),
        ("accuracy", "semantic", "accuracy", "gte", 0.4, over),
        ("office-hours", "temporal", "8-18@America/New_York", "lt", 0.9, over),
        ("pace", "rate", "action_frequency", "lt", 5.0, over),
        ("burst", "rate", "action_frequency", "lt", 5.0, {"window_seconds": 60.0}),
        ("action-variety", "count", "distinct_actions", "lte", 10.0, over),
        ("all-targets", "count", "distinct_targets", "lte", 300.0, {}),
    ]
    return [
        {
            "invariant_id": ident,
            "type": type_,
            "metric": metric,
            "operator": operator,
            "threshold": threshold,
            **window_fields,
        }
        for ident, type_, metric, operator, threshold, window_fields in rules
    ]


def make_trace(count: int, seed: int = 7) -> list[Observation]:
    """A reproducible trace: about one action a second, half with a semantic score."""
    rng = random.Random(seed)
    timestamp = 1_767_225_600.0
    trace = []
    for index in range(count):
        timestamp += rng.choice((0.0, 0.5, 1.0, 1.0, 2.0))
        semantic = {"accuracy": rng.random()} if index % 2 else {}
        trace.append(
            Observation(timestamp, rng.choice(ACTIONS), rng.choice(TARGETS), semantic=semantic)
        )
    return trace


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


EDITOR_EXAMPLE = Path(__file__).resolve().parents[1] / "examples/customer_support/policy.nomo"
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


def run(sizes: Sizes) -> dict[str, Any]:
    """Every measurement, and the ratios the targets are stated in."""
    fleet = run_fleet(FLEET_QUICK if sizes is QUICK else FLEET_FULL)
    per_window = {str(window): monitor_cost(window, sizes) for window in sizes.windows}
    generated, interpreted = evaluation_speed(sizes)
    recompute_generated, recompute_interpreted = recompute_cost(sizes)
    middle = str(sizes.recompute_window)
    monitor_at_middle = per_window.get(middle) or monitor_cost(sizes.recompute_window, sizes)
    smallest, largest = str(sizes.windows[0]), str(sizes.windows[-1])
    return {
        "monitor_s_per_observation": per_window,
        "evaluate_s": {"generated": generated, "interpreter": interpreted},
        "recompute_s": {
            "generated": recompute_generated,
            "interpreter": recompute_interpreted,
            "window": sizes.recompute_window,
        },
        "compile": compile_time(sizes),
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


def table(report: dict[str, Any]) -> str:
    """The report as a plain-text table."""
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
        verdict = f"{wanted}: {'met' if check(ratio) else 'MISSED'}" if wanted else ""
        rows.append((f"ratio {name.replace('_', ' ')}", f"{ratio:.2f}x", verdict))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmarks, print the table, write the JSON report."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run in seconds")
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help="where to write the JSON report"
    )
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
    print(table(report))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"\nwrote {args.output}", file=sys.stderr)
    if args.load:
        from bench.load import main as load_main

        print()
        load_main(["--quick"] if args.quick else [])


if __name__ == "__main__":
    main()
