"""The records that flow through the Flink job, as plain text, and the staged trace format.

Input: trace lines (bytes, with their number) or the problem that kept a line
out (too long). Output: the job's input records ``(line, key, payload)``, and
their one-line text form in a staged trace file. Stage: Flink shell; needs
no pyflink, so the client and the tests use the same functions the tasks do.

- ``key``: the chain the line's decision joins (``Routing.line_key``), with
  ``NO_AGENT_KEY`` ("") for the agent-less chain; agent ids are never empty
  and never hold a control character, so a tab cannot occur in one.
- ``payload``: ``=`` and the line's bytes in base64, or ``!`` and the problem.
- staged line: ``<line>\\t<key>\\t<payload>``, ASCII but for the key (UTF-8):
  nothing a text reader could split, decode or normalise differently, so a
  staged trace carries every line exactly as the local engine reads it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from nomotic_dsl.flink.spec import NO_AGENT_KEY
from nomotic_dsl.runtime.fleet.observation import MAX_LINE_BYTES
from nomotic_dsl.runtime.fleet.routing import Routing

DATA = "="
PROBLEM = "!"
STAGED_SUFFIX = ".staged"


class RecordError(ValueError):
    """A job record or staged line that is not in the form this module writes."""


@dataclass(frozen=True, slots=True)
class LineRecord:
    """One trace line as the job carries it: number, chain key, and bytes or problem."""

    line: int
    key: str
    data: bytes | None
    problem: str | None = None

    @property
    def agent_id(self) -> str | None:
        """The chain's agent id (None for the agent-less chain)."""
        return None if self.key == NO_AGENT_KEY else self.key

    def payload(self) -> str:
        """``=base64`` of the bytes, or ``!problem``."""
        if self.data is None:
            return PROBLEM + (self.problem or "unreadable line")
        return DATA + base64.b64encode(self.data).decode("ascii")

    def staged(self) -> str:
        """The staged-trace line (without newline)."""
        return f"{self.line}\t{self.key}\t{self.payload()}"


def key_text(agent_id: str | None) -> str:
    """The Flink key of a chain."""
    return NO_AGENT_KEY if agent_id is None else agent_id


def line_record(line: int, data: bytes | None, problem: str | None, routing: Routing) -> LineRecord:
    """The record of trace line ``line`` (its bytes, or the problem that kept them out)."""
    if data is None:
        return LineRecord(line, NO_AGENT_KEY, None, problem or "unreadable line")
    return LineRecord(line, key_text(routing.line_key(data)), data)


def raw_record(line: int, data: bytes, routing: Routing) -> LineRecord | None:
    """A line read by a text reader (no newline) as ``TraceReader`` would give it; None if blank."""
    if len(data) > MAX_LINE_BYTES:
        return LineRecord(
            line, NO_AGENT_KEY, None, f"line is longer than the {MAX_LINE_BYTES} bytes allowed"
        )
    if not data.strip():
        return None
    return line_record(line, data, None, routing)


def from_payload(line: int, key: str, payload: str) -> LineRecord:
    """The record of a job tuple; RecordError when the payload is not in the written form."""
    if payload.startswith(PROBLEM):
        return LineRecord(line, key, None, payload[1:])
    if not payload.startswith(DATA):
        raise RecordError(f"line {line}: payload must start with {DATA!r} or {PROBLEM!r}")
    try:
        data = base64.b64decode(payload[1:], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RecordError(f"line {line}: payload is not base64: {exc}") from None
    return LineRecord(line, key, data)


def from_staged(text: str) -> LineRecord:
    """A staged-trace line (newline or not) as its record; RecordError when malformed."""
    parts = text.rstrip("\n").split("\t")
    if len(parts) != 3 or not parts[0].isdigit() or int(parts[0]) < 1:
        raise RecordError(f"not a staged trace line: {text[:80]!r}")
    return from_payload(int(parts[0]), parts[1], parts[2])
