"""Replaying a JSON Lines trace through a streaming monitor.

Input: a trace file (one observation object per line) and a monitor with
``observe``. Output: ``ReplayReport``: every violation onset with its line,
time and detail, and per-invariant totals. Stage: runtime, behind ``nomo run``.

A violation is reported when an invariant becomes violated (it was not
violated after the previous observation); while it stays violated it is
counted, not reported again, so a long breach is one line, not thousands.
A malformed line stops the replay with ``TraceError`` naming ``file:line``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from nomotic_dsl.runtime.bundle.evaluator import PolicyMonitor
from nomotic_dsl.runtime.bundle.verify import format_time
from nomotic_dsl.runtime.interpreter import InvariantResult, Observation, StateError

ProgressCallback = Callable[[int], None]


class TraceError(ValueError):
    """A trace line that is not a valid observation; ``str()`` is ``file:line: reason``."""


@dataclass(frozen=True, slots=True)
class Violation:
    """An invariant becoming violated at one observation of the trace."""

    line: int
    timestamp: float
    invariant_id: str
    current_value: float
    threshold: float
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form, with the time also as ISO 8601 UTC."""
        return {
            "line": self.line,
            "timestamp": self.timestamp,
            "time": format_time(self.timestamp),
            "invariant_id": self.invariant_id,
            "current_value": _json_number(self.current_value),
            "threshold": _json_number(self.threshold),
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """What a replay found: violation onsets in trace order and per-invariant totals."""

    observations: int
    violations: tuple[Violation, ...]
    # invariant_id -> number of observations after which it was violated.
    violated_observations: tuple[tuple[str, int], ...]
    final: tuple[InvariantResult, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``nomo run --format json``."""
        return {
            "observations": self.observations,
            "violations": [violation.to_dict() for violation in self.violations],
            "violated_observations": dict(self.violated_observations),
            "final": [result.to_dict() for result in self.final],
        }


def read_trace(handle: TextIO, filename: str) -> Iterator[tuple[int, Observation]]:
    """Observations with their 1-based line numbers; blank lines are skipped."""
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TraceError(f"{filename}:{number}: not valid JSON: {exc.msg}") from None
        try:
            yield number, Observation.from_mapping(data)
        except StateError as exc:
            raise TraceError(f"{filename}:{number}: {exc}") from None


def replay_trace(
    path: Path,
    monitor: PolicyMonitor,
    progress: ProgressCallback | None = None,
) -> ReplayReport:
    """Feed every observation of the trace at ``path`` to ``monitor``."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise TraceError(f"{path}: cannot read trace: {exc.strerror or exc}") from None
    with handle:
        try:
            return _replay(handle, str(path), monitor, progress)
        except UnicodeDecodeError:
            raise TraceError(f"{path}: trace is not UTF-8 text") from None


def _replay(
    handle: TextIO, filename: str, monitor: PolicyMonitor, progress: ProgressCallback | None
) -> ReplayReport:
    violations: list[Violation] = []
    violated_counts: dict[str, int] = {}
    was_violated: set[str] = set()
    results: list[InvariantResult] = []
    count = 0
    for number, observation in read_trace(handle, filename):
        try:
            results = monitor.observe(observation)
        except StateError as exc:
            raise TraceError(f"{filename}:{number}: {exc}") from None
        count += 1
        now_violated = {r.invariant_id for r in results if r.status == "violated"}
        violations.extend(
            _violation(number, observation, result)
            for result in results
            if result.invariant_id in now_violated - was_violated
        )
        for invariant_id in now_violated:
            violated_counts[invariant_id] = violated_counts.get(invariant_id, 0) + 1
        was_violated = now_violated
        if progress is not None:
            progress(count)
    totals = tuple((r.invariant_id, violated_counts.get(r.invariant_id, 0)) for r in results)
    return ReplayReport(count, tuple(violations), totals, tuple(results))


def _violation(line: int, observation: Observation, result: InvariantResult) -> Violation:
    return Violation(
        line=line,
        timestamp=observation.timestamp,
        invariant_id=result.invariant_id,
        current_value=result.current_value,
        threshold=result.threshold,
        detail=result.detail,
    )


def _json_number(value: float) -> float | str | None:
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value
