"""The compiler's diagnostics as LSP diagnostics.

Input: an ``Analysis``. Output: ``lsprotocol`` diagnostics for the document:
code, severity and message exactly as ``nomo check`` prints them, the range
the span covers (0-based, in the client's position encoding), and the help
line as related information (the protocol has no field for it). A problem
found in an imported file is reported on the import that brings that file in
(or on the `archetype` a contract names, for a standard archetype loaded
without an import), with the imported file's own location attached.
"""

from __future__ import annotations

from lsprotocol import types

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.diagnostics import ERROR, WARNING, Diagnostic, render_concise
from nomotic_dsl.compiler.source import Span
from nomotic_dsl.lsp.analysis import ARCHETYPE, FILE, MAX_DOCUMENT_CHARS, Analysis
from nomotic_dsl.lsp.positions import LineIndex
from nomotic_dsl.lsp.uris import uri_of

SOURCE = "nomo"
SEVERITIES = {
    ERROR: types.DiagnosticSeverity.Error,
    WARNING: types.DiagnosticSeverity.Warning,
}


def lsp_diagnostics(analysis: Analysis, uri: str) -> list[types.Diagnostic]:
    """Every diagnostic the compilation found, placed in the document."""
    if analysis.too_large:
        return [_too_large(analysis)]
    found: list[types.Diagnostic] = []
    for item in analysis.diagnostics:
        if item.file == analysis.name:
            found.append(_own(item, analysis.index, uri))
        else:
            found.append(_imported(item, analysis))
    return found


def severity_of(item: Diagnostic) -> types.DiagnosticSeverity:
    """The LSP severity of a compiler severity."""
    return SEVERITIES.get(item.severity, types.DiagnosticSeverity.Information)


def _own(item: Diagnostic, index: LineIndex, uri: str) -> types.Diagnostic:
    range_ = index.range(item.span)
    related = None
    if item.help:
        related = [
            types.DiagnosticRelatedInformation(
                location=types.Location(uri=uri, range=range_), message=f"help: {item.help}"
            )
        ]
    return types.Diagnostic(
        range=range_,
        message=item.message,
        severity=severity_of(item),
        code=item.code,
        source=SOURCE,
        related_information=related,
        data={"help": item.help} if item.help else None,
    )


def _imported(item: Diagnostic, analysis: Analysis) -> types.Diagnostic:
    span = _entry_point(item.file, analysis)
    related: list[types.DiagnosticRelatedInformation] = []
    path = analysis.path_of(item.file)
    source = analysis.source(item.file)
    if path is not None and source is not None:
        where = types.Location(
            uri=uri_of(path),
            range=LineIndex(source.text, analysis.index.encoding).range(item.span),
        )
        related.append(types.DiagnosticRelatedInformation(location=where, message=item.message))
        if item.help:
            related.append(
                types.DiagnosticRelatedInformation(location=where, message=f"help: {item.help}")
            )
    return types.Diagnostic(
        range=analysis.index.range(span),
        message=f"in {render_concise(item)}",
        severity=severity_of(item),
        code=item.code,
        source=SOURCE,
        related_information=related or None,
        data={"help": item.help} if item.help else None,
    )


def _entry_point(file: str, analysis: Analysis) -> Span:
    """Where the document brings ``file`` in: its import (direct or not), else offset 0."""
    module = analysis.module
    if module is None:
        return Span(0, 0)
    for statement in module.statements:
        if isinstance(statement, ast.Import):
            target = analysis.import_target(statement, analysis.name)
            if target is not None and (target == file or file in _closure(target, analysis)):
                return statement.span
    for site in analysis.sites:
        if site.kind == ARCHETYPE and site.file == analysis.name and not site.declaration:
            declared = analysis.declarations.get((ARCHETYPE, site.name))
            if declared is not None and declared.file == file:
                return site.span
    return Span(0, 0)


def _closure(start: str, analysis: Analysis) -> set[str]:
    """Every file ``start`` imports, directly or not."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        current = todo.pop()
        for site in analysis.sites:
            if site.kind == FILE and site.file == current and site.name not in seen:
                seen.add(site.name)
                todo.append(site.name)
    return seen


def _too_large(analysis: Analysis) -> types.Diagnostic:
    return types.Diagnostic(
        range=types.Range(start=types.Position(line=0, character=0), end=_zero().end),
        message=(
            f"this file has {len(analysis.text)} characters; nomo lsp analyses files of up to "
            f"{MAX_DOCUMENT_CHARS} (run `nomo check` on it)"
        ),
        severity=types.DiagnosticSeverity.Information,
        source=SOURCE,
    )


def _zero() -> types.Range:
    origin = types.Position(line=0, character=0)
    return types.Range(start=origin, end=origin)
