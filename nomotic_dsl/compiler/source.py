"""Source files and spans: the text every later stage points back into.

Input: a file's name and text. Output: ``SourceFile`` (line table for display)
and ``Span`` (half-open character offsets). Stage: shared by every stage, from
parsing to diagnostics rendering. Offsets are the truth; 1-based line and
column are computed only when something is shown to a person.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from functools import cached_property

from nomotic_dsl.ir.canonical import canonical_digest


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open range ``[start, end)`` of character offsets into one source file."""

    start: int
    end: int

    def cover(self, other: Span) -> Span:
        """The smallest span holding both."""
        return Span(min(self.start, other.start), max(self.end, other.end))


NO_SPAN = Span(0, 0)


@dataclass(frozen=True, slots=True)
class Position:
    """A 1-based line and column, for display."""

    line: int
    column: int


@dataclass(frozen=True)
class SourceFile:
    """One source text under a display name (never an absolute path when avoidable)."""

    name: str
    text: str

    @cached_property
    def line_starts(self) -> tuple[int, ...]:
        """Offsets at which each line begins."""
        starts = [0]
        find = self.text.find
        index = find("\n")
        while index >= 0:
            starts.append(index + 1)
            index = find("\n", index + 1)
        return tuple(starts)

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the text, for bundles and generated headers."""
        return canonical_digest(self.text)

    def position(self, offset: int) -> Position:
        """The 1-based line and column of an offset (clamped into the text)."""
        offset = max(0, min(offset, len(self.text)))
        index = bisect.bisect_right(self.line_starts, offset) - 1
        return Position(index + 1, offset - self.line_starts[index] + 1)

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its newline."""
        if not 1 <= line <= len(self.line_starts):
            return ""
        start = self.line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]

    def snippet(self, span: Span) -> str:
        """The exact text a span covers."""
        return self.text[span.start : span.end]
