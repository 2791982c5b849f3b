"""The checker at scale (issues 10 and 16.1): one metric with many rules, a large policy,
a large scope, and ``POST /v1/check`` against ``nomo check`` of the same text.

Each figure is compared with a hand-written limit: the checker must stay
near-linear in the number of rules, and the HTTP endpoint must cost at most a
few times the command.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nomotic_dsl.compiler.diagnostics import render_all
from nomotic_dsl.compiler.pipeline import compile_source

ONE_METRIC_LIMIT_S = 10.0
LARGE_POLICY_LIMIT_S = 15.0
HTTP_CHECK_LIMIT_RATIO = 3.0

MIXED_FORMS = (
    "ratio w{n}/r < 0.3 over 100 actions",
    "count distinct_targets <= {k} over {w} actions",
    "no single target above 60% over {w} actions",
    "drift action < 0.{k}",
    "rate < {k} per minute over {k} minutes",
)


def mixed_policy(size: int) -> str:
    """About ``size`` characters of one-line rules of five forms (many share a metric)."""
    lines: list[str] = []
    total, index = 0, 0
    while total < size:
        line = MIXED_FORMS[index % len(MIXED_FORMS)].format(
            n=index, k=index % 9 + 1, w=index % 90 + 10
        )
        lines.append(line)
        total += len(line) + 1
        index += 1
    return "\n".join(lines) + "\n"


def check_seconds(text: str) -> tuple[float, int]:
    """What `nomo check` does to one text: compile it and render every diagnostic."""
    started = time.perf_counter()
    result = compile_source(text, "bench.nomo")
    render_all(result.diagnostics, result.sources)
    return time.perf_counter() - started, len(result.diagnostics)


def _median(action: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def checker_scale(rules: int, policy_bytes: int, identical_lines: int) -> dict[str, Any]:
    """Every checker-at-scale figure."""
    one_metric = "".join(f"rate < {n} per hour over 1h\n" for n in range(1, rules + 1))
    seconds, found = check_seconds(one_metric)
    report: dict[str, Any] = {
        "one_metric": {"rules": rules, "check_s": seconds, "diagnostics": found},
    }
    big = mixed_policy(policy_bytes)
    seconds, found = check_seconds(big)
    report["large_policy"] = {"bytes": len(big), "check_s": seconds, "diagnostics": found}
    names = ", ".join(f"a{index}" for index in range(rules * 10))
    outside = ", ".join(f"b{index}" for index in range(rules // 5))
    scoped = (
        f'contract "big" {{\n    scope {{ actions {names} }}\n'
        f'    anchor "t" {{ actions {outside} }}\n}}\n'
    )
    seconds, found = check_seconds(scoped)
    report["large_scope"] = {
        "names": rules * 10,
        "outside": rules // 5,
        "check_s": seconds,
        "diagnostics": found,
    }
    report["http_check"] = http_check_cost(identical_lines)
    return report


def http_check_cost(lines: int) -> dict[str, Any]:
    """POST /v1/check of identical lines against `nomo check` of the same text, in-process."""
    try:
        from fastapi.testclient import TestClient

        from nomotic_dsl.http import ApiSettings, create_app
    except ImportError as missing:  # the HTTP test client needs httpx (the `test` extra)
        return {"skipped": f"needs {missing.name}"}
    text = "ratio write/read < 0.3 over 100 actions\n" * lines
    with tempfile.TemporaryDirectory() as work:
        client = TestClient(create_app(ApiSettings(db_path=Path(work) / "bench.db")))
        body = {"source": text}
        response = client.post("/v1/check", json=body)
        http_s = _median(lambda: client.post("/v1/check", json=body), 5)
    cli_s = _median(lambda: check_seconds(text), 5)
    return {
        "lines": lines,
        "http_s": http_s,
        "check_s": cli_s,
        "response_bytes": len(response.content),
    }


def checker_rows(checker: dict[str, Any], quick: bool) -> list[tuple[str, str, str]]:
    """Table rows, each beside its limit (a quick run's sizes are not judged)."""

    def verdict(limit: str, ok: bool) -> str:
        return (
            f"{limit}: not judged (quick run)" if quick else f"{limit}: {'met' if ok else 'MISSED'}"
        )

    one, large, scope = checker["one_metric"], checker["large_policy"], checker["large_scope"]
    rows = [
        (
            f"check {one['rules']:,} rules on one metric",
            f"{one['check_s']:.2f} s ({one['diagnostics']} diagnostic)",
            verdict(f"< {ONE_METRIC_LIMIT_S:g} s", one["check_s"] < ONE_METRIC_LIMIT_S),
        ),
        (
            f"check a {large['bytes'] / 1e6:.1f} MB policy",
            f"{large['check_s']:.2f} s",
            verdict(f"< {LARGE_POLICY_LIMIT_S:g} s", large["check_s"] < LARGE_POLICY_LIMIT_S),
        ),
        (
            f"check a scope of {scope['names']:,} names, {scope['outside']:,} outside it",
            f"{scope['check_s']:.2f} s",
            verdict(f"< {LARGE_POLICY_LIMIT_S:g} s", scope["check_s"] < LARGE_POLICY_LIMIT_S),
        ),
    ]
    http = checker["http_check"]
    if "skipped" in http:
        rows.append(("/v1/check vs check", http["skipped"], ""))
        return rows
    ratio = http["http_s"] / http["check_s"]
    rows.append(
        (
            f"/v1/check of {http['lines']:,} identical lines",
            f"{http['http_s'] * 1e3:.1f} ms, {http['response_bytes']:,} bytes",
            "",
        )
    )
    rows.append(
        (
            "ratio /v1/check vs nomo check",
            f"{ratio:.2f}x",
            verdict(f"<= {HTTP_CHECK_LIMIT_RATIO:g}", ratio <= HTTP_CHECK_LIMIT_RATIO),
        )
    )
    return rows
