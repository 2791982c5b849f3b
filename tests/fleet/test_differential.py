"""The fleet runtime (generated code, incremental drift) decides exactly as the reference does."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from nomotic_dsl.runtime.fleet.decision import receipt_of
from tests.fleet.helpers import (
    fleet_runtime,
    reference_decisions,
    run_runtime,
    trace_lines,
    without_error_text,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trace_lines())
def test_decisions_equal_the_reference_interpreter(lines: list[str]) -> None:
    runtime = fleet_runtime()
    decided = run_runtime(runtime, lines)
    expected = reference_decisions(lines, runtime.digest)
    assert without_error_text(decided) == without_error_text(expected)
    # Receipts chain per agent from the bundle digest, over the records as written.
    heads: dict[str | None, str] = {}
    for record in decided:
        previous = heads.get(record["agent_id"], runtime.digest)
        assert record["receipt"] == receipt_of(previous, record)
        heads[record["agent_id"]] = record["receipt"]
    for record in decided:
        if record["error"] is not None:
            assert record["counts"] is None and record["changed"] == []
