"""The syntax stage in one call: source file -> AST module plus diagnostics.

Input: a ``SourceFile``. Output: ``ParseOutcome`` (the module of every
statement that parsed, or None when the text cannot be read at all, and the
diagnostics). Stage: text -> AST. Every syntax error of the file is reported
(the driver recovers at statement boundaries), up to ``MAX_SYNTAX_ERRORS``;
builder problems are all reported. A file over the size limits, or text
holding a lone surrogate (which only text decoded from JSON can: a file is
UTF-8), is refused before it is parsed.
"""

from __future__ import annotations

from dataclasses import dataclass

from nomotic_dsl.compiler import ast
from nomotic_dsl.compiler.diagnostics import Diagnostic, DiagnosticBag, make_diagnostic
from nomotic_dsl.compiler.limits import MAX_SOURCE_CHARS, MAX_SOURCE_LINES
from nomotic_dsl.compiler.source import SourceFile, Span
from nomotic_dsl.compiler.syntax.ast_builder import build_module
from nomotic_dsl.compiler.syntax.parse_errors import problem_diagnostic
from nomotic_dsl.compiler.syntax.parser import nomo_parser
from nomotic_dsl.compiler.syntax.recovery import parse_text
from nomotic_dsl.ir.canonical import LONE_SURROGATE


@dataclass(frozen=True, slots=True)
class ParseOutcome:
    """The AST of one file (None when unreadable) and what was found wrong."""

    module: ast.Module | None
    diagnostics: tuple[Diagnostic, ...]


def parse_module(source: SourceFile) -> ParseOutcome:
    """Parse and build one file's AST, never raising for bad input."""
    refused = _size_problem(source) or _surrogate_problem(source)
    if refused is not None:
        return ParseOutcome(None, (refused,))
    parsed = parse_text(nomo_parser(), source.text)
    syntax = [problem_diagnostic(problem, source) for problem in parsed.problems]
    if parsed.tree is None:
        return ParseOutcome(None, tuple(syntax))
    bag = DiagnosticBag(source)
    bag.extend(syntax)
    try:
        module = build_module(parsed.tree, bag)
    except Exception as error:  # a builder defect must still not become a traceback
        bag.report("NMO100", Span(0, 0), f"this file could not be read: {error!r}")
        return ParseOutcome(None, bag.items)
    return ParseOutcome(module, bag.items)


def _size_problem(source: SourceFile) -> Diagnostic | None:
    text = source.text
    if len(text) > MAX_SOURCE_CHARS:
        return make_diagnostic(
            source,
            "NMO110",
            Span(0, 0),
            f"the file has {len(text):,} characters, more than the {MAX_SOURCE_CHARS:,} allowed",
            "split the policy into files that import each other",
        )
    lines = text.count("\n") + 1
    if lines > MAX_SOURCE_LINES:
        return make_diagnostic(
            source,
            "NMO110",
            Span(0, 0),
            f"the file has {lines:,} lines, more than the {MAX_SOURCE_LINES:,} allowed",
            "split the policy into files that import each other",
        )
    return None


def _surrogate_problem(source: SourceFile) -> Diagnostic | None:
    """The first lone surrogate of the text: not a character, and no file, digest or id can hold it.

    Text from a JSON request or an editor can spell one (``"\\ud800"``); left
    in a string literal it would reach the contract's canonical JSON, which is
    UTF-8. Refused where it is, before anything else is read.
    """
    found = LONE_SURROGATE.search(source.text)
    if found is None:
        return None
    return make_diagnostic(
        source,
        "NMO108",
        Span(found.start(), found.end()),
        f"a lone surrogate (U+{ord(found.group()):04X}) here: not a character, so the text "
        "cannot be read",
        "the text was decoded from JSON with an unpaired \\ud800-\\udfff escape; send the "
        "character itself, or the escape of both halves of its pair",
    )
