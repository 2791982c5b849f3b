"""Lark's parse errors, turned into diagnostics an author can act on.

Input: a Lark ``UnexpectedInput`` exception and the source file. Output: one
``Diagnostic`` with a plain-words message (what was found, what could come
there) and a hint. Stage: text -> parse tree, failure path. Lark's raw
"Expected one of" list of terminal names never reaches the author.
"""

from __future__ import annotations

import difflib
import re

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from nomotic_dsl.compiler.diagnostics import Diagnostic, make_diagnostic
from nomotic_dsl.compiler.source import SourceFile, Span
from nomotic_dsl.compiler.syntax.keywords import KEYWORDS

_WORD_RE = re.compile(r"[A-Za-z][A-Za-z_]*")

# Expected terminals grouped into what an author would call them, in display order.
_CATEGORIES: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "a comparison (`<`, `<=`, `>`, `>=`, `==`, `between A and B`, `at most`, `below`...)",
        frozenset({"OP", "BETWEEN", "BELOW", "ABOVE", "EXACTLY", "AT"}),
    ),
    ("a window (`over 100 actions`, `over 1h`)", frozenset({"OVER"})),
    ("a number, percent or duration", frozenset({"NUMBER", "PERCENT", "UNIT_NUMBER", "MINUS"})),
    ("a quoted string", frozenset({"STRING"})),
    ("a name", frozenset({"IDENT"})),
    (
        "a new statement (a rule, `invariant`, `const`, `import`, `pack`, `archetype`, `contract`)",
        frozenset(
            {
                "IMPORT",
                "CONST",
                "INVARIANT",
                "PACK",
                "ARCHETYPE",
                "CONTRACT",
                "NO",
                "FIDELITY",
                "DRIFT",
            }
        ),
    ),
)


def syntax_diagnostic(error: UnexpectedInput, source: SourceFile) -> Diagnostic:
    """The diagnostic for one Lark parse failure."""
    if isinstance(error, UnexpectedCharacters):
        return _bad_character(error, source)
    if isinstance(error, UnexpectedToken) and error.token.type != "$END":
        return _bad_token(error, source)
    end = len(source.text)
    expected = getattr(error, "expected", None) or getattr(error, "accepts", None) or set()
    message = "the file ends in the middle of a statement"
    wanted = describe_expected(set(expected))
    return make_diagnostic(
        source, "NMO101", Span(end, end), message, f"expected {wanted}" if wanted else None
    )


def _bad_character(error: UnexpectedCharacters, source: SourceFile) -> Diagnostic:
    offset = error.pos_in_stream or 0
    char = source.text[offset : offset + 1]
    if char == '"':
        line_end = source.text.find("\n", offset)
        end = len(source.text) if line_end < 0 else line_end
        return make_diagnostic(
            source,
            "NMO105",
            Span(offset, end),
            "this string is never closed",
            'add the closing `"` on the same line (write `\\"` for a quote inside a string)',
        )
    wanted = describe_expected(set(error.allowed or ()))
    help_text = f"expected {wanted}" if wanted else None
    return make_diagnostic(
        source, "NMO100", Span(offset, offset + 1), f"unexpected character `{char}`", help_text
    )


def _bad_token(error: UnexpectedToken, source: SourceFile) -> Diagnostic:
    token: Token = error.token
    start = token.start_pos if token.start_pos is not None else 0
    end = token_end(token, start)
    wanted = describe_expected(set(error.expected or ()))
    message = f"unexpected `{token}` here" + (f"; expected {wanted}" if wanted else "")
    return make_diagnostic(source, "NMO100", Span(start, end), message, _hint(error, source, start))


def _hint(error: UnexpectedToken, source: SourceFile, start: int) -> str | None:
    """Did-you-mean for a misspelt keyword on the line up to the failure."""
    line_start = source.text.rfind("\n", 0, start) + 1
    end = token_end(error.token, start)
    for word in _WORD_RE.findall(source.text[line_start:end]):
        if word in KEYWORDS:
            continue
        close = difflib.get_close_matches(word, KEYWORDS, n=1, cutoff=0.8)
        if close:
            return f"did you mean `{close[0]}` instead of `{word}`?"
    if str(error.token) == ":" and "OP" in (error.expected or ()):
        return "a named invariant starts with `invariant NAME:`"
    return None


def token_end(token: Token, start: int) -> int:
    """Where a token ends, even when Lark left its end position unset."""
    return token.end_pos if token.end_pos is not None else start + len(str(token))


def describe_expected(terminals: set[str]) -> str:
    """Plain words for a set of Lark terminal names; empty when nothing is known."""
    phrases: list[str] = []
    remaining = set(terminals)
    for phrase, names in _CATEGORIES:
        if remaining & names:
            phrases.append(phrase)
            remaining -= names
    phrases.extend(f"`{_literal(name)}`" for name in sorted(remaining) if name != "$END")
    if "$END" in terminals:
        phrases.append("the end of the file")
    return _join(phrases[:6])


_LITERALS = {
    "LBRACE": "{",
    "RBRACE": "}",
    "COLON": ":",
    "COMMA": ",",
    "SLASH": "/",
    "EQUAL": "=",
    "MINUS": "-",
}


def _literal(name: str) -> str:
    return _LITERALS.get(name, name.lower())


def _join(phrases: list[str]) -> str:
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " or " + phrases[-1]


__all__ = ["KEYWORDS", "UnexpectedEOF", "describe_expected", "syntax_diagnostic"]
