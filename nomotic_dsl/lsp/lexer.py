"""A forgiving tokenizer built from the grammar's own terminals.

Input: any text, half-typed or not. Output: ``Token``s with their terminal
name, text and offsets, comments included, never an exception: a character no
terminal matches becomes an ``ERROR`` token and the scan goes on. The
patterns are read from the Lark parser the compiler uses
(``syntax.parser.nomo_parser().terminals``), so a terminal or keyword added to
the grammar is tokenized without a change here. Keyword spellings come back
as their keyword terminal (``CONTRACT``), other words as ``IDENT``: outside a
parse there is no way to tell a keyword used as a name, which the
parse-driven features (completion, semantic tokens over the AST) correct.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from lark.lexer import PatternStr

from nomotic_dsl.compiler.syntax.keywords import KEYWORDS
from nomotic_dsl.compiler.syntax.parser import nomo_parser

COMMENT, ERROR, WORD, STRING = "COMMENT", "ERROR", "IDENT", "STRING"
QUOTE = '"'


@dataclass(frozen=True, slots=True)
class Token:
    """One token: terminal name, text, and the half-open offsets it covers."""

    type: str
    text: str
    start: int
    end: int
    closed: bool = True  # False for a string whose closing quote is missing


@dataclass(frozen=True, slots=True)
class _Tables:
    pattern: re.Pattern[str]
    keywords: dict[str, str]  # spelling -> terminal name
    ignored: frozenset[str]


@cache
def _tables() -> _Tables:
    parser = nomo_parser()
    ignore = set(parser.ignore_tokens)
    regexes: list[tuple[int, int, str, str]] = []
    literals: list[tuple[str, str]] = []
    keywords: dict[str, str] = {}
    for terminal in parser.terminals:
        pattern = terminal.pattern
        if isinstance(pattern, PatternStr):
            if pattern.value in KEYWORDS:
                keywords[pattern.value] = terminal.name
            else:
                literals.append((terminal.name, pattern.value))
            continue
        # Comments first, then by priority, then the longest-looking pattern.
        order = 0 if terminal.name == COMMENT else 1
        regexes.append((order, -terminal.priority, terminal.name, pattern.to_regexp()))
    regexes.sort(key=lambda entry: (entry[0], entry[1]))
    literals.sort(key=lambda entry: -len(entry[1]))
    alternatives = [f"(?P<{name}>{regexp})" for _, _, name, regexp in regexes]
    alternatives += [f"(?P<{name}>{re.escape(value)})" for name, value in literals]
    return _Tables(re.compile("|".join(alternatives)), keywords, frozenset(ignore))


def tokenize(text: str, start: int = 0, end: int | None = None) -> list[Token]:
    """Every token of ``text[start:end]``, comments included, whitespace dropped."""
    tables = _tables()
    stop = len(text) if end is None else min(end, len(text))
    tokens: list[Token] = []
    index = start
    while index < stop:
        match = tables.pattern.match(text, index, stop)
        if (match is None or match.end() == index) and text[index] == QUOTE:
            # An unterminated string runs to the end of its line: still a string to a reader.
            line_end = text.find("\n", index, stop)
            line_end = stop if line_end < 0 else line_end
            tokens.append(Token(STRING, text[index:line_end], index, line_end, closed=False))
            index = line_end
            continue
        if match is None or match.end() == index:
            tokens.append(Token(ERROR, text[index], index, index + 1))
            index += 1
            continue
        kind = match.lastgroup or ERROR
        value = match.group()
        if kind == WORD and value in tables.keywords:
            kind = tables.keywords[value]
        if kind != COMMENT and kind in tables.ignored:
            index = match.end()
            continue
        tokens.append(Token(kind, value, index, match.end()))
        index = match.end()
    return tokens


def keyword_terminals() -> dict[str, str]:
    """Keyword terminal name -> its spelling, for every keyword in the grammar."""
    return {name: value for value, name in _tables().keywords.items()}


def is_keyword(kind: str) -> bool:
    """True for a keyword terminal name."""
    return kind in keyword_terminals()
