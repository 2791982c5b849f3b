"""Renderers of diagnostics: full (with source and caret), concise, JSON, SARIF, GitHub.

Input: diagnostics and the source texts they point into (name -> text).
Output: strings or JSON-clean lists. Stage: the last step of ``nomo check``;
pure functions, one per format, no printing.

``sarif`` is a SARIF 2.1.0 log (code scanning in GitHub, GitLab, Azure
DevOps): one run whose tool lists every diagnostic code as a rule with its
help text, and one result per diagnostic with its file, line and column
(columns count Unicode code points, as every renderer here does).
``github`` prints GitHub Actions workflow commands, one
``::error file=...,line=...,col=...::message`` per diagnostic, escaped as
the runner requires.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from nomotic_dsl._version import __version__
from nomotic_dsl.compiler.diagnostics.codes import CODES
from nomotic_dsl.compiler.diagnostics.model import Diagnostic
from nomotic_dsl.compiler.limits import MAX_SHOWN_LINE_CHARS
from nomotic_dsl.compiler.source import SourceFile

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
CODES_HELP = "The codes are listed, with their meaning, in docs/language.md (Diagnostic codes)."


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


def sarif_rules() -> list[dict[str, Any]]:
    """One SARIF rule per registered code, in code order, with its help text."""
    return [
        {
            "id": info.code,
            "name": info.code,
            "shortDescription": {"text": info.summary},
            "fullDescription": {"text": f"{info.code} ({info.severity}): {info.summary}."},
            "help": {"text": f"{info.summary}. {CODES_HELP}"},
            "defaultConfiguration": {"level": _sarif_level(info.severity)},
        }
        for info in sorted(CODES.values(), key=lambda item: item.code)
    ]


def sarif_log(diagnostics: Sequence[Diagnostic]) -> dict[str, Any]:
    """The SARIF 2.1.0 log of ``diagnostics`` (a log with no results when there are none)."""
    rules = sarif_rules()
    index = {rule["id"]: position for position, rule in enumerate(rules)}
    results = []
    for item in diagnostics:
        text = item.message if not item.help else f"{item.message}\nhelp: {item.help}"
        result: dict[str, Any] = {
            "ruleId": item.code,
            "level": _sarif_level(item.severity),
            "message": {"text": text},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": quote(item.file, safe="/:")},
                        "region": {
                            "startLine": item.line,
                            "startColumn": item.column,
                            "endLine": item.end_line,
                            "endColumn": max(item.end_column, item.column),
                        },
                    }
                }
            ],
        }
        if item.code in index:
            result["ruleIndex"] = index[item.code]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "nomo",
                        "fullName": "nomo check (nomotic_dsl)",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def render_sarif_document(diagnostics: Sequence[Diagnostic], sources: Mapping[str, str]) -> str:
    """A SARIF 2.1.0 log, indented."""
    return json.dumps(sarif_log(diagnostics), indent=2, ensure_ascii=False)


def _sarif_level(severity: str) -> str:
    return "error" if severity == "error" else "warning"


def github_data(text: str) -> str:
    """A workflow command's message: ``%``, CR and LF escaped."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: str) -> str:
    """A workflow command's property value: also ``:`` and ``,`` escaped."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(diagnostic: Diagnostic) -> str:
    """``::error file=F,line=L,col=C,endLine=..,endColumn=..,title=CODE::message``."""
    command = "error" if diagnostic.severity == "error" else "warning"
    properties = {
        "file": diagnostic.file,
        "line": str(diagnostic.line),
        "col": str(diagnostic.column),
        "endLine": str(diagnostic.end_line),
        "endColumn": str(max(diagnostic.end_column, diagnostic.column)),
        "title": f"{diagnostic.code}",
    }
    joined = ",".join(f"{name}={github_property(value)}" for name, value in properties.items())
    message = diagnostic.message
    if diagnostic.help:
        message += f"\nhelp: {diagnostic.help}"
    return f"::{command} {joined}::{github_data(message)}"


def render_github_all(diagnostics: Sequence[Diagnostic], sources: Mapping[str, str]) -> str:
    """One workflow command per diagnostic."""
    return "\n".join(render_github(item) for item in diagnostics)


Renderer = Callable[[Sequence[Diagnostic], Mapping[str, str]], str]

# The one registry of diagnostic formats: every shell (CLI, HTTP, editor)
# renders through it, and a new format is one entry here.
RENDERERS: dict[str, Renderer] = {
    "full": render_full_all,
    "concise": render_concise_all,
    "json": render_json_document,
    "sarif": render_sarif_document,
    "github": render_github_all,
}
# Formats that render one whole document: printed even with no diagnostic, and
# nothing else (no summary line) beside it on the same stream.
DOCUMENT_FORMATS: frozenset[str] = frozenset({"json", "sarif"})


def render(
    diagnostics: Sequence[Diagnostic], output_format: str, sources: Mapping[str, str]
) -> str:
    """Diagnostics in a registered format; KeyError for a format nobody registered."""
    return RENDERERS[output_format](diagnostics, sources)
