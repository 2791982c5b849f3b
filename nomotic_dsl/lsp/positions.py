"""Character offsets <-> LSP positions, in the position encoding the client chose.

Input: a document's text and the negotiated encoding (``utf-16`` unless the
client offered another). Output: ``LineIndex``, which turns the compiler's
offsets (code points into the text, what every ``Span`` holds) into LSP
``Position``s (0-based line, column in code units of the encoding) and back.
Lines end at ``\\n``, ``\\r\\n`` or ``\\r``, as the protocol says; a column past
the end of its line is clamped to the line's end, a line past the last to the
end of the text.
"""

from __future__ import annotations

import bisect
import re

from lsprotocol import types

from nomotic_dsl.compiler.source import Span

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _units(text: str, encoding: str) -> int:
    """How many code units of ``encoding`` the text takes."""
    if encoding == UTF32 or text.isascii():
        return len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _char_units(char: str, encoding: str) -> int:
    if encoding == UTF32:
        return 1
    if encoding == UTF8:
        return len(char.encode("utf-8", "surrogatepass"))
    return 2 if ord(char) > 0xFFFF else 1


class LineIndex:
    """The line table of one text, for conversions in one position encoding."""

    def __init__(self, text: str, encoding: str = UTF16) -> None:
        self.text = text
        self.encoding = encoding if encoding in (UTF8, UTF16, UTF32) else UTF16
        self.starts: list[int] = [0, *(match.end() for match in _LINE_BREAK.finditer(text))]

    @property
    def line_count(self) -> int:
        """Lines in the text (a text ending in a line break has an empty last line)."""
        return len(self.starts)

    def line_end(self, line: int) -> int:
        """The offset where a line's text ends, before its line break."""
        if line + 1 >= len(self.starts):
            return len(self.text)
        end = self.starts[line + 1]
        if self.text[end - 2 : end] == "\r\n":
            return end - 2
        return end - 1

    def line_of(self, offset: int) -> int:
        """The 0-based line an offset lies on."""
        offset = max(0, min(offset, len(self.text)))
        return bisect.bisect_right(self.starts, offset) - 1

    def position(self, offset: int) -> types.Position:
        """The LSP position of an offset (clamped into the text)."""
        offset = max(0, min(offset, len(self.text)))
        line = self.line_of(offset)
        start = self.starts[line]
        offset = min(offset, self.line_end(line))  # never inside a line break
        return types.Position(line=line, character=_units(self.text[start:offset], self.encoding))

    def range(self, span: Span) -> types.Range:
        """The LSP range of a span."""
        start = self.position(span.start)
        end = self.position(max(span.start, span.end))
        return types.Range(start=start, end=end)

    def offset(self, position: types.Position) -> int:
        """The offset of an LSP position; out-of-range lines and columns are clamped."""
        if position.line < 0:
            return 0
        if position.line >= len(self.starts):
            return len(self.text)
        start = self.starts[position.line]
        end = self.line_end(position.line)
        wanted = max(0, position.character)
        if self.encoding == UTF32 or (self.text[start:end].isascii()):
            return min(start + wanted, end)
        used, index = 0, start
        while index < end and used < wanted:
            used += _char_units(self.text[index], self.encoding)
            index += 1
        return index

    def span_of(self, range_: types.Range) -> Span:
        """The span of an LSP range."""
        start, end = self.offset(range_.start), self.offset(range_.end)
        return Span(min(start, end), max(start, end))
