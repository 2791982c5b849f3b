"""Hover: what the thing under the cursor means.

Input: an ``Analysis`` and an offset. Output: an LSP ``Hover`` (Markdown), or
None. In order: the diagnostics whose range holds the cursor (message, help,
and the code's summary from the registry); then the name under the cursor (a
constant's value, a pack's or archetype's declaration, an import's file, a
named invariant's rule, a contract's settings); else the rule the cursor is
in, in plain words with the spec it lowers to; else a diagnostic code written
in a comment (``NMO303``).
"""

from __future__ import annotations

import re

from lsprotocol import types

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.diagnostics import CODES, Diagnostic
from nomotic_dsl.compiler.source import Span
from nomotic_dsl.lsp.analysis import Analysis
from nomotic_dsl.lsp.describe import describe_rule, describe_site
from nomotic_dsl.lsp.syntax_tree import chain_at

_CODE = re.compile(r"NMO\d{3}")


def code_help(code: str) -> str | None:
    """The registry's line about a diagnostic code."""
    info = CODES.get(code)
    if info is None:
        return None
    return f"`{info.code}` ({info.severity}): {info.summary}"


def diagnostic_text(item: Diagnostic) -> str:
    """A diagnostic as hover text: message, help, and what its code means."""
    lines = [f"**{item.severity}[{item.code}]**: {item.message}"]
    if item.help:
        lines.append(f"help: {item.help}")
    summary = code_help(item.code)
    if summary:
        lines.append(summary)
    return "\n\n".join(lines)


def hover(analysis: Analysis, offset: int) -> types.Hover | None:
    """The hover at ``offset`` of the document."""
    if analysis.too_large:
        return None
    parts: list[str] = []
    spans: list[Span] = []
    for item in analysis.diagnostics:
        if item.file == analysis.name and item.span.start <= offset <= max(
            item.span.end, item.span.start
        ):
            parts.append(diagnostic_text(item))
            spans.append(item.span)
    meaning, span = _meaning(analysis, offset)
    if meaning:
        parts.append(meaning)
        spans.append(span)
    if not parts:
        word = _code_at(analysis.text, offset)
        if word is not None:
            summary = code_help(word[0])
            if summary:
                parts.append(summary)
                spans.append(word[1])
    if not parts:
        return None
    narrowest = min(spans, key=lambda s: s.end - s.start)
    return types.Hover(
        contents=types.MarkupContent(
            kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)
        ),
        range=analysis.index.range(narrowest),
    )


def _meaning(analysis: Analysis, offset: int) -> tuple[str | None, Span]:
    site = analysis.site_at(offset)
    if site is not None:
        return describe_site(analysis, site), site.span
    module = analysis.module
    if module is None:
        return None, Span(0, 0)
    chain = chain_at(module, offset)
    for index in range(len(chain) - 1, -1, -1):
        node = chain[index]
        if ast.is_rule(node):
            parent = chain[index - 1] if index > 0 else None
            decl = parent if isinstance(parent, ast.InvariantDecl) else None
            return describe_rule(analysis, analysis.name, node, decl), node.span  # type: ignore[arg-type]
    return None, Span(0, 0)


def _code_at(text: str, offset: int) -> tuple[str, Span] | None:
    start = max(0, offset - 6)
    for match in _CODE.finditer(text, start, min(len(text), offset + 6)):
        if match.start() <= offset <= match.end():
            return match.group(), Span(match.start(), match.end())
    return None
