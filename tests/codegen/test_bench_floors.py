"""The whole-replay floor (``floors.run_by_hand``) does the contract's work: its records are nomo run's.

A floor that skipped work would flatter every ratio printed beside it, so
the benchmark compares the floor's log with ``nomo run``'s before timing
anything (``targets._agree_with_log``); these tests hold that comparison to
account: it passes on the benchmark's own trace and stops a floor that
differs in one field.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from nomotic_dsl.bench import floors, targets
from nomotic_dsl.bench.workloads import SUPPORT_POLICY, trace_lines
from nomotic_dsl.compiler.pipeline import build_bundle
from nomotic_dsl.runtime.bundle.keys import verify_key_to_text
from nomotic_dsl.runtime.bundle.loader import load_bundle
from nomotic_dsl.runtime.fleet import FleetConfig, FleetRuntime
from nomotic_dsl.runtime.fleet.decision import encode_record


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(nomo run's log, the floor's log) of the benchmark's trace, 3,000 lines."""
    folder = tmp_path_factory.mktemp("floors")
    key = SigningKey(bytes(range(32)))
    bundle, trust = folder / "support.nomob", folder / "bench.pub"
    build_bundle(Path(str(SUPPORT_POLICY)), key, bundle)
    trust.write_text(verify_key_to_text(key.verify_key) + "\n", encoding="utf-8")
    data = trace_lines(3_000)
    runtime = FleetRuntime.from_bundles([load_bundle(bundle, [trust])], FleetConfig())
    ours = folder / "ours.jsonl"
    ours.write_bytes(b"".join(encode_record(runtime.process_line(line)) + b"\n" for line in data))
    by_hand = folder / "by_hand.jsonl"
    with by_hand.open("wb") as out:
        assert floors.run_by_hand(data, out, targets._support_constants(bundle, trust)) == 3_000
    return ours, by_hand


def test_the_floor_writes_nomo_runs_records(logs: tuple[Path, Path]) -> None:
    ours, by_hand = logs
    targets._agree_with_log(ours, by_hand)  # raises on the first difference
    records = [json.loads(line) for line in by_hand.read_bytes().splitlines()]
    # The trace exercises what the floor computes: drift before and after the window
    # fills, rules changing state, violations and drift above its thresholds.
    assert records[0]["drift"] == {} and records[-1]["drift"]["semantic"] > 0
    assert sum(len(record["changed"]) for record in records) > 20
    assert any(record["violated"] for record in records)
    assert any(record["drift_exceedances"] for record in records)


@pytest.mark.parametrize(
    ("field", "value"),
    [("violated", ["office_hours"]), ("drift", {}), ("counts", None), ("scope", {"action": "x"})],
)
def test_a_floor_that_differs_in_one_field_stops_the_benchmark(
    logs: tuple[Path, Path], tmp_path: Path, field: str, value: object
) -> None:
    ours, by_hand = logs
    lines = by_hand.read_bytes().splitlines()
    record = json.loads(lines[1_500])
    record[field] = value
    lines[1_500] = json.dumps(record).encode()
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(RuntimeError, match="line 1501"):
        targets._agree_with_log(ours, broken)
