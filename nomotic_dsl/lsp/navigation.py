"""Go to definition, find references, and the document's outline.

Input: an ``Analysis`` and an offset. Output: LSP ``Location``s and
``DocumentSymbol``s. Names resolve as the checker resolves them: constants,
packs, invariants and archetypes share one namespace per kind across the
document and every file it loads, the first declaration in dependency order
wins, and `use NAME` names a pack before an invariant. An import's definition
is the file it loads. References are searched in the document and the files
it loads (a file that imports this one but is not loaded by it is not seen).
"""

from __future__ import annotations

from lsprotocol import types

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.source import Span
from nomotic_dsl.lsp.analysis import FILE, Analysis, Site
from nomotic_dsl.lsp.positions import LineIndex
from nomotic_dsl.lsp.uris import uri_of

Symbol = types.SymbolKind


def location(analysis: Analysis, site: Site, own_uri: str) -> types.Location | None:
    """Where a site is, as an LSP location (None for a file that is not on disk)."""
    if site.file == analysis.name:
        return types.Location(uri=own_uri, range=analysis.index.range(site.span))
    path = analysis.path_of(site.file)
    source = analysis.source(site.file)
    if path is None or source is None:
        return None
    index = LineIndex(source.text, analysis.index.encoding)
    span = Span(0, 0) if site.kind == FILE and site.declaration else site.span
    return types.Location(uri=uri_of(path), range=index.range(span))


def definition(analysis: Analysis, offset: int, own_uri: str) -> list[types.Location]:
    """The declaration of the name under the cursor."""
    site = analysis.site_at(offset)
    if site is None:
        return []
    target = analysis.definition(site)
    if target is None:
        return []
    found = location(analysis, target, own_uri)
    return [] if found is None else [found]


def references(
    analysis: Analysis, offset: int, own_uri: str, include_declaration: bool
) -> list[types.Location]:
    """Every use of the name under the cursor (and its declaration when asked)."""
    site = analysis.site_at(offset)
    if site is None:
        return []
    found = []
    for other in analysis.references(site, include_declaration):
        place = location(analysis, other, own_uri)
        if place is not None:
            found.append(place)
    return found


def document_symbols(analysis: Analysis) -> list[types.DocumentSymbol]:
    """The outline: imports, constants, packs, archetypes, contracts and their invariants."""
    module = analysis.module
    if module is None:
        return []
    symbols = []
    for statement in module.statements:
        symbol = _symbol(analysis, statement)
        if symbol is not None:
            symbols.append(symbol)
    return symbols


def _make(
    analysis: Analysis,
    name: str,
    kind: types.SymbolKind,
    node: ast.Node,
    selection: Span,
    detail: str | None = None,
    children: list[types.DocumentSymbol] | None = None,
) -> types.DocumentSymbol:
    whole = analysis.index.range(node.span)
    chosen = analysis.index.range(selection if node.span.start <= selection.start else node.span)
    return types.DocumentSymbol(
        name=name or "(unnamed)",
        kind=kind,
        range=whole,
        selection_range=chosen,
        detail=detail,
        children=children or None,
    )


def _symbol(analysis: Analysis, node: ast.Node) -> types.DocumentSymbol | None:
    if isinstance(node, ast.Import):
        return _make(analysis, node.path, Symbol.Module, node, node.span, "import")
    if isinstance(node, ast.ConstDecl):
        value = getattr(node.value, "text", None) or getattr(node.value, "name", "")
        return _make(analysis, node.name.text, Symbol.Constant, node, node.name.span, str(value))
    if isinstance(node, ast.InvariantDecl):
        return _make(
            analysis,
            node.name.text,
            Symbol.Function,
            node,
            node.name.span,
            _rule_detail(analysis, node.rule),
        )
    if isinstance(node, ast.PackDecl):
        children = [_rule_symbol(analysis, item) for item in node.items]
        return _make(
            analysis, node.name.text, Symbol.Package, node, node.name.span, "pack", children
        )
    if isinstance(node, ast.ArchetypeDecl):
        return _make(analysis, node.name.text, Symbol.Class, node, node.name.span, "archetype")
    if isinstance(node, ast.ContractDecl):
        children = [
            _rule_symbol(analysis, item)
            for item in node.items
            if isinstance(item, ast.InvariantDecl) or ast.is_rule(item)
        ]
        children.extend(
            _make(analysis, f"use {item.name.text}", Symbol.Namespace, item, item.name.span)
            for item in node.items
            if isinstance(item, ast.UseStmt)
        )
        children.sort(key=lambda symbol: (symbol.range.start.line, symbol.range.start.character))
        return _make(
            analysis,
            f'"{node.agent_id.text}"',
            Symbol.Object,
            node,
            node.agent_id.span,
            "contract",
            children,
        )
    if ast.is_rule(node):
        return _rule_symbol(analysis, node)
    return None


def _rule_symbol(analysis: Analysis, node: ast.Node) -> types.DocumentSymbol:
    if isinstance(node, ast.InvariantDecl):
        return _make(
            analysis,
            node.name.text,
            Symbol.Function,
            node,
            node.name.span,
            _rule_detail(analysis, node.rule),
        )
    text = _rule_detail(analysis, node)
    return _make(analysis, text, Symbol.Event, node, node.span, "rule")


def _rule_detail(analysis: Analysis, rule: ast.Node) -> str:
    source = analysis.source(analysis.name)
    if source is None:
        return ""
    return " ".join(source.snippet(rule.span).split())
