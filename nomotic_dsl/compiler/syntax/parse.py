"""The syntax stage in one call: source file -> AST module plus diagnostics.

Input: a ``SourceFile``. Output: ``ParseOutcome`` (the module, or None when
the text cannot be parsed, and the diagnostics). Stage: text -> AST. Lark
errors become one diagnostic; builder problems are all reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from lark.exceptions import UnexpectedInput, VisitError

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.diagnostics import Diagnostic, DiagnosticBag
from nomotic_dsl.compiler.source import SourceFile, Span
from nomotic_dsl.compiler.syntax.ast_builder import build_module
from nomotic_dsl.compiler.syntax.parse_errors import syntax_diagnostic
from nomotic_dsl.compiler.syntax.parser import parse_tree


@dataclass(frozen=True, slots=True)
class ParseOutcome:
    """The AST of one file (None when unparsable) and what was found wrong."""

    module: ast.Module | None
    diagnostics: tuple[Diagnostic, ...]


def parse_module(source: SourceFile) -> ParseOutcome:
    """Parse and build one file's AST, never raising for bad input."""
    bag = DiagnosticBag(source)
    try:
        tree = parse_tree(source.text)
    except UnexpectedInput as error:
        return ParseOutcome(None, (syntax_diagnostic(error, source),))
    try:
        module = build_module(tree, bag)
    except VisitError as error:  # a builder defect must still not become a traceback
        bag.report("NMO100", Span(0, 0), f"this file could not be read: {error.orig_exc}")
        return ParseOutcome(None, bag.items)
    return ParseOutcome(module, bag.items)
