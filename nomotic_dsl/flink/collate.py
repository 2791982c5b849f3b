"""Collating a job's decision files into one decision log in trace order, closed by an end record.

Input: the folders a job's file sink wrote (``decisions-<task uid>-<n>.jsonl``
part files; hidden in-progress files are skipped), the runtime's digest and,
optionally, the trace's last line. Output: every decision line in trace
order, then the end record: a log ``nomo log verify`` checks like the local
engine's. Stage: Flink shell, client side; needs no pyflink.

Each governor task writes its agents' decisions in the order it decided
them, which is trace order, into part files numbered 0, 1, ... (a task of a
restored job has a new uid), so merging the tasks' streams is enough; a
line decided twice or out of order is refused (``OrderError``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from nomotic_dsl.flink.ordering import Closer, OrderError, in_trace_order
from nomotic_dsl.runtime.fleet.decision import encode_record

# What the job's file sink names a finished part file (job.file_sink).
_PART = re.compile(r"^decisions-(?P<uid>.+)-(?P<n>\d+)\.jsonl$")


def part_files(folders: Sequence[str | os.PathLike[str]]) -> list[list[Path]]:
    """The finished part files of each task, each task's in part order."""
    tasks: dict[tuple[str, str], list[tuple[int, Path]]] = {}
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if not path.is_file() or path.name.startswith((".", "_")):
                continue
            match = _PART.match(path.name)
            if match is None:
                raise OrderError(f"{path} is not a part file of a decision sink")
            task = (str(path.parent), match["uid"])
            tasks.setdefault(task, []).append((int(match["n"]), path))
    return [[path for _n, path in sorted(files)] for _task, files in sorted(tasks.items())]


def _task_lines(files: Iterable[Path]) -> Iterator[tuple[int, str]]:
    for path in files:
        with path.open("r", encoding="utf-8") as stream:
            for text in stream:
                text = text.rstrip("\n")
                if not text:
                    continue
                try:
                    line = json.loads(text)["line"]
                except (ValueError, KeyError, TypeError):
                    raise OrderError(f"{path}: not a decision record: {text[:80]!r}") from None
                yield int(line), text


def decisions(
    folders: Sequence[str | os.PathLike[str]], expected: Iterable[int] | None = None
) -> Iterator[tuple[int, str]]:
    """Every ``(trace line, decision line)`` in the folders, in trace order (see ``ordering``)."""
    return in_trace_order((_task_lines(files) for files in part_files(folders)), expected)


def collate(
    folders: Sequence[str | os.PathLike[str]], digest: str, last_line: int | None = None
) -> Iterator[str]:
    """Every decision line in trace order, then the end record's line."""
    closer = Closer()
    for _line, text in decisions(folders):
        closer.add(json.loads(text))
        yield text
    yield encode_record(closer.end(digest, last_line)).decode("utf-8")
