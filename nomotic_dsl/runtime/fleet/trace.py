"""Reading a trace as it arrives: lines from a file, a pipe, or a file that keeps growing.

Input: a binary stream (a trace file, standard input). Output: ``TraceLine``
items, one per non-blank physical line, numbered from 1, as soon as each line
is complete; the SHA-256 of every byte consumed so far (checkpoints record
it). Stage: runtime, in front of ``FleetRuntime``.

Bounds: a line longer than ``max_line_bytes`` is not kept in memory (its
bytes are hashed and dropped) and comes out as a problem. With ``follow``,
end of file means "wait": the reader polls every ``poll_seconds`` for more,
keeps a final line without newline until it is complete, stops when
``stop`` is set or when nothing arrived for ``idle_seconds``, and reports a
file that shrank (truncated or replaced) instead of reading garbage.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import time
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

from nomotic_dsl.runtime.fleet.observation import MAX_LINE_BYTES

_CHUNK = 64 * 1024
START_POSITION = "0" * 64


class TraceInterrupted(Exception):
    """Raised (by a signal handler) into a reader blocked on input: stop reading now."""


class TraceTruncated(Exception):
    """A followed file became shorter than what was already read."""


class TraceLine(NamedTuple):
    """One non-blank line: its 1-based number and bytes, or the problem that kept them out.

    A named tuple (immutable; one is made per line, faster than a frozen dataclass).
    """

    number: int
    data: bytes | None
    problem: str | None = None


class TraceReader:
    """Iterate the lines of ``stream``; see the module note for follow mode and bounds."""

    def __init__(
        self,
        stream: BinaryIO,
        *,
        follow: bool = False,
        poll_seconds: float = 0.2,
        idle_seconds: float | None = None,
        max_line_bytes: int = MAX_LINE_BYTES,
        stop: threading.Event | None = None,
    ) -> None:
        self.stream = stream
        self.follow = follow
        self.poll_seconds = poll_seconds
        self.idle_seconds = idle_seconds
        self.max_line_bytes = max_line_bytes
        self.stop = stop or threading.Event()
        # The position digest (see ``position``) as bytes.
        self._digest = bytes.fromhex(START_POSITION)
        self.line = 0
        self.consumed = 0
        # True while blocked reading input (a signal handler may then raise TraceInterrupted).
        self.reading = False

    @property
    def position(self) -> str:
        """SHA-256 (hex) chained over every complete line consumed: H(previous || line)."""
        return self._digest.hex()

    @position.setter
    def position(self, value: str) -> None:
        self._digest = bytes.fromhex(value)

    def start_after(self, line: int, position: str) -> None:
        """Number the next line ``line + 1`` and chain the position from ``position``."""
        self.line = line
        self.position = position

    def __iter__(self) -> Iterator[TraceLine]:
        while not self.stop.is_set():
            raw = self._next_physical_line()
            if raw is None:
                return
            data, too_long = raw
            self.line += 1
            if too_long:
                yield TraceLine(
                    self.line,
                    None,
                    f"line is longer than the {self.max_line_bytes} bytes allowed",
                )
            elif data and not data.isspace():  # what data.strip() keeps, without a copy
                yield TraceLine(self.line, data)

    def skip_to(self, line: int) -> None:
        """Consume lines up to and including ``line``; EOFError when the trace is shorter."""
        while self.line < line:
            raw = self._next_physical_line()
            if raw is None:
                raise EOFError(f"the trace ends at line {self.line}, before line {line}")
            self.line += 1

    def _next_physical_line(self) -> tuple[bytes, bool] | None:
        """(line bytes without its newline, too long) or None at the end.

        A line's bytes count as consumed (chained) only once it is complete, so
        a partial line left when following stops is read again on resume.
        """
        first = self._read(self.max_line_bytes + 1)
        if first is None:
            return None
        if first.endswith(b"\n") and len(first) <= self.max_line_bytes + 1:
            # The whole line at once (the usual case).
            self._digest = hashlib.sha256(self._digest + first).digest()
            self.consumed += len(first)
            return first[:-1], False
        return self._assemble_line(first)

    def _assemble_line(self, first: bytes) -> tuple[bytes, bool] | None:
        """The rest of ``_next_physical_line``: a line read in parts, too long, or at the end."""
        kept: list[bytes] = []
        size = 0
        too_long = False
        hasher = hashlib.sha256(self._digest)
        taken = 0
        last_data = time.monotonic()
        chunk: bytes | None = first
        while True:
            if chunk is None:
                chunk = self._read(_CHUNK if too_long else self.max_line_bytes + 1 - size)
            if chunk is None:
                return None
            if chunk:
                last_data = time.monotonic()
                hasher.update(chunk)
                taken += len(chunk)
                ends = chunk.endswith(b"\n")
                body = chunk[:-1] if ends else chunk
                if not too_long:
                    size += len(body)
                    if size > self.max_line_bytes:
                        too_long, kept = True, []
                    else:
                        kept.append(body)
                if ends:
                    break
                chunk = None
                continue
            chunk = None
            # The end of the input, for now.
            if not self.follow:
                if taken:
                    break
                return None
            self._check_not_truncated(taken)
            if self.idle_seconds is not None and time.monotonic() - last_data > self.idle_seconds:
                return None
            if self.stop.wait(self.poll_seconds):
                return None
        self._digest = hasher.digest()
        self.consumed += taken
        return b"".join(kept), too_long

    def _read(self, limit: int) -> bytes | None:
        """Up to ``limit`` bytes ending at the first newline; b"" at end; None when interrupted."""
        self.reading = True
        try:
            return self.stream.readline(max(1, limit))
        except TraceInterrupted:
            return None
        finally:
            self.reading = False

    def _check_not_truncated(self, pending: int) -> None:
        try:
            status = os.fstat(self.stream.fileno())
        except (OSError, ValueError, AttributeError):
            return
        size = status.st_size
        if stat.S_ISREG(status.st_mode) and size < self.consumed + pending:
            raise TraceTruncated(
                f"the trace shrank to {size} bytes after {self.consumed + pending} were read "
                "(truncated or replaced)"
            )
