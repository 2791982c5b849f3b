"""The benchmark command keeps working: a ``--quick`` run writes a complete report (no timing asserts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nomotic_dsl.bench.run import main


@pytest.mark.slow
def test_quick_benchmark_writes_a_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "latest.json"
    main(["--quick", "--output", str(out)])
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["quick"] is True
    assert set(report["monitor_s_per_observation"]) == {"10", "100", "1000"}
    assert set(report["ratios"]) >= {
        "monitor_largest_vs_smallest_window",
        "interpreter_vs_generated_evaluate",
        "recompute_vs_monitor",
    }
    assert "skipped" not in report["compile"] and "skipped" not in report["bundle"]
    assert set(report["fleet"]["observations_per_second"]) == {"1", "10", "100"}
    assert report["fleet"]["memory_bytes_per_agent"] > 0
    assert "fleet_largest_vs_one_agent" in report["ratios"]
    assert "ratio recompute vs monitor" in capsys.readouterr().out
