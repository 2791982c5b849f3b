"""``nomo run --engine flink``: verify, stage, run on a local mini-cluster, decisions in trace order.

Input: a bundle, trusted keys and the bundle checks of ``nomo run``, runtime
options, a trace stream, the parallelism, a work directory. Output: the
decisions in trace order, the end record and what stays unmeasured, exactly
as the local engine writes them. Stage: Flink shell behind the CLI.

Order of events: the bundle is verified in this process (signatures,
digests, anti-rollback state) before anything of Flink starts; a refused
bundle raises ``BundleError`` and no job exists. Then the trace is staged
(``staging``), the job runs to its end with a file sink in the work
directory (committed at its checkpoints; every task verifies the bundle
again in ``open()`` before loading its code), and the tasks' part files
are merged back into trace order, each staged line checked to have exactly
one decision before any is written. Decisions come out once the job has finished: reading them
while it runs would cost a call into the JVM per decision.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from nomotic_dsl.flink.client import JobFailed, run_job
from nomotic_dsl.flink.collate import decisions
from nomotic_dsl.flink.ordering import Closer, OrderError
from nomotic_dsl.flink.spec import (
    FileInput,
    FileOutput,
    JobSpec,
    flink_config,
    job_spec,
    verify_for_job,
)
from nomotic_dsl.flink.staging import StagedTrace, stage_trace
from nomotic_dsl.runtime.bundle.loader import BundleChecks
from nomotic_dsl.runtime.fleet.config import FleetConfig
from nomotic_dsl.runtime.fleet.routing import Routing


@dataclass
class LocalRun:
    """A verified job over a staged trace, and the log it is writing."""

    spec: JobSpec
    staged: StagedTrace
    workdir: Path
    workers: str = "process"
    closer: Closer = field(default_factory=Closer)

    @property
    def output(self) -> Path:
        """The folder the job's file sink writes."""
        return self.workdir / "decisions"

    def run(self) -> None:
        """Run the job to its end, then check its output; JobFailed (one line) when amiss."""
        from nomotic_dsl.flink.job import Placement

        placement = Placement(
            checkpoint_dir=str(self.workdir / "checkpoints"), workers=self.workers
        )
        run_job(self.spec, placement)
        self.check()

    def check(self) -> None:
        """JobFailed unless every staged line has exactly one decision in the output."""
        try:
            for _item in decisions([self.output], self.staged.decisions):
                pass
        except (OrderError, OSError, ValueError) as exc:
            raise JobFailed(f"the job's decisions are not complete: {exc}") from None

    def decisions(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(log line, record)`` of every decision, in trace order (``check`` passed)."""
        for _line, text in decisions([self.output], self.staged.decisions):
            record = json.loads(text)
            self.closer.add(record)
            yield text, record

    def end(self) -> dict[str, Any]:
        """The end record, once every decision was read."""
        return self.closer.end(self.spec.digest, self.staged.lines)

    def unmeasured(self) -> dict[str | None, list[str]]:
        """Per agent, the invariants not measured at the end (only non-empty)."""
        return self.closer.unmeasured()


def prepare(
    bundle: Path,
    trusted: list[Path],
    checks: BundleChecks,
    config: FleetConfig,
    trace: BinaryIO,
    workdir: Path,
    parallelism: int = 1,
) -> LocalRun:
    """Verify the bundle, check the options, stage the trace.

    BundleError when the bundle is refused, JobOptionError for options the
    Flink engine cannot honour (checked before the bundle is read).
    """
    flink_config(config)
    verified = verify_for_job(
        bundle,
        trusted,
        state_path=checks.state_path,
        init_state=checks.init_state,
        expect_agent=checks.agent,
        expect_name=checks.name,
    )
    staged_path = workdir / "trace.staged"
    staged = stage_trace(trace, staged_path, Routing.of(verified.agents, not verified.agents))
    spec = job_spec(
        verified,
        config,
        FileInput((str(staged_path.resolve()),), staged=True),
        FileOutput(str((workdir / "decisions").resolve())),
        parallelism=parallelism,
    )
    return LocalRun(spec, staged, workdir)
