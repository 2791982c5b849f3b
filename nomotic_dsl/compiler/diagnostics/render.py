"""Renderers of diagnostics: full (with source and caret), concise, and JSON.

Input: diagnostics and the source texts they point into (name -> text).
Output: strings or JSON-clean lists. Stage: the last step of ``nomo check``;
pure functions, one per format, no printing.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence

from nomotic_dsl.compiler.diagnostics.model import Diagnostic
from nomotic_dsl.compiler.limits import MAX_SHOWN_LINE_CHARS
from nomotic_dsl.compiler.source import SourceFile


def render_concise(diagnostic: Diagnostic) -> str:
    """``file:line:col: error[CODE] message`` on one line."""
    return (
        f"{diagnostic.file}:{diagnostic.line}:{diagnostic.column}: "
        f"{diagnostic.severity}[{diagnostic.code}] {diagnostic.message}"
    )


def render_full(diagnostic: Diagnostic, sources: Mapping[str, str]) -> str:
    """Header, location, numbered source line with a caret under the span, and help."""
    text = sources.get(diagnostic.file)
    return _full(diagnostic, None if text is None else SourceFile(diagnostic.file, text))


def _full(diagnostic: Diagnostic, source: SourceFile | None) -> str:
    lines = [
        f"{diagnostic.severity}[{diagnostic.code}]: {diagnostic.message}",
        f" --> {diagnostic.file}:{diagnostic.line}:{diagnostic.column}",
    ]
    if source is not None:
        lines.extend(_excerpt(diagnostic, source))
    if diagnostic.help:
        lines.append(f"  = help: {diagnostic.help}")
    return "\n".join(lines)


def _excerpt(diagnostic: Diagnostic, source: SourceFile) -> list[str]:
    number = str(diagnostic.line)
    gutter = " " * len(number)
    line_text = _visible(source.line_text(diagnostic.line))
    start = diagnostic.column
    if diagnostic.end_line == diagnostic.line:
        width = max(1, diagnostic.end_column - start)
    else:
        width = max(1, len(line_text) - start + 1)
    line_text, start, width = _cut(line_text, start, width)
    caret = " " * (start - 1) + "^" * width
    return [f"{gutter} |", f"{number} | {line_text}", f"{gutter} | {caret}"]


def _visible(line: str) -> str:
    """Tabs as spaces; invisible and control characters as `?`, so the caret lines up."""
    return "".join(
        " "
        if char == "\t"
        else "?"
        if unicodedata.category(char)[0] in "CZ" and char != " "
        else char
        for char in line
    )


def _cut(line: str, start: int, width: int) -> tuple[str, int, int]:
    """A long line cut to ``MAX_SHOWN_LINE_CHARS`` around the caret, marked with `...`."""
    if len(line) <= MAX_SHOWN_LINE_CHARS:
        return line, start, width
    width = min(width, MAX_SHOWN_LINE_CHARS // 2)
    first = max(0, start - 1 - MAX_SHOWN_LINE_CHARS // 4)
    shown = line[first : first + MAX_SHOWN_LINE_CHARS]
    prefix = "..." if first > 0 else ""
    suffix = "..." if first + MAX_SHOWN_LINE_CHARS < len(line) else ""
    return prefix + shown + suffix, start - first + len(prefix), width


def underlined(diagnostic: Diagnostic, sources: Mapping[str, str]) -> str:
    """The exact source text a diagnostic points at (what tests assert on)."""
    text = sources.get(diagnostic.file, "")
    return text[diagnostic.span.start : diagnostic.span.end]


def render_all(diagnostics: Iterable[Diagnostic], sources: Mapping[str, str]) -> str:
    """Every diagnostic in full form, separated by blank lines.

    Each file's line table is built once, however many diagnostics point into it.
    """
    files: dict[str, SourceFile | None] = {}

    def source_of(name: str) -> SourceFile | None:
        if name not in files:
            text = sources.get(name)
            files[name] = None if text is None else SourceFile(name, text)
        return files[name]

    return "\n\n".join(_full(item, source_of(item.file)) for item in diagnostics)


def to_json(diagnostics: Iterable[Diagnostic]) -> list[dict[str, object]]:
    """A list of dicts with the Diagnostic field names, for build pipelines."""
    return [item.to_dict() for item in diagnostics]


def render_json_document(diagnostics: Sequence[Diagnostic], sources: Mapping[str, str]) -> str:
    """``{"diagnostics": [...]}``, indented, for build pipelines."""
    return json.dumps({"diagnostics": to_json(diagnostics)}, indent=2, ensure_ascii=False)


def render_concise_all(diagnostics: Sequence[Diagnostic], sources: Mapping[str, str]) -> str:
    """One line per diagnostic."""
    return "\n".join(render_concise(item) for item in diagnostics)


def render_full_all(diagnostics: Sequence[Diagnostic], sources: Mapping[str, str]) -> str:
    """Every diagnostic in full form."""
    return render_all(diagnostics, sources)


Renderer = Callable[[Sequence[Diagnostic], Mapping[str, str]], str]

# The one registry of diagnostic formats: every shell (CLI, HTTP, editor)
# renders through it, and a new format is one entry here.
RENDERERS: dict[str, Renderer] = {
    "full": render_full_all,
    "concise": render_concise_all,
    "json": render_json_document,
}


def render(
    diagnostics: Sequence[Diagnostic], output_format: str, sources: Mapping[str, str]
) -> str:
    """Diagnostics in a registered format; KeyError for a format nobody registered."""
    return RENDERERS[output_format](diagnostics, sources)
