"""Running a job and reporting its failure in one line: the client side of the Flink engine.

Input: a ``JobSpec`` whose bundle the client verified and where the job runs
(``job.Placement``). Output: the finished job (or, detached, its id), or
``JobFailed`` with a one-line reason: a task that refused the bundle, a job
that could not start, a checkpoint that failed. Stage: Flink shell, client
side.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from nomotic_dsl.flink.spec import JobSpec

if TYPE_CHECKING:
    from nomotic_dsl.flink.job import Placement

_REFUSED = re.compile(r"TaskRefused: ([^\n]*)")
_CAUSE = re.compile(r"Caused by: ([^\n]*)")


class JobFailed(RuntimeError):
    """The Flink job failed; ``str()`` is the reason in one line."""


def failure_reason(text: str) -> str:
    """One line out of a Flink job failure's report: a task's refusal, else the deepest cause."""
    refused = _REFUSED.findall(text)
    if refused:
        return refused[-1].strip()
    causes = [cause.strip() for cause in _CAUSE.findall(text) if cause.strip()]
    if causes:
        return causes[-1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "the Flink job failed"


def run_job(spec: JobSpec, placement: Placement, *, detach: bool = False) -> str | None:
    """``job.submit``, with a failed job as ``JobFailed``."""
    from py4j.protocol import Py4JError

    from nomotic_dsl.flink.job import submit

    try:
        return submit(spec, placement, detach=detach)
    except Py4JError as exc:
        raise JobFailed(failure_reason(str(exc))) from None
