"""Semantic tokens: the colour categories of every token of a document.

Input: an ``Analysis``. Output: the LSP semantic-token data (five integers
per token, relative positions in the client's encoding) over ``LEGEND``. The
tokens come from the forgiving lexer (``lexer.tokenize``, built from the
grammar); where the document parses, the AST then says what each name is:
an invariant type, a metric, a constant, a pack, an archetype, an invariant's
name, an action or target, a setting. Categories match the TextMate grammar's
scopes (``editors/textmate``): keywords, invariant types, numbers (with
units, percents), strings, comments, operators.
"""

from __future__ import annotations

from lsprotocol import types

from nomotic_dsl.compiler import ast
from nomotic_dsl.ir.spec import INVARIANT_TYPES
from nomotic_dsl.lsp.analysis import Analysis
from nomotic_dsl.lsp.lexer import COMMENT, STRING, is_keyword, tokenize
from nomotic_dsl.lsp.syntax_tree import walk

TOKEN_TYPES: tuple[str, ...] = (
    "keyword",
    "type",
    "property",
    "number",
    "string",
    "comment",
    "operator",
    "variable",
    "namespace",
    "class",
    "function",
    "enumMember",
)
TOKEN_MODIFIERS: tuple[str, ...] = ("declaration", "readonly", "defaultLibrary")
LEGEND = types.SemanticTokensLegend(
    token_types=list(TOKEN_TYPES), token_modifiers=list(TOKEN_MODIFIERS)
)
_TYPE = {name: index for index, name in enumerate(TOKEN_TYPES)}
_DECLARATION, _READONLY = 1, 2
_LEXICAL = {
    "NUMBER": "number",
    "PERCENT": "number",
    "UNIT_NUMBER": "number",
    STRING: "string",
    COMMENT: "comment",
    "OP": "operator",
    "MINUS": "operator",
    "SLASH": "operator",
    "EQUAL": "operator",
}


def _names(module: ast.Module) -> dict[int, tuple[str, int]]:
    """Token start offset -> (category, modifiers) for the names the AST knows."""
    found: dict[int, tuple[str, int]] = {}

    def mark(node: ast.Node | None, category: str, modifiers: int = 0) -> None:
        if node is not None and node.span.end > node.span.start:
            found[node.span.start] = (category, modifiers)

    for node in walk(module):
        match node:
            case ast.ConstDecl():
                mark(node.name, "variable", _DECLARATION | _READONLY)
            case ast.ConstRef():
                mark(node, "variable", _READONLY)
            case ast.PackDecl():
                mark(node.name, "namespace", _DECLARATION)
            case ast.UseStmt():
                mark(node.name, "namespace")
            case ast.InvariantDecl():
                mark(node.name, "function", _DECLARATION)
            case ast.ArchetypeDecl():
                mark(node.name, "class", _DECLARATION)
            case ast.ContractArchetype():
                mark(node.name, "class")
            case ast.PlainRule():
                mark(node.kind, "type")
            case ast.NameMetric():
                mark(node.name, "property")
            case ast.RatioMetric():
                mark(node.numerator, "enumMember")
                mark(node.denominator, "enumMember")
            case ast.DistinctCount() | ast.SingleShare():
                mark(node.subject, "property")
            case ast.Setting():
                mark(node.name, "property")
            case ast.Share():
                mark(node.name, "enumMember")
            case ast.ScopeEntry():
                for name in node.names:
                    mark(name, "enumMember")
            case ast.AnchorDecl():
                for name in node.actions:
                    mark(name, "enumMember")
            case _:
                pass
    return found


def semantic_tokens(analysis: Analysis) -> list[int]:
    """The encoded token data for the whole document."""
    if analysis.too_large:
        return []
    text = analysis.text
    module = analysis.module
    names = _names(module) if module is not None else {}
    data: list[int] = []
    last_line, last_start = 0, 0
    index = analysis.index
    for token in tokenize(text):
        category, modifiers = names.get(token.start, (None, 0))
        if category is None:
            if is_keyword(token.type):
                category = "keyword"
            elif token.type == "IDENT" and token.text in INVARIANT_TYPES and module is None:
                category = "type"
            else:
                category = _LEXICAL.get(token.type)
        if category is None:
            continue
        start = index.position(token.start)
        end = index.position(token.end)
        if end.line != start.line:  # tokens never span lines; be safe with odd line breaks
            end = types.Position(line=start.line, character=start.character + 1)
        delta_line = start.line - last_line
        delta_start = start.character - last_start if delta_line == 0 else start.character
        data.extend(
            [delta_line, delta_start, end.character - start.character, _TYPE[category], modifiers]
        )
        last_line, last_start = start.line, start.character
    return data
