"""Putting the job's decisions back in trace order, and closing the log as the local engine does.

Input: the decision lines each governor task wrote (each task's in the order
it decided them, agents interleaved however the tasks ran), and, when known,
the trace lines that must each get exactly one decision. Output: the
decisions in trace order (``line`` increasing); the end record and the
invariants not measured at the end, computed from the decisions alone.
Stage: Flink shell, client side (``nomo run --engine flink``, ``python -m
nomotic_dsl.flink collate``); needs no pyflink.

Why this gives the local engine's log byte for byte: a decision depends only
on its agent's earlier observations (chains, receipts, ``seq`` and evaluation
are per agent; ``line`` is the trace's), so the job's per-agent streams are
the local engine's, and sorting them by ``line`` restores its global order.
A task decides its records in trace order, so merging the tasks' streams
sorts them. The end record covers every chain's last ``(seq, receipt)`` and
the count of decisions; what an agent leaves unmeasured follows from the
``changed`` entries of its decisions (every invariant's state is listed,
from null, when its evaluation starts, then each change).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from nomotic_dsl.runtime.fleet.decision import chain_sort_key, end_record
from nomotic_dsl.runtime.governance.records import NOT_MEASURED


class OrderError(ValueError):
    """Decisions that cannot be the job's output for this trace (missing, extra, repeated)."""


def in_trace_order(
    streams: Iterable[Iterator[tuple[int, str]]], expected: Iterable[int] | None = None
) -> Iterator[tuple[int, str]]:
    """Merge tasks' ``(line, text)`` streams into one, ``line`` strictly increasing.

    ``expected``: the lines that get a decision, increasing; then each must
    come exactly once (OrderError names the first that does not).
    """
    due = None if expected is None else iter(expected)
    previous = 0
    for line, text in heapq.merge(*streams):
        if line <= previous:
            raise OrderError(f"trace line {line} was decided twice, or out of order")
        if due is not None:
            wanted = next(due, None)
            if wanted != line:
                missing = "no more" if wanted is None else f"trace line {wanted}"
                raise OrderError(f"the job decided trace line {line} where {missing} was due")
        previous = line
        yield line, text
    if due is not None:
        wanted = next(due, None)
        if wanted is not None:
            raise OrderError(f"the job wrote no decision for trace line {wanted}")


@dataclass
class Closer:
    """Follows every chain through the decisions, to write the end record and what is unmeasured."""

    decisions: int = 0
    last_line: int = 0
    heads: dict[str | None, tuple[int, str]] = field(default_factory=dict)
    # Per agent, each invariant's state after its last evaluated observation, in result order.
    states: dict[str | None, dict[str, str]] = field(default_factory=dict)

    def add(self, record: dict[str, Any]) -> None:
        """Count one decision (in trace order)."""
        agent = record["agent_id"]
        self.decisions += 1
        self.last_line = max(self.last_line, record["line"])
        self.heads[agent] = (record["seq"], record["receipt"])
        changed = record["changed"]
        if record["error"] is not None or not changed:
            return
        if changed[0]["from"] is None:  # the agent's evaluation (re)started: every invariant
            self.states[agent] = {}
        states = self.states.setdefault(agent, {})
        for change in changed:
            states[change["invariant"]] = change["to"]

    def end(self, digest: str, line: int | None = None) -> dict[str, Any]:
        """The end record of the decisions so far (``line``: the trace's last line read)."""
        return end_record(
            line=self.last_line if line is None else max(line, self.last_line),
            bundle=digest,
            decisions=self.decisions,
            heads=[(agent, seq, receipt) for agent, (seq, receipt) in self.heads.items()],
        )

    def unmeasured(self) -> dict[str | None, list[str]]:
        """Per agent, the invariants not measured after its last observation (only non-empty)."""
        found = {}
        for agent in sorted(self.states, key=chain_sort_key):
            ids = [ident for ident, state in self.states[agent].items() if state == NOT_MEASURED]
            if ids:
                found[agent] = ids
        return found
