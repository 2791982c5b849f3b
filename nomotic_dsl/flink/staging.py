"""Staging a trace for the Flink job: read it exactly as the local engine does, write it keyed.

Input: a trace (a binary stream: a file or standard input) and the bundle's
routing. Output: a staged trace file (see ``records``: one line per
observation with its trace line number, its chain key and its bytes in
base64, or the problem that kept it out), and what the client needs to put
the job's decisions back in trace order and close the log: the number of
physical lines read and the line numbers that get a decision. Stage: Flink
shell, client side of ``nomo run --engine flink``.

Why stage: Flink's text reader splits lines at a lone carriage return too,
decodes bytes before Python sees them and drops the ``\\r`` of CRLF line
ends, while the local engine splits at ``\\n`` only and reads bytes. Reading
the trace with the local engine's own ``TraceReader`` keeps line numbers,
blank and over-long lines, byte-order marks and invalid UTF-8 exactly as
``--engine local`` sees them, so the decisions are the same bytes.
"""

from __future__ import annotations

import os
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from nomotic_dsl.flink.records import line_record
from nomotic_dsl.runtime.fleet.routing import Routing
from nomotic_dsl.runtime.fleet.trace import TraceReader


@dataclass(frozen=True, slots=True)
class StagedTrace:
    """A staged trace file and what the client needs to order and close its decisions."""

    path: Path
    lines: int
    decisions: array[int]
    first_line: int = 1


def stage_trace(
    stream: BinaryIO,
    target: str | os.PathLike[str],
    routing: Routing,
    *,
    start_line: int = 0,
) -> StagedTrace:
    """Write the staged form of ``stream`` to ``target``, numbering lines after ``start_line``.

    A trace cut in parts is staged part by part, each after the previous
    part's last line (what a stream replayed from an offset looks like).
    """
    reader = TraceReader(stream)
    reader.start_after(start_line, reader.position)
    decisions: array[int] = array("q")
    path = Path(target)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for item in reader:
            record = line_record(item.number, item.data, item.problem, routing)
            out.write(record.staged())
            out.write("\n")
            decisions.append(item.number)
    return StagedTrace(path, reader.line, decisions, start_line + 1)
