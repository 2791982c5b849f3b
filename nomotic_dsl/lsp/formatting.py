"""Formatting: ``nomo fmt``'s output as one text edit.

Input: the document's text and line index. Output: no edit when the text is
already canonical or does not parse (``format_source`` raises
``FormatError``: a file with a syntax error is never touched), else one
``TextEdit`` replacing the lines that differ, so the editor keeps the cursor
and folds where nothing changed. Applying the edit gives exactly what
``nomo fmt`` writes.
"""

from __future__ import annotations

from lsprotocol import types

from nomotic_dsl.compiler.fmt import FormatError, format_source
from nomotic_dsl.compiler.source import Span
from nomotic_dsl.lsp.positions import LineIndex


def _lines(index: LineIndex) -> list[str]:
    text, starts = index.text, index.starts
    return [
        text[start : (starts[i + 1] if i + 1 < len(starts) else len(text))]
        for i, start in enumerate(starts)
    ]


def format_edits(text: str, name: str, index: LineIndex) -> list[types.TextEdit] | None:
    """The edit that makes the document canonical; None when it does not parse."""
    try:
        formatted = format_source(text, name)
    except FormatError:
        return None
    if formatted == text:
        return []
    old = _lines(index)
    new = _lines(LineIndex(formatted, index.encoding))
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while (
        tail < min(len(old), len(new)) - head
        and old[len(old) - 1 - tail] == new[len(new) - 1 - tail]
    ):
        tail += 1
    start = index.starts[head] if head < len(index.starts) else len(text)
    end_line = len(old) - tail
    end = index.starts[end_line] if end_line < len(index.starts) else len(text)
    replacement = "".join(new[head : len(new) - tail])
    return [types.TextEdit(range=index.range(Span(start, end)), new_text=replacement)]
