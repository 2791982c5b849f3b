"""Real Flink jobs on a local mini-cluster: the local engine's decisions, restores, refusals.

Five jobs in all (each takes seconds to start, so the suite keeps them few,
each checking several things):

1. ``nomo run --engine flink --parallelism 2`` on the awkward trace: the
   local engine's log byte for byte, and its exit code;
2. ``python -m nomotic_dsl.flink run --workers thread`` at parallelism 1 on
   the raw fleet trace (Flink's text reader, the sequencer, the file sink,
   Python inside the JVM), collated: the local log byte for byte;
3. and 4. a job stopped with a savepoint halfway through the trace, and a
   job restored from that savepoint at parallelism 2 (rescaled) reading the
   rest: the two outputs together are the uninterrupted run's;
5. a job given a bundle that fails verification, past the client's check:
   it fails in the governor's ``open()``, and the bundle's code never runs.
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyflink", reason="the flink extra is not installed (pip install '.[flink]')")

from nomotic_dsl.compiler.seal import assemble_bundle
from nomotic_dsl.flink.client import JobFailed, run_job
from nomotic_dsl.flink.collate import collate, part_files
from nomotic_dsl.flink.job import (
    Placement,
    attach_sink,
    decided_stream,
    environment,
    stop_with_savepoint,
)
from nomotic_dsl.flink.spec import (
    FileInput,
    FileOutput,
    JobSpec,
    job_spec,
    verify_for_job,
)
from nomotic_dsl.flink.staging import stage_trace
from nomotic_dsl.runtime.fleet import FleetConfig
from nomotic_dsl.runtime.fleet.routing import Routing
from tests.bundle.conftest import make_contents
from tests.flink.helpers import (
    FLEET_TRACE,
    FLINK,
    NOMO,
    Fleet,
    awkward_trace,
    local_log,
    make_fleet,
    run,
    run_log,
)

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    return make_fleet(tmp_path_factory.mktemp("fleet"))


def test_nomo_run_engine_flink_writes_the_local_log_at_parallelism_2(
    fleet: Fleet, tmp_path: Path
) -> None:
    trace = tmp_path / "awkward.jsonl"
    trace.write_bytes(awkward_trace())
    local = local_log(fleet, trace)
    flink = run_log(fleet, trace, "--engine", "flink", "--parallelism", "2")
    assert flink.stdout == local.stdout, flink.stderr.decode()[-3000:]
    assert flink.returncode == local.returncode == 1
    assert len(local.stdout.splitlines()) == 752  # 751 decisions and the end record
    assert b"Traceback" not in flink.stderr


def test_the_cluster_job_on_a_raw_trace_collates_to_the_local_log(
    fleet: Fleet, tmp_path: Path
) -> None:
    out = tmp_path / "decisions"
    submitted = run(
        [
            *FLINK,
            "run",
            "--bundle",
            str(fleet.bundle),
            "--trust",
            str(fleet.pub),
            "--trace",
            str(FLEET_TRACE),
            "--output",
            str(out),
            "--restart-attempts",
            "0",
        ]
    )
    assert submitted.returncode == 0, submitted.stderr.decode()[-3000:]
    collated = run(
        [
            *FLINK,
            "collate",
            str(out),
            "--bundle",
            str(fleet.bundle),
            "--trust",
            str(fleet.pub),
            "--lines",
            str(FLEET_TRACE.read_bytes().count(b"\n")),
        ]
    )
    assert collated.returncode == 0, collated.stderr
    assert collated.stdout == local_log(fleet, FLEET_TRACE).stdout
    verified = run(
        [*NOMO, "log", "verify", "-", "--bundle", str(fleet.bundle), "--trust", str(fleet.pub)],
        input=collated.stdout,
    )
    assert verified.returncode == 0 and b"intact: 742 decisions of 5 agents" in verified.stdout


def _decided(folder: Path) -> int:
    if not folder.exists():
        return 0
    return sum(1 for files in part_files([folder]) for path in files for _ in path.open("rb"))


def _wait_for(folder: Path, count: int, seconds: float = 180) -> None:
    """Until ``folder``'s committed part files hold ``count`` decisions."""
    deadline = time.monotonic() + seconds
    while _decided(folder) < count:
        assert time.monotonic() < deadline, f"{folder}: {_decided(folder)} of {count} decisions"
        time.sleep(0.2)


def test_a_job_restored_from_a_savepoint_goes_on_with_the_same_decisions(
    fleet: Fleet, tmp_path: Path
) -> None:
    """Half the trace, a savepoint, then the rest on a job restored from it at parallelism 2."""
    verified = verify_for_job(fleet.bundle, [fleet.pub])
    routing = Routing.of(verified.agents, not verified.agents)
    lines = FLEET_TRACE.read_bytes().splitlines(keepends=True)
    cut = 400
    watched = tmp_path / "in"
    watched.mkdir()
    first = stage_trace(io.BytesIO(b"".join(lines[:cut])), watched / "1.staged", routing)
    rest = stage_trace(
        io.BytesIO(b"".join(lines[cut:])), tmp_path / ".2.staged", routing, start_line=cut
    )

    def start(out: Path, parallelism: int, restore: str | None = None) -> Any:
        spec = job_spec(
            verified,
            FleetConfig(),
            FileInput((str(watched),), staged=True, monitor_seconds=0.2),
            FileOutput(str(out)),
            parallelism=parallelism,
            checkpoint_ms=300,
        )
        env = environment(spec, Placement(restore_from=restore))
        attach_sink(decided_stream(env, spec), spec)
        return env.execute_async("restore test")

    before = tmp_path / "before"
    job = start(before, 1)
    _wait_for(before, len(first.decisions))
    savepoint = stop_with_savepoint(job, (tmp_path / "savepoints").as_uri())
    assert _decided(before) == len(first.decisions) == cut
    os.replace(tmp_path / ".2.staged", watched / "2.staged")  # appears once the job is gone
    after = tmp_path / "after"
    restored = start(after, 2, restore=savepoint)
    _wait_for(after, len(rest.decisions))
    restored.cancel().result()
    # The restored job read only the new file (the source's state), numbered on, and every
    # agent went on from its saved state: the two halves are the uninterrupted run's log.
    collated = collate([before, after], verified.digest, len(lines))
    assert "\n".join(collated).encode() + b"\n" == local_log(fleet, FLEET_TRACE).stdout


def test_a_task_given_a_bundle_that_fails_verification_fails_before_its_code_runs(
    fleet: Fleet, tmp_path: Path
) -> None:
    """The client's check is bypassed: the spec carries bytes signed by a key nobody trusts."""
    verified = verify_for_job(fleet.bundle, [fleet.pub])
    routing = Routing.of(verified.agents, not verified.agents)
    staged = stage_trace(FLEET_TRACE.open("rb"), tmp_path / "t.staged", routing)
    spec: JobSpec = job_spec(
        verified,
        FleetConfig(),
        FileInput((str(staged.path),), staged=True),
        FileOutput(str(tmp_path / "decisions")),
    )
    marker = tmp_path / "evaluator-ran.marker"
    hostile = assemble_bundle(make_contents(marker, agent="support-bot"), fleet.stranger)
    with pytest.raises(JobFailed, match="refused in a Flink task before any of its code ran"):
        run_job(replace(spec, bundle=hostile), Placement())
    assert not marker.exists()
    assert not list((tmp_path / "decisions").glob("decisions-*"))
