"""One replay: observations through a ``FleetRuntime``, each with its decision and step.

Input: a runtime (fresh from ``PolicySet.runtime()``) and a trace file, or
numbered ``TraceItem``s. Output: ``Observed`` per observation, in order: the
decision record exactly as ``nomo run --format jsonl`` writes it, the step
behind it (``FleetRuntime.last_step``: every invariant's result and value),
and the parsed observation. Stage: shell-side library over the fleet runtime.

Bounds: lines over the runtime's 1 MiB are refused by the reader (an error
decision, as in ``nomo run``); ``max_observations`` stops a replay that
would hold too much for its caller (TraceFileError names the limit).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nomotic_dsl.runtime.fleet.agent import Step
from nomotic_dsl.runtime.fleet.observation import TraceItem, TraceLineError, parse_line
from nomotic_dsl.runtime.fleet.runtime import FleetRuntime
from nomotic_dsl.runtime.fleet.trace import TraceReader


class TraceFileError(Exception):
    """A trace that cannot be read (missing, unreadable, over a limit)."""


@dataclass(frozen=True, slots=True)
class Observed:
    """One observation of a replay: its line, the decision, the step and the observation."""

    line: int
    record: dict[str, Any]
    # None for an error decision (nothing was evaluated).
    step: Step | None
    # None when the line could not be read as an observation.
    item: TraceItem | None

    @property
    def agent_id(self) -> str | None:
        """The agent the decision names."""
        agent: str | None = self.record["agent_id"]
        return agent

    @property
    def timestamp(self) -> float | None:
        """The observation's time (None when the line could not be read)."""
        stamp: float | None = self.record["timestamp"]
        return stamp


def decide(runtime: FleetRuntime, line: int, data: bytes | None, problem: str | None) -> Observed:
    """The runtime's decision on one trace line (bytes), or on a line the reader refused."""
    if data is None:
        record = runtime.reject(problem or "unreadable line", line)
        return Observed(line, record, None, None)
    try:
        item = parse_line(data)
    except TraceLineError:
        # The runtime parses the line again and writes the same error decision.
        return Observed(line, runtime.process_line(data, line), None, None)
    return decide_item(runtime, line, item)


def decide_item(runtime: FleetRuntime, line: int, item: TraceItem) -> Observed:
    """The runtime's decision on one parsed observation."""
    record = runtime.process(item, line)
    step = runtime.last_step if record["error"] is None else None
    return Observed(line, record, step, item)


def replay_items(
    runtime: FleetRuntime, items: Iterable[tuple[int, TraceItem]]
) -> Iterator[Observed]:
    """Each (line, observation) through ``runtime``; lines must increase."""
    for line, item in items:
        yield decide_item(runtime, line, item)


def replay_trace(
    runtime: FleetRuntime,
    path: Path,
    *,
    first_line: int = 0,
    max_observations: int | None = None,
) -> Iterator[Observed]:
    """Every line of the trace file at ``path`` through ``runtime``, numbered from 1.

    ``first_line`` offsets the numbers (a trace replayed after other
    observations). TraceFileError when the file cannot be opened or holds
    more than ``max_observations`` observations.
    """
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed by the generator's finally
    except OSError as exc:
        raise TraceFileError(f"cannot read trace {path}: {exc.strerror or exc}") from None
    try:
        reader = TraceReader(stream)
        for count, item in enumerate(reader, start=1):
            if max_observations is not None and count > max_observations:
                raise TraceFileError(
                    f"{path} holds more than {max_observations:,} observations, the limit here"
                )
            yield decide(runtime, first_line + item.number, item.data, item.problem)
    except OSError as exc:
        raise TraceFileError(f"cannot read trace {path}: {exc.strerror or exc}") from None
    finally:
        stream.close()
