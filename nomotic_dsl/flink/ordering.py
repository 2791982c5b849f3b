"""Putting the job's decisions back in trace order, and closing the log as the local engine does.

Input: decisions as the job emits them (each agent's in order, agents
interleaved however the tasks ran), and the line numbers that get a
decision. Output: the decisions in trace order (``line`` increasing), as
soon as every earlier one has arrived; the end record and the invariants
not measured at the end, computed from the decisions alone. Stage: Flink
shell, client side (``nomo run --engine flink``, ``python -m
nomotic_dsl.flink collate``); needs no pyflink.

Why this gives the local engine's log byte for byte: a decision depends only
on its agent's earlier observations (chains, receipts, ``seq`` and evaluation
are per agent; ``line`` is the trace's), so the job's per-agent streams are
the local engine's, and sorting them by ``line`` restores its global order.
The end record covers every chain's last ``(seq, receipt)`` and the count of
decisions, all read from the decisions.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from nomotic_dsl.runtime.fleet.decision import chain_sort_key, end_record


class OrderError(ValueError):
    """Decisions that cannot be the job's output for this trace (missing, extra, repeated)."""


@dataclass(frozen=True, slots=True)
class Decided:
    """One decision as the job emits it: its trace line, its log line, what stays unmeasured."""

    line: int
    text: str
    unmeasured: tuple[str, ...] = ()

    @classmethod
    def of(cls, line: int, text: str, unmeasured: str) -> Decided:
        """From the job's output tuple (``unmeasured`` as a JSON list)."""
        return cls(line, text, tuple(json.loads(unmeasured)))


class Reorder:
    """Releases decisions in trace order; ``expected`` lists the lines, increasing."""

    def __init__(self, expected: Iterable[int]) -> None:
        self._expected = iter(expected)
        self._next: int | None = next(self._expected, None)
        self._waiting: list[tuple[int, Decided]] = []
        self._seen: set[int] = set()

    def push(self, item: Decided) -> Iterator[Decided]:
        """Take one decision; yield every decision that is now next in order."""
        if item.line in self._seen:
            raise OrderError(f"the job decided trace line {item.line} twice")
        self._seen.add(item.line)
        heapq.heappush(self._waiting, (item.line, item))
        while self._waiting and self._waiting[0][0] == self._next:
            yield heapq.heappop(self._waiting)[1]
            self._seen.discard(self._next)
            self._next = next(self._expected, None)
        if self._waiting and (self._next is None or self._waiting[0][0] < self._next):
            raise OrderError(f"the job decided trace line {self._waiting[0][0]}, which is not due")

    def finish(self) -> None:
        """OrderError when a decision is still missing."""
        if self._next is not None:
            raise OrderError(f"the job wrote no decision for trace line {self._next}")
        if self._waiting:
            raise OrderError(f"the job decided trace line {self._waiting[0][0]}, which is not due")


@dataclass
class Closer:
    """Follows every chain's head through the decisions, to write the end record."""

    decisions: int = 0
    last_line: int = 0
    heads: dict[str | None, tuple[int, str]] = field(default_factory=dict)
    unmeasured_now: dict[str | None, tuple[str, ...]] = field(default_factory=dict)

    def add(self, record: dict[str, Any], unmeasured: tuple[str, ...] = ()) -> None:
        """Count one decision (in trace order) and what its agent leaves unmeasured after it."""
        agent = record["agent_id"]
        self.decisions += 1
        self.last_line = max(self.last_line, record["line"])
        self.heads[agent] = (record["seq"], record["receipt"])
        self.unmeasured_now[agent] = unmeasured

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
        return {
            agent: list(ids)
            for agent, ids in sorted(
                self.unmeasured_now.items(), key=lambda item: chain_sort_key(item[0])
            )
            if ids
        }
