"""Running the job and reading its decisions back: the client side of ``--engine flink``.

Input: a ``JobSpec`` whose bundle the client verified, a staged trace (or
the source the spec names), where to run. Output: the decisions in trace
order as the job finishes them (``Decided``), or ``JobFailed`` with a
one-line reason (a task that refused the bundle, a job that could not
start). Stage: Flink shell, client side.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from nomotic_dsl.flink.ordering import Decided, OrderError, Reorder
from nomotic_dsl.flink.spec import JobSpec
from nomotic_dsl.flink.staging import StagedTrace

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


def collect(spec: JobSpec, staged: StagedTrace, python: str | None = None) -> Iterator[Decided]:
    """Run ``spec`` on a local mini-cluster; its decisions in trace order, as they complete."""
    from py4j.protocol import Py4JError

    from nomotic_dsl.flink.job import Placement, decided_stream, environment

    placement = Placement() if python is None else Placement(python=python)
    reorder = Reorder(staged.decisions)
    try:
        env = environment(spec, placement)
        decided = decided_stream(env, spec)
        with decided.execute_and_collect(spec.name) as results:
            for line, text, unmeasured in results:
                yield from reorder.push(Decided.of(int(line), str(text), str(unmeasured)))
    except Py4JError as exc:
        raise JobFailed(failure_reason(str(exc))) from None
    except OrderError as exc:
        raise JobFailed(str(exc)) from None
    try:
        reorder.finish()
    except OrderError as exc:
        raise JobFailed(str(exc)) from None
